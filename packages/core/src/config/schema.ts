/**
 * The deploy config file's schema, checked on the YAML syntax tree itself so that every issue
 * carries the line of the offending key or value. Scalar values are checked by the same specs
 * the action inputs use, so `timeout: 5 minutes` is refused with the same words in both places.
 *
 * Why not zod: its smallest build adds ~110 kB to every bundle and measurable start-up time to
 * every action, for a schema this small.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import { redactUrl } from '../net/redact.js';
import { duration, oneOf, string, url, type InputSpec } from '../inputs/kinds.js';
import { KUBE_NAME as KUBE_NAME_RULE, KUBE_NAME_FORM } from '../inputs/names.js';
import { CONFIG_MOUNT_PATH, CONFIG_MOUNT_PATH_FORM } from '../inputs/config-files.js';

export type Field =
  /** A scalar string, checked by an input spec. */
  | { readonly type: 'scalar'; readonly spec: InputSpec }
  /** A YAML list of strings, or one string (a list of one). */
  | { readonly type: 'strings'; readonly accepted: string }
  /** A YAML list of anything: handed on as a document (e.g. health-gate checks). */
  | { readonly type: 'sequence'; readonly accepted: string }
  | { readonly type: 'mapping'; readonly fields: Readonly<Record<string, Field>> }
  /** A mapping with names chosen by the user, each value of one shape. */
  | { readonly type: 'entries'; readonly what: string; readonly value: Field };

export const STRATEGIES = ['rolling', 'blue-green', 'canary'] as const;
export type Strategy = (typeof STRATEGIES)[number];

const KUBE_NAME = { pattern: KUBE_NAME_RULE, patternDescription: KUBE_NAME_FORM };

const scalar = (spec: InputSpec): Field => ({ type: 'scalar', spec });

export const ENVIRONMENT_FIELDS: Readonly<Record<string, Field>> = {
  namespace: scalar(string(KUBE_NAME)),
  context: scalar(string({ patternDescription: 'a kubeconfig context name' })),
  strategy: scalar(oneOf(STRATEGIES)),
  timeout: scalar(duration()),
  app: scalar(string(KUBE_NAME)),
  gate: {
    type: 'mapping',
    fields: {
      duration: scalar(duration()),
      interval: scalar(duration()),
      'initial-delay': scalar(duration({ allowZero: true })),
      checks: { type: 'sequence', accepted: 'a YAML list of checks' },
      'on-no-data': scalar(oneOf(['hold', 'pass', 'fail'])),
      'on-inconclusive': scalar(oneOf(['fail', 'pass'])),
      'prometheus-url': scalar(url()),
      // How prometheus-url is reached; credentials (token, username, password) are inputs only,
      // from the workflow's secrets (inputs/prometheus.ts). Headers here are for tenant headers.
      'prometheus-headers': { type: 'entries', what: 'header', value: scalar(string()) },
      'prometheus-ca': scalar(
        string({ patternDescription: 'the path of a PEM CA bundle in the repository' }),
      ),
      'prometheus-via': scalar(oneOf(['direct', 'kubernetes'])),
    },
  },
  slack: {
    type: 'mapping',
    fields: {
      channel: scalar(
        string({ patternDescription: 'a Slack channel ID such as C0123456789, or #channel-name' }),
      ),
      'mention-on-failure': {
        type: 'strings',
        accepted: 'a list of Slack user or group IDs such as U0123 or S0123',
      },
    },
  },
  // The app's own config for this environment (deploy actions' config-files): files that roll
  // out and back with the revision that mounts them.
  'config-files': {
    type: 'strings',
    accepted: 'a config file path or glob in the repository (or name=path), or a list of them',
  },
  'config-mount-path': scalar(
    string({ pattern: CONFIG_MOUNT_PATH, patternDescription: CONFIG_MOUNT_PATH_FORM }),
  ),
};

export const FILE_FIELD: Field = {
  type: 'mapping',
  fields: {
    environments: {
      type: 'entries',
      what: 'environment',
      value: { type: 'mapping', fields: ENVIRONMENT_FIELDS },
    },
  },
};

/** Every leaf key of an environment entry by its dotted path: `timeout`, `gate.duration`... */
export const ENVIRONMENT_KEYS: readonly string[] = Object.entries(ENVIRONMENT_FIELDS).flatMap(
  ([key, field]) =>
    field.type === 'mapping' ? Object.keys(field.fields).map((child) => `${key}.${child}`) : [key],
);

export interface SchemaIssue {
  readonly line: number;
  /** Dotted key path, e.g. `environments.staging.strategy`. */
  readonly path: string;
  readonly value: string;
  readonly accepted: string;
  /** `"bluegreen" is not one of rolling, blue-green, canary`. */
  readonly text: string;
}

/** A scalar's value as written: YAML scalars are strings, numbers, booleans or null. */
function scalarText(value: unknown): string {
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
    ? String(value)
    : typeof value === 'string'
      ? value
      : '';
}

/**
 * What a node is. A value is quoted only where the schema knows the key it sits under: a file that
 * is not a deploy config at all (`config: .env`) must not have its text echoed into the log.
 */
function describe(node: unknown, quote = true): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node) && node.value !== null && node.value !== undefined) {
    if (!quote) return typeof node.value === 'string' ? 'text' : `a ${typeof node.value}`;
    return typeof node.value === 'string' ? JSON.stringify(node.value) : scalarText(node.value);
  }
  return 'an empty value';
}

function valueText(node: unknown): string {
  return isScalar(node) ? scalarText(node.value) : '';
}

const isEmpty = (node: unknown): boolean =>
  node === null ||
  node === undefined ||
  (isScalar(node) && (node.value === null || node.value === undefined));

/** Walks one document against a field, collecting every issue rather than stopping at the first. */
export function checkDocument(doc: Document, lines: LineCounter, field: Field = FILE_FIELD): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  const lineOf = (node: unknown, fallback: number): number => {
    const range = (node as Partial<Node> | null | undefined)?.range;
    return range ? lines.linePos(range[0]).line : fallback;
  };
  const report = (node: unknown, line: number, path: string, accepted: string, text?: string): void => {
    const known = path !== '';
    issues.push({
      line: lineOf(node, line),
      path: known ? path : '(top level)',
      value: known ? valueText(node) : '',
      accepted,
      text: text ?? `${describe(node, known)} is not ${accepted}`,
    });
  };

  const walk = (raw: unknown, schema: Field, path: string, line: number): void => {
    const node = isAlias(raw) ? raw.resolve(doc) : raw;
    switch (schema.type) {
      case 'scalar': {
        const { spec } = schema;
        if (!isScalar(node) || typeof node.value !== 'string') return report(node, line, path, spec.accepted);
        const parsed = spec.parse(node.value.trim());
        if (parsed.ok) return;
        const accepted = parsed.accepted ?? spec.accepted;
        if (spec.kind !== 'url') return report(node, line, path, accepted);
        // A URL may carry a password or token: shown only through the one redaction.
        const shown = redactUrl(node.value.trim());
        issues.push({
          line: lineOf(node, line),
          path,
          value: shown,
          accepted,
          text: `${JSON.stringify(shown)} is not ${accepted}`,
        });
        return;
      }
      case 'strings': {
        if (isScalar(node) && typeof node.value === 'string') return;
        if (!isSeq(node)) return report(node, line, path, schema.accepted);
        node.items.forEach((item, index) => {
          const resolved = isAlias(item) ? item.resolve(doc) : item;
          if (!isScalar(resolved) || typeof resolved.value !== 'string') {
            report(resolved, lineOf(node, line), `${path}[${index}]`, 'a string');
          }
        });
        return;
      }
      case 'sequence':
        if (!isSeq(node)) report(node, line, path, schema.accepted);
        return;
      case 'mapping':
      case 'entries': {
        if (isEmpty(node)) return;
        const accepted =
          schema.type === 'mapping'
            ? `a mapping with the keys ${Object.keys(schema.fields).join(', ')}`
            : `a mapping of ${schema.what} names`;
        if (!isMap(node)) return report(node, line, path, accepted);
        for (const pair of node.items) {
          if (!isPair(pair)) continue;
          const keyLine = lineOf(pair.key, lineOf(node, line));
          const key = isScalar(pair.key) ? pair.key.value : undefined;
          const keyPath = path ? `${path}.${String(key)}` : String(key);
          if (typeof key !== 'string') {
            report(
              pair.key,
              keyLine,
              path,
              'a text key',
              `the key ${describe(pair.key, path !== '')} is not text`,
            );
            continue;
          }
          const child = schema.type === 'mapping' ? schema.fields[key] : schema.value;
          if (!child) {
            const known = Object.keys(schema.type === 'mapping' ? schema.fields : {}).join(', ');
            report(pair.key, keyLine, keyPath, `one of ${known}`, `unknown key; expected one of ${known}`);
            continue;
          }
          walk(pair.value, child, keyPath, keyLine);
        }
        return;
      }
    }
  };

  walk(doc.contents, field, '', 1);
  return issues;
}
