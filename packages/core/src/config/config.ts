/**
 * The deploy config file (`config` input, default `.github/deploy.yml`): per-environment
 * defaults for the actions' inputs. Merge order: action defaults < the environment's entry <
 * explicit inputs. Everything here is local file work, done before any network call.
 */
import { readFileSync } from 'node:fs';
import * as core from '../runner/io.js';
import { isMap, isScalar, LineCounter, parse, parseDocument, visit, type Document, type Node } from 'yaml';
import { checkDocument, ENVIRONMENT_KEYS } from './schema.js';
import type { InputProblem } from '../inputs/errors.js';
import {
  input,
  parseContext,
  readExplicitInputs,
  readInput,
  settleSettings,
  type ConfigValue,
  type GetSettingsOptions,
  type InputSpecMap,
  type Settings,
} from '../inputs/inputs.js';
import { MAX_ALIAS_COUNT, toPlain, yamlErrorWhat } from '../inputs/yaml-errors.js';

export { ENVIRONMENT_KEYS, STRATEGIES, type Strategy } from './schema.js';

export const DEFAULT_CONFIG_PATH = '.github/deploy.yml';

/**
 * The two inputs every deploying action shares; spread them into the action's spec so they are
 * validated and appear in its settings. They are never taken from the config file itself.
 */
export const deployInputs = {
  environment: input.string({ config: false }),
  config: input.path({ default: DEFAULT_CONFIG_PATH, config: false, what: 'a deploy config file' }),
} as const;

/** One leaf of an environment entry: its value as YAML gave it, and where it was written. */
export interface ConfigEntryValue {
  readonly value: unknown;
  readonly line: number;
  /** Full dotted path in the file, e.g. `environments.staging.gate.duration`. */
  readonly key: string;
}

export interface DeployConfig {
  /** The path as the user wrote it (or the default), for messages. */
  readonly file: string;
  /** Environment name → leaf key of the entry (`timeout`, `gate.duration`) → value. */
  readonly environments: ReadonlyMap<string, ReadonlyMap<string, ConfigEntryValue>>;
}

export type ConfigLoad =
  | { readonly ok: true; readonly config: DeployConfig | undefined }
  | { readonly ok: false; readonly problems: readonly InputProblem[] };

const CONFIG_ACCEPTED = deployInputs.config.accepted;

function configProblem(file: string, line: number, text: string, accepted: string, value = ''): InputProblem {
  return {
    input: 'config',
    value,
    accepted,
    message: `Input "config": ${file}:${line}: ${text}`,
    file,
    line,
  };
}

/** The line of the document's first alias: where an alias bomb starts going off. */
function firstAliasLine(doc: Document, lines: LineCounter): number {
  let line = 1;
  visit(doc, {
    Alias: (_key, node) => {
      if (node.range) line = lines.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

function collectEnvironments(
  doc: Document,
  lines: LineCounter,
): Map<string, ReadonlyMap<string, ConfigEntryValue>> {
  const environments = new Map<string, ReadonlyMap<string, ConfigEntryValue>>();
  const section = doc.get('environments', true);
  if (!isMap(section)) return environments;
  for (const pair of section.items) {
    if (!isScalar(pair.key) || typeof pair.key.value !== 'string') continue;
    const name = pair.key.value;
    const entry = new Map<string, ConfigEntryValue>();
    if (isMap(pair.value)) {
      for (const key of ENVIRONMENT_KEYS) {
        const node = pair.value.getIn(key.split('.'), true) as Node | undefined;
        // The whole document was expanded within the alias limit already (parseDeployConfig), and
        // a part of it expands no more than the whole.
        const value: unknown = node?.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT });
        if (node === undefined || value === null || value === undefined) continue;
        const line = node.range ? lines.linePos(node.range[0]).line : 1;
        entry.set(key, { value, line, key: `environments.${name}.${key}` });
      }
    }
    environments.set(name, entry);
  }
  return environments;
}

/** Parses and schema-checks config text; `file` is only used in messages. */
export function parseDeployConfig(text: string, file: string): ConfigLoad {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const { line, col } = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
        return configProblem(
          file,
          line,
          `${yamlErrorWhat(error)} (column ${col}); expected valid YAML`,
          'valid YAML',
        );
      }),
    };
  }
  const plain = toPlain(doc);
  if (!plain.ok) {
    const line = firstAliasLine(doc, lines);
    return {
      ok: false,
      problems: [configProblem(file, line, `${plain.reason}; expected valid YAML`, 'valid YAML')],
    };
  }
  const issues = checkDocument(doc, lines);
  if (issues.length > 0) {
    return {
      ok: false,
      problems: issues.map((issue) =>
        configProblem(file, issue.line, `${issue.path}: ${issue.text}`, issue.accepted, issue.value),
      ),
    };
  }
  return { ok: true, config: { file, environments: collectEnvironments(doc, lines) } };
}

export interface LoadDeployConfigOptions {
  /** As given by the `config` input, or the default. */
  readonly file: string;
  /** Whether the user named the file; only then is a missing file an error. */
  readonly explicit: boolean;
  /** Base of relative paths; GITHUB_WORKSPACE, else the current directory. */
  readonly workspace?: string;
}

function configPathProblem(file: string, why: string): ConfigLoad {
  return {
    ok: false,
    problems: [
      {
        input: 'config',
        value: file,
        accepted: CONFIG_ACCEPTED,
        message: `Input "config" has value ${JSON.stringify(file)}: ${why}; expected ${CONFIG_ACCEPTED}`,
      },
    ],
  };
}

/** Reads the file only once its path is known to stay inside the workspace. */
export function loadDeployConfig(options: LoadDeployConfigOptions): ConfigLoad {
  const checked = deployInputs.config.parse(options.file, parseContext(options.workspace));
  if (!checked.ok) return configPathProblem(options.file, checked.reason ?? 'the path is not allowed');
  const path = checked.value;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !options.explicit) return { ok: true, config: undefined };
    const why =
      code === 'ENOENT' ? `no such file at ${path}` : `cannot read ${path} (${code ?? 'unknown error'})`;
    return configPathProblem(options.file, why);
  }
  return parseDeployConfig(text, options.file);
}

/** Turns a YAML value into the text an input of that kind would have been given. */
function asInputText(value: unknown, kind: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && kind === 'list') return value.map((item) => String(item as string)).join('\n');
  return JSON.stringify(value);
}

/** The config key an input takes its value from, or undefined when it takes none. */
export function configKeyFor(name: string, configOption: string | false | undefined): string | undefined {
  if (configOption === false) return undefined;
  if (configOption !== undefined) {
    // A typo here would silently ignore the config file: fail loudly, it is the action's bug.
    if (!ENVIRONMENT_KEYS.includes(configOption)) {
      throw new Error(
        `input "${name}" maps to unknown config key "${configOption}"; known: ${ENVIRONMENT_KEYS.join(', ')}`,
      );
    }
    return configOption;
  }
  return ENVIRONMENT_KEYS.find((key) => key === name || key.endsWith(`.${name}`));
}

/** The environment entry flattened onto the action's input names, in input form. */
export function configValuesFor(
  spec: InputSpecMap,
  entry: ReadonlyMap<string, ConfigEntryValue>,
  file: string,
): Map<string, ConfigValue> {
  const values = new Map<string, ConfigValue>();
  for (const [name, inputSpec] of Object.entries(spec)) {
    const key = configKeyFor(name, inputSpec.config);
    const found = key === undefined ? undefined : entry.get(key);
    if (found)
      values.set(name, {
        raw: asInputText(found.value, inputSpec.kind),
        file,
        line: found.line,
        key: found.key,
      });
  }
  return values;
}

function configurableInputs(spec: InputSpecMap): Set<string> {
  return new Set(Object.keys(spec).filter((name) => configKeyFor(name, spec[name]?.config) !== undefined));
}

export interface ResolveSettingsOptions<S extends InputSpecMap> extends GetSettingsOptions<S> {
  /** Base of a relative `config` path; GITHUB_WORKSPACE, else the current directory. */
  readonly workspace?: string;
}

function unknownEnvironment(name: string, config: DeployConfig): InputProblem {
  const known = [...config.environments.keys()];
  const accepted =
    known.length > 0
      ? `one of ${known.join(', ')} (the environments in ${config.file})`
      : `an environment defined in ${config.file} (it defines none)`;
  return {
    input: 'environment',
    value: name,
    accepted,
    message: `Input "environment" has value ${JSON.stringify(name)}: expected ${accepted}`,
  };
}

/**
 * getSettings plus the deploy config: reads `environment` and `config`, loads the file, takes
 * the environment's entry as defaults that explicit inputs override, and validates it all
 * through the same path, so one InputError lists problems of the file and the inputs alike.
 */
export function resolveSettings<S extends InputSpecMap>(
  spec: S,
  options: ResolveSettingsOptions<S> = {},
): Settings<S> {
  const explicit = readExplicitInputs(spec, options.read ?? readInput, ['environment', 'config']);
  const givenFile = explicit.get('config');
  const file = givenFile ?? spec.config?.default ?? DEFAULT_CONFIG_PATH;
  const environment = explicit.get('environment');
  const loaded = loadDeployConfig({
    file,
    explicit: givenFile !== undefined,
    ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
  });

  const problems: InputProblem[] = [];
  let configValues: Map<string, ConfigValue> | undefined;
  let excuseMissing: Set<string> | undefined;
  if (!loaded.ok) {
    problems.push(...loaded.problems);
    // The broken file may well hold what is missing: report the file, not the consequences.
    excuseMissing = configurableInputs(spec);
  } else if (environment !== undefined && loaded.config) {
    const entry = loaded.config.environments.get(environment);
    if (entry) {
      configValues = configValuesFor(spec, entry, loaded.config.file);
    } else {
      problems.push(unknownEnvironment(environment, loaded.config));
      excuseMissing = configurableInputs(spec);
    }
  } else if (environment !== undefined) {
    core.info(`No deploy config at ${file}: environment "${environment}" supplies no defaults.`);
  }

  return settleSettings(spec, explicit, {
    ...(options.rules ? { rules: options.rules } : {}),
    ...(configValues ? { configValues } : {}),
    ...(excuseMissing ? { excuseMissing } : {}),
    ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
    problems,
  });
}

/**
 * Inputs whose action.yml `default:` would defeat the config file. The runner passes an
 * action.yml default exactly as if the step had given the value, so it would always win over the
 * environment's entry, and a default `config` path would make a missing file an error. Such
 * defaults belong in the spec; call this from each action's tests with its action.yml text.
 */
export function actionDefaultsHidingConfig(spec: InputSpecMap, actionYml: string): string[] {
  const declared =
    (parse(actionYml) as { inputs?: Record<string, { default?: unknown } | null> } | null)?.inputs ?? {};
  return Object.keys(spec).filter(
    (name) =>
      declared[name]?.default !== undefined &&
      (name === 'config' || configKeyFor(name, spec[name]?.config) !== undefined),
  );
}
