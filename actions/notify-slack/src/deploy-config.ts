/**
 * Defaults from the deploy config file (`config`, default .github/deploy.yml) for the
 * `environment` given: its slack.channel, slack.mention-on-failure, app and strategy. Explicit
 * inputs win. Checked with core's config schema, so problems carry file, line and key.
 *
 * Why not core's loadDeployConfig: config.ts loads @actions/core, which alone is about this
 * action's whole start-up and size budget; this reads the same file with the same schema.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { LineCounter, isMap, parseDocument, type Node } from 'yaml';
import { checkDocument } from '../../../packages/core/src/config-schema.js';
import type { InputProblem } from '../../../packages/core/src/errors.js';
import { yamlErrorText } from '../../../packages/core/src/inputs-kinds.js';

export const DEFAULT_CONFIG_PATH = '.github/deploy.yml';

/** Input name → key of the environment entry it defaults from. */
export const CONFIG_KEYS = {
  channel: ['slack', 'channel'],
  'mention-on-failure': ['slack', 'mention-on-failure'],
  app: ['app'],
  strategy: ['strategy'],
} as const;

export interface ConfigDefault {
  raw: string;
  /** `.github/deploy.yml:12 (environments.production.slack.channel)`, for messages. */
  where: string;
}

const ACCEPTED = 'the path of a deploy config file, relative to the workspace';

function problem(file: string, message: string, accepted = ACCEPTED): InputProblem {
  return { input: 'config', value: file, accepted, message: `Input "config": ${message}` };
}

export function configDefaults(options: {
  file: string;
  explicit: boolean;
  environment: string;
  workspace: string;
}): { defaults: Map<string, ConfigDefault>; problems: InputProblem[] } {
  const defaults = new Map<string, ConfigDefault>();
  const { file } = options;
  const path = isAbsolute(file) ? file : resolve(options.workspace, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // The default path is optional; a path the user named is not.
    if (code === 'ENOENT' && !options.explicit) return { defaults, problems: [] };
    return {
      defaults,
      problems: [
        problem(
          file,
          `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot be read (${code})`}; expected ${ACCEPTED}`,
        ),
      ],
    };
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0)
    return {
      defaults,
      problems: doc.errors.map((e) =>
        problem(file, `${file}: ${yamlErrorText(e)}; expected valid YAML`, 'valid YAML'),
      ),
    };
  const issues = checkDocument(doc, lines);
  if (issues.length > 0)
    return {
      defaults,
      problems: issues.map((i) => problem(file, `${file}:${i.line}: ${i.path}: ${i.text}`, i.accepted)),
    };

  const entry = doc.getIn(['environments', options.environment], true);
  if (!isMap(entry)) return { defaults, problems: [] };
  for (const [input, key] of Object.entries(CONFIG_KEYS)) {
    const node = entry.getIn(key, true) as Node | undefined;
    const value: unknown = node?.toJS(doc);
    if (value === undefined || value === null) continue;
    const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
    const raw = Array.isArray(value) ? value.map(text).join('\n') : text(value);
    const line = node?.range ? lines.linePos(node.range[0]).line : 1;
    defaults.set(input, {
      raw,
      where: `${file}:${line} (environments.${options.environment}.${key.join('.')})`,
    });
  }
  return { defaults, problems: [] };
}
