/**
 * A custom payload, from the `payload` input or the file `payload-file-path` names: YAML or JSON
 * (JSON is YAML, so one parser gives both their line numbers), with `{{name}}` placeholders. Every
 * problem is found before anything is sent and says where it is (`slack/notice.yml:7`, or
 * `line 7` of the `payload` input): a syntax error, an unknown placeholder, and, once the
 * destination is known, a block Slack would refuse or a trigger variable that is not text.
 *
 * Messages never quote the file's text (the file is the user's, but an error must not become a
 * way to print any file): they give line, column, path and placeholder names.
 */
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, isNode, parseDocument, visit, type Document } from 'yaml';
import { toPlain, yamlErrorWhat } from '../inputs/yaml-errors.js';
import { blockKitProblems, problemPathSegments } from './block-kit.js';
import { PLACEHOLDERS, unknownPlaceholdersIn } from './placeholders.js';

/** Far more than any Slack message or trigger takes: a bigger file is not a payload. */
export const MAX_PAYLOAD_FILE_BYTES = 1024 * 1024;

/** What the payload is sent as: a Block Kit message (Web API, incoming webhook) or trigger variables. */
export type PayloadMode = 'message' | 'trigger';

export interface PayloadTemplate {
  /** The document as plain data, placeholders still in it. */
  readonly value: Record<string, unknown>;
  /** Where a path into the document (keys and indexes) was written: `notice.yml:7` or `line 7`. */
  readonly where: (path: readonly (string | number)[]) => string;
}

export type TemplateParse =
  { readonly ok: true; readonly template: PayloadTemplate } | { readonly ok: false; readonly reason: string };

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Each unknown placeholder with the line of the value it is in, in document order. */
function unknownPlaceholderSites(doc: Document, lines: LineCounter): { name: string; line: number }[] {
  const sites: { name: string; line: number }[] = [];
  visit(doc, {
    Scalar: (key, node) => {
      // Keys are names, never filled: only values are templates.
      if (key === 'key' || typeof node.value !== 'string') return;
      const line = node.range ? lines.linePos(node.range[0]).line : 1;
      for (const name of unknownPlaceholdersIn(node.value)) sites.push({ name, line });
    },
  });
  return sites;
}

/**
 * Parses payload text. `file` is the path as the user wrote it, for messages; without it the
 * text is the `payload` input and places are `line N`.
 */
export function parsePayloadTemplate(text: string, file?: string): TemplateParse {
  const at = (line: number): string => (file ? `${file}:${line}` : `line ${line}`);
  const subject = file ?? 'the payload';
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const [error] = doc.errors;
  if (error) {
    const { line, col } = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
    return {
      ok: false,
      reason: `${at(line)}: ${yamlErrorWhat(error)} (column ${col}): not valid YAML or JSON`,
    };
  }
  const plain = toPlain(doc);
  if (!plain.ok) return { ok: false, reason: `${subject}: ${plain.reason}` };
  if (!isMapping(plain.value))
    return {
      ok: false,
      reason: `${subject} is not a mapping (a Block Kit message { text, blocks, attachments }, or a trigger's variables name: value)`,
    };
  const unknown = unknownPlaceholderSites(doc, lines);
  if (unknown.length > 0) {
    const sites = unknown.map(({ name, line }) => `{{${name}}} at ${at(line)}`).join(', ');
    // `${{ github.sha }}`, `{{ env.X }}`: a workflow's expressions, which nothing expands here.
    const expressions = unknown.some(({ name }) => /[.$\s]/.test(name))
      ? `; expressions such as \${{ github.sha }} are not expanded in a payload: put the value in the "text" input and write {{text}}`
      : '';
    return {
      ok: false,
      reason: `unknown placeholder${unknown.length === 1 ? '' : 's'} ${sites} (the placeholders are ${PLACEHOLDERS.join(', ')})${expressions}`,
    };
  }
  const where = (path: readonly (string | number)[]): string => {
    // A path that is not in the document (a missing key) points at its closest parent.
    for (let depth = path.length; depth >= 0; depth--) {
      const node: unknown = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return at(lines.linePos(node.range[0]).line);
    }
    return at(1);
  };
  return { ok: true, template: { value: plain.value, where } };
}

/** Reads and parses the file at `path` (already checked to lie in the workspace); `shown` names it. */
export function readPayloadFile(path: string, shown: string): TemplateParse {
  let text: string;
  try {
    if (statSync(path).size > MAX_PAYLOAD_FILE_BYTES)
      return { ok: false, reason: `the file is larger than ${MAX_PAYLOAD_FILE_BYTES / 1024 / 1024} MiB` };
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'the file does not exist' };
    if (code === 'EISDIR') return { ok: false, reason: 'the path is a folder, not a file' };
    return { ok: false, reason: `the file cannot be read (${code})` };
  }
  return parsePayloadTemplate(text, shown);
}

/**
 * What the destination would refuse, each as `where: what`: for a message, Block Kit's rules;
 * for a Workflow Builder trigger, anything but a flat map of text values (Workflow Builder reads
 * only top-level strings; numbers and booleans are sent as text).
 */
export function templateProblems(template: PayloadTemplate, mode: PayloadMode): string[] {
  if (mode === 'message') {
    return blockKitProblems(template.value).map(
      (problem) => `${template.where(problemPathSegments(problem.path))}: ${problem.path}: ${problem.text}`,
    );
  }
  return Object.entries(template.value).flatMap(([name, value]) =>
    typeof value === 'object' && value !== null
      ? [
          `${template.where([name])}: variable "${name}" is a ${Array.isArray(value) ? 'list' : 'map'}; a Workflow Builder trigger takes only text values (name: value, one level)`,
        ]
      : [],
  );
}
