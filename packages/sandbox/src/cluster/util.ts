/** Small pure helpers shared by the simulated controllers. */
import type { KubeObject } from '../store.js';
import { RESOURCE_TYPES, type ResourceType } from '../resources.js';

function resourceType(resource: string, group = ''): ResourceType {
  const found = RESOURCE_TYPES.find((t) => t.resource === resource && t.group === group);
  if (!found) throw new Error(`unknown resource ${group}/${resource}`);
  return found;
}

export const T = {
  namespaces: resourceType('namespaces'),
  pods: resourceType('pods'),
  services: resourceType('services'),
  endpoints: resourceType('endpoints'),
  endpointslices: resourceType('endpointslices', 'discovery.k8s.io'),
  events: resourceType('events'),
  deployments: resourceType('deployments', 'apps'),
  replicasets: resourceType('replicasets', 'apps'),
  ingresses: resourceType('ingresses', 'networking.k8s.io'),
  virtualservices: resourceType('virtualservices', 'networking.istio.io'),
  destinationrules: resourceType('destinationrules', 'networking.istio.io'),
  httproutes: resourceType('httproutes', 'gateway.networking.k8s.io'),
} as const;

export interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

/** A Kubernetes LabelSelector; an empty or missing selector matches nothing, as controllers treat it. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const matchLabels = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  if (matchLabels.length === 0 && expressions.length === 0) return false;
  const have = labels ?? {};
  for (const [key, value] of matchLabels) if (have[key] !== value) return false;
  for (const req of expressions) {
    const value = have[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (value === undefined || !values.includes(value)) return false;
        break;
      case 'NotIn':
        if (value !== undefined && values.includes(value)) return false;
        break;
      case 'Exists':
        if (value === undefined) return false;
        break;
      case 'DoesNotExist':
        if (value !== undefined) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service-style selector (plain map); empty matches nothing. */
export function mapSelectorMatches(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const entries = Object.entries(selector ?? {});
  if (entries.length === 0) return false;
  return entries.every(([key, value]) => labels?.[key] === value);
}

/** JSON with sorted keys, so equal objects hash and compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => stableJson(v === undefined ? null : v)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Kubernetes' rand.SafeEncodeString: no vowels, no confusable characters. */
export function safeEncode(text: string): string {
  let out = '';
  for (const ch of text) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

export function randomSuffix(length = 5): string {
  let out = '';
  for (let i = 0; i < length; i++) out += SAFE_ALPHABET[Math.floor(Math.random() * SAFE_ALPHABET.length)];
  return out;
}

export const POD_TEMPLATE_HASH = 'pod-template-hash';

/**
 * What Go's typed round trip makes equal: nulls, empty objects and empty arrays are absent.
 * kubectl sends `creationTimestamp: null` and `resources: {}` in templates it copies (rollout
 * undo), and Kubernetes still sees the same template.
 */
function normalized(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(normalized).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => [k, normalized(v)] as const)
      .filter(([, v]) => v !== undefined);
    return entries.length ? Object.fromEntries(entries) : undefined;
  }
  return value === null ? undefined : value;
}

/** The template without the pod-template-hash label, in the form two templates are compared in. */
export function templateWithoutHash(template: unknown): unknown {
  const copy = structuredClone((template ?? {}) as { metadata?: { labels?: Record<string, string> } });
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH];
  return normalized(copy) ?? {};
}

export function podTemplateHash(template: unknown, collisionCount = 0): string {
  const base = stableJson(templateWithoutHash(template));
  return safeEncode(String(fnv32a(collisionCount ? `${base}#${collisionCount}` : base)));
}

export function templatesEqual(a: unknown, b: unknown): boolean {
  return stableJson(templateWithoutHash(a)) === stableJson(templateWithoutHash(b));
}

/**
 * An int-or-percent field scaled against `total`, rounding as Kubernetes does: maxSurge up,
 * maxUnavailable down.
 */
export function scaledValue(
  value: number | string | undefined,
  fallback: string,
  total: number,
  roundUp: boolean,
): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const match = /^(\d+)%$/.exec(v.trim());
  if (!match) {
    const n = Number(v);
    return Number.isFinite(n) ? n : 0;
  }
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** Durations as the sandbox env and Kubernetes users write them: 500ms, 2s, 1m, 1h; bare numbers are ms. */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(pattern)) {
    const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
    total += Number(match[1]) * unit;
    consumed += match[0].length;
  }
  return consumed === trimmed.length && consumed > 0 ? total : undefined;
}

/** RFC 3339 with second precision, as Kubernetes writes its timestamps. */
export function kubeTime(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

export function isControlledBy(obj: KubeObject, owner: KubeObject): boolean {
  return (obj.metadata.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.uid === owner.metadata.uid,
  );
}

export function controllerOf(obj: KubeObject): { kind: string; name: string; uid: string } | undefined {
  return (obj.metadata.ownerReferences ?? []).find((ref) => ref.controller === true);
}

export function labelsOf(
  obj: { metadata?: { labels?: Record<string, string> } } | undefined,
): Record<string, string> {
  return obj?.metadata?.labels ?? {};
}

/** The version a pod reports: its `version` label, else its pod-template-hash. */
export function podVersion(pod: KubeObject): string {
  const labels = labelsOf(pod);
  return labels.version ?? labels[POD_TEMPLATE_HASH] ?? 'unknown';
}

export function isConflict(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 409;
}

export function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 404;
}
