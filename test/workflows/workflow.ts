/**
 * A GitHub Actions workflow as the contract check needs it: jobs, steps, `with:` entries,
 * `workflow_call` declarations, job outputs and every string the job holds (where expressions
 * live), each with the line it was written on. Also reads the fenced ```yaml blocks of a README
 * as workflows, so the snippets users copy are checked like the example files.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

/** A key and its value as written, on its line. A non-string value is shown as YAML would. */
export interface Entry {
  readonly name: string;
  readonly value: string;
  readonly line: number;
}

/** A declared input, secret or output of a reusable workflow. */
export interface Declaration {
  readonly name: string;
  readonly required: boolean;
  readonly hasDefault: boolean;
  readonly line: number;
}

export interface Text {
  readonly value: string;
  readonly line: number;
}

export interface Step {
  readonly id?: string;
  readonly uses?: string;
  readonly with: readonly Entry[];
  readonly line: number;
}

export interface Job {
  readonly id: string;
  readonly line: number;
  readonly steps: readonly Step[];
  /** A reusable workflow the job calls (`jobs.<id>.uses`), with what it passes. */
  readonly uses?: string;
  readonly with: readonly Entry[];
  readonly secrets: readonly Entry[] | 'inherit';
  readonly needs: readonly string[];
  readonly outputs: readonly string[];
  /** Every string in the job, for the expressions in it. */
  readonly texts: readonly Text[];
}

export interface WorkflowCall {
  readonly inputs: readonly Declaration[];
  readonly secrets: readonly Declaration[];
  readonly outputs: readonly string[];
}

export interface Workflow {
  /** Where it was read from, as messages name it. */
  readonly file: string;
  readonly jobs: readonly Job[];
  readonly call?: WorkflowCall;
}

class Reader {
  private readonly lines = new LineCounter();

  constructor(private readonly lineOffset: number) {}

  parse(text: string): Node | null {
    const doc = parseDocument(text, { lineCounter: this.lines });
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
    return doc.contents;
  }

  line(node: unknown, fallback = 1): number {
    const range = (node as Partial<Node> | null | undefined)?.range;
    return (range ? this.lines.linePos(range[0]).line : fallback) + this.lineOffset;
  }
}

function get(map: unknown, key: string): unknown {
  return isMap(map) ? map.get(key, true) : undefined;
}

function text(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value: unknown = node.value;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}

function pairs(map: unknown): { key: string; value: unknown; keyNode: unknown }[] {
  if (!isMap(map)) return [];
  return map.items.flatMap((pair) => {
    const key = text(pair.key);
    return key === undefined ? [] : [{ key, value: pair.value, keyNode: pair.key }];
  });
}

function entries(map: unknown, reader: Reader): Entry[] {
  return pairs(map).map(({ key, value, keyNode }) => ({
    name: key,
    value: text(value) ?? (isMap(value) || isSeq(value) ? JSON.stringify(value.toJSON()) : ''),
    line: reader.line(keyNode),
  }));
}

function declarations(map: unknown, reader: Reader): Declaration[] {
  return pairs(map).map(({ key, value, keyNode }) => ({
    name: key,
    required: text(get(value, 'required')) === 'true',
    hasDefault: get(value, 'default') !== undefined,
    line: reader.line(keyNode),
  }));
}

function texts(node: unknown, reader: Reader, into: Text[] = []): Text[] {
  if (isScalar(node)) {
    if (typeof node.value === 'string') into.push({ value: node.value, line: reader.line(node) });
  } else if (isMap(node)) {
    for (const pair of node.items) {
      texts(pair.key, reader, into);
      texts(pair.value, reader, into);
    }
  } else if (isSeq(node)) {
    for (const item of node.items) texts(item, reader, into);
  }
  return into;
}

function step(node: unknown, reader: Reader): Step {
  const id = text(get(node, 'id'));
  const uses = text(get(node, 'uses'));
  return {
    ...(id !== undefined ? { id } : {}),
    ...(uses !== undefined ? { uses } : {}),
    with: entries(get(node, 'with'), reader),
    line: reader.line(node),
  };
}

function job(id: string, node: unknown, keyNode: unknown, reader: Reader): Job {
  const stepsNode = get(node, 'steps');
  const needsNode = get(node, 'needs');
  const secretsNode = get(node, 'secrets');
  const uses = text(get(node, 'uses'));
  return {
    id,
    line: reader.line(keyNode),
    steps: isSeq(stepsNode) ? stepsNode.items.map((item) => step(item, reader)) : [],
    ...(uses !== undefined ? { uses } : {}),
    with: entries(get(node, 'with'), reader),
    secrets: text(secretsNode) === 'inherit' ? 'inherit' : entries(secretsNode, reader),
    needs: isSeq(needsNode)
      ? needsNode.items.flatMap((item) => text(item) ?? [])
      : [text(needsNode)].flatMap((name) => name ?? []),
    outputs: pairs(get(node, 'outputs')).map(({ key }) => key),
    texts: texts(node, reader),
  };
}

/** The workflow_call trigger of `on:`, if the workflow has one. */
function workflowCall(on: unknown, reader: Reader): WorkflowCall | undefined {
  const triggers = isSeq(on) ? on.items.map((item) => text(item)) : [text(on)];
  if (triggers.includes('workflow_call')) return { inputs: [], secrets: [], outputs: [] };
  if (!isMap(on) || !on.has('workflow_call')) return undefined;
  const call = get(on, 'workflow_call');
  return {
    inputs: declarations(get(call, 'inputs'), reader),
    secrets: declarations(get(call, 'secrets'), reader),
    outputs: pairs(get(call, 'outputs')).map(({ key }) => key),
  };
}

/**
 * A workflow file, or a snippet: a mapping with `jobs`, a list of steps, or one step (the last
 * two become the steps of one job named `snippet`). Returns undefined for YAML that is none of
 * those (a checks list, a Role...). `lineOffset` is added to every line (a snippet's place in
 * its README).
 */
export function parseWorkflow(source: string, file: string, lineOffset = 0): Workflow | undefined {
  const reader = new Reader(lineOffset);
  const root = reader.parse(source);
  if (isMap(root) && root.has('jobs')) {
    const call = workflowCall(get(root, 'on'), reader);
    return {
      file,
      jobs: pairs(get(root, 'jobs')).map(({ key, value, keyNode }) => job(key, value, keyNode, reader)),
      ...(call ? { call } : {}),
    };
  }
  const steps = isSeq(root) ? root.items : isMap(root) && root.has('uses') ? [root] : undefined;
  if (!steps) return undefined;
  return {
    file,
    jobs: [
      {
        id: 'snippet',
        line: reader.line(root),
        steps: steps.map((item) => step(item, reader)),
        with: [],
        secrets: [],
        needs: [],
        outputs: [],
        texts: texts(root, reader),
      },
    ],
  };
}

/** The fenced ```yaml blocks of a Markdown file whose text matches `keep`, with their first line. */
export function yamlBlocks(markdown: string, keep: RegExp): { text: string; line: number }[] {
  const blocks: { text: string; line: number }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*```ya?ml\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end]!)) end++;
    const body = lines.slice(start, end).join('\n');
    if (keep.test(body)) blocks.push({ text: body, line: start + 1 });
    i = end;
  }
  return blocks;
}
