/**
 * Label and field selectors as the API server parses them: `a=b`, `a==b`, `a!=b`,
 * `a in (x,y)`, `a notin (x)`, `a`, `!a`; field selectors on metadata.name,
 * metadata.namespace and (pods) status.phase.
 */
import type { KubeObject } from '../store.js';
import { badRequest } from './status.js';

type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

export type Selector = (labels: Record<string, string> | undefined) => boolean;

/** Splits on commas that are not inside `( )`. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth += 1;
    if (ch === ')') depth -= 1;
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseRequirement(term: string): Requirement {
  let m = /^([^\s!=()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (m) {
    const values = (m[3] ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    return { key: m[1] ?? '', op: m[2] === 'in' ? 'in' : 'notin', values };
  }
  m = /^([^\s!=()]+)\s*(==|=|!=)\s*([^\s,()]*)$/.exec(term);
  if (m) return { key: m[1] ?? '', op: m[2] === '!=' ? 'neq' : 'eq', value: m[3] ?? '' };
  m = /^!\s*([^\s!=()]+)$/.exec(term);
  if (m) return { key: m[1] ?? '', op: 'notexists' };
  m = /^([^\s!=()]+)$/.exec(term);
  if (m) return { key: m[1] ?? '', op: 'exists' };
  throw badRequest(`unable to parse requirement: ${term}`);
}

function test(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'eq':
      return has && value === r.value;
    case 'neq':
      return !has || value !== r.value;
    case 'in':
      return has && r.values.includes(value ?? '');
    case 'notin':
      return !has || !r.values.includes(value ?? '');
    case 'exists':
      return has;
    case 'notexists':
      return !has;
  }
}

export function parseLabelSelector(text: string | null): Selector | undefined {
  if (!text) return undefined;
  const requirements = splitTerms(text).map(parseRequirement);
  return (labels) => requirements.every((r) => test(r, labels ?? {}));
}

const FIELD_GETTERS: Record<string, (obj: KubeObject) => string | undefined> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
  'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase,
  'spec.nodeName': (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName,
  type: (o) => (o as { type?: string }).type,
  // Events are found by what they are about, as `kubectl describe` does.
  'involvedObject.name': (o) => (o as { involvedObject?: { name?: string } }).involvedObject?.name,
  'involvedObject.kind': (o) => (o as { involvedObject?: { kind?: string } }).involvedObject?.kind,
  'involvedObject.namespace': (o) =>
    (o as { involvedObject?: { namespace?: string } }).involvedObject?.namespace,
  'involvedObject.uid': (o) => (o as { involvedObject?: { uid?: string } }).involvedObject?.uid,
  reason: (o) => (o as { reason?: string }).reason,
};

export type FieldSelector = (obj: KubeObject) => boolean;

export function parseFieldSelector(text: string | null, kind: string): FieldSelector | undefined {
  if (!text) return undefined;
  const checks = splitTerms(text).map((term) => {
    const m = /^([^\s!=]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const field = m[1] ?? '';
    const podOnly = field === 'status.phase' || field === 'spec.nodeName';
    const eventOnly = field.startsWith('involvedObject.') || field === 'reason';
    const getter = FIELD_GETTERS[field];
    if (
      !getter ||
      (podOnly && kind !== 'Pod') ||
      (eventOnly && kind !== 'Event') ||
      (field === 'type' && !['Secret', 'Event'].includes(kind))
    ) {
      throw badRequest(
        `"${field}" is not a known field selector: only "metadata.name", "metadata.namespace"`,
      );
    }
    const negate = m[2] === '!=';
    const value = (m[3] ?? '').trim();
    return (obj: KubeObject) => (getter(obj) === value) !== negate;
  });
  return (obj) => checks.every((check) => check(obj));
}

/** Both selectors together; undefined means everything matches. */
export function objectMatcher(
  labelSelector: string | null,
  fieldSelector: string | null,
  kind: string,
): ((obj: KubeObject) => boolean) | undefined {
  const labels = parseLabelSelector(labelSelector);
  const fields = parseFieldSelector(fieldSelector, kind);
  if (!labels && !fields) return undefined;
  return (obj) => (labels ? labels(obj.metadata.labels) : true) && (fields ? fields(obj) : true);
}
