/**
 * A simplified but honest field-ownership model behind server-side apply. Each manager owns a
 * set of leaf field paths (maps by field name, keyed lists by their merge key, other lists
 * whole). Apply conflicts when another manager owns a field it would change; `force` takes the
 * field over. Other writes (create, update, patch) take ownership of the fields they change.
 * Sets are published in `metadata.managedFields` as FieldsV1, as kube-apiserver does.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../store.js';
import { ApiError, type StatusCause } from './status.js';
import { isObject, mergeKeyFor, type Json, type JsonObject } from './patch.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** A path is a list of FieldsV1 segments (`f:spec`, `k:{"name":"web"}`), keyed by its JSON text. */
type Leaves = Map<string, Json>;

const IGNORED_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);

function collect(value: Json, segments: string[], fieldNames: string[], kind: string, out: Leaves): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) {
      collect(child, [...segments, `f:${key}`], [...fieldNames, key], kind, out);
    }
    return;
  }
  if (Array.isArray(value) && value.length > 0) {
    const key = mergeKeyFor(fieldNames, kind);
    if (key && value.every((item) => isObject(item) && item[key] !== undefined)) {
      for (const item of value as JsonObject[]) {
        collect(item, [...segments, `k:${JSON.stringify({ [key]: item[key] })}`], fieldNames, kind, out);
      }
      return;
    }
  }
  out.set(JSON.stringify(segments), value);
}

/** Leaf paths of an object: the spec side (no status) or, for the status subresource, status only. */
export function leafPaths(
  obj: KubeObject | JsonObject,
  kind: string,
  scope: 'main' | 'status' = 'main',
): Leaves {
  const out: Leaves = new Map();
  for (const [key, value] of Object.entries(obj as JsonObject)) {
    if (key === 'apiVersion' || key === 'kind') continue;
    if ((key === 'status') !== (scope === 'status')) continue;
    if (key === 'metadata' && isObject(value)) {
      for (const [mkey, mvalue] of Object.entries(value)) {
        if (IGNORED_METADATA.has(mkey) || mvalue === undefined) continue;
        collect(mvalue, ['f:metadata', `f:${mkey}`], ['metadata', mkey], kind, out);
      }
      continue;
    }
    collect(value, [`f:${key}`], [key], kind, out);
  }
  return out;
}

function segmentsOf(path: string): string[] {
  return JSON.parse(path) as string[];
}

/** FieldsV1 trie from a set of paths; keyed list items carry the `.` marker, as on a real server. */
export function toFieldsV1(paths: Iterable<string>): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let node = root;
    for (const segment of segmentsOf(path)) {
      const next = isObject(node[segment]) ? node[segment] : {};
      node[segment] = next;
      if (segment.startsWith('k:')) next['.'] = {};
      node = next;
    }
  }
  return root;
}

export function fromFieldsV1(fields: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, segments: string[]): void => {
    const children = isObject(node) ? Object.keys(node).filter((k) => k !== '.') : [];
    if (children.length === 0) {
      if (segments.length > 0) out.add(JSON.stringify(segments));
      return;
    }
    for (const child of children) walk((node as JsonObject)[child], [...segments, child]);
  };
  walk(fields, []);
  return out;
}

function entriesOf(obj: KubeObject | undefined): ManagedFieldsEntry[] {
  const raw = obj?.metadata.managedFields;
  return Array.isArray(raw) ? (structuredClone(raw) as ManagedFieldsEntry[]) : [];
}

function now(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Reads the value at a path; keyed list items are found by their key. */
function valueAt(root: Json | undefined, segments: string[]): Json | undefined {
  let current: Json | undefined = root;
  for (const segment of segments) {
    if (segment.startsWith('f:')) {
      if (!isObject(current)) return undefined;
      current = current[segment.slice(2)];
    } else if (segment.startsWith('k:')) {
      if (!Array.isArray(current)) return undefined;
      const key = JSON.parse(segment.slice(2)) as JsonObject;
      current = current.find(
        (item) => isObject(item) && Object.entries(key).every(([k, v]) => isDeepStrictEqual(item[k], v)),
      );
    } else return undefined;
  }
  return current;
}

/** `.spec.template.spec.containers[name="web"].image`, as conflict messages print paths. */
export function displayPath(path: string): string {
  return segmentsOf(path)
    .map((segment) => {
      if (segment.startsWith('f:')) return `.${segment.slice(2)}`;
      const key = JSON.parse(segment.slice(2)) as JsonObject;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    })
    .join('');
}

/** Removes the field at a path; removing a keyed item's key field removes the item. */
function removeAt(root: JsonObject, segments: string[]): void {
  const last = segments.at(-1);
  const parentSegments = segments.slice(0, -1);
  if (!last) return;
  const parentItem = parentSegments.at(-1);
  if (parentItem?.startsWith('k:') && last.startsWith('f:')) {
    const key = JSON.parse(parentItem.slice(2)) as JsonObject;
    if (Object.keys(key).includes(last.slice(2))) {
      const list = valueAt(root, parentSegments.slice(0, -1));
      if (Array.isArray(list)) {
        const index = list.findIndex(
          (item) => isObject(item) && Object.entries(key).every(([k, v]) => isDeepStrictEqual(item[k], v)),
        );
        if (index >= 0) list.splice(index, 1);
      }
      return;
    }
  }
  const parent = valueAt(root, parentSegments);
  if (isObject(parent) && last.startsWith('f:')) delete parent[last.slice(2)];
}

/** Applies a configuration with SSA list semantics: keyed lists merge by key, the rest is replaced. */
function mergeApplied(live: Json | undefined, applied: Json, fieldNames: string[], kind: string): Json {
  if (isObject(applied)) {
    const result: JsonObject = isObject(live) ? structuredClone(live) : {};
    for (const [key, value] of Object.entries(applied)) {
      if (value === null) delete result[key];
      else result[key] = mergeApplied(result[key], value, [...fieldNames, key], kind);
    }
    return result;
  }
  if (Array.isArray(applied)) {
    const key = mergeKeyFor(fieldNames, kind);
    if (key && Array.isArray(live) && applied.every((item) => isObject(item) && item[key] !== undefined)) {
      const result = structuredClone(live);
      for (const item of applied as JsonObject[]) {
        const index = result.findIndex(
          (existing) => isObject(existing) && isDeepStrictEqual(existing[key], item[key]),
        );
        if (index >= 0) result[index] = mergeApplied(result[index], item, fieldNames, kind);
        else result.push(structuredClone(item));
      }
      return result;
    }
  }
  return structuredClone(applied);
}

export interface ApplyInput {
  live: KubeObject | undefined;
  applied: KubeObject;
  manager: string;
  force: boolean;
  kind: string;
  apiVersion: string;
}

/**
 * Server-side apply. Returns the merged object with updated managedFields, or throws 409
 * Conflict naming each field another manager owns with a different value.
 */
export function serverSideApply(input: ApplyInput): KubeObject {
  const { live, applied, manager, force, kind, apiVersion } = input;
  const appliedLeaves = leafPaths(applied, kind);
  const entries = entriesOf(live);
  const liveJson = live as unknown as JsonObject | undefined;

  const conflicts = new Map<string, string[]>();
  for (const entry of entries) {
    if (entry.manager === manager || entry.subresource) continue;
    const owned = fromFieldsV1(entry.fieldsV1);
    for (const [path, value] of appliedLeaves) {
      if (!owned.has(path)) continue;
      if (isDeepStrictEqual(valueAt(liveJson, segmentsOf(path)), value)) continue;
      const label = `conflict with "${entry.manager}"${entry.operation === 'Update' ? ' using ' + entry.apiVersion : ''}`;
      conflicts.set(label, [...(conflicts.get(label) ?? []), path]);
    }
  }
  if (conflicts.size > 0 && !force) throw conflictError(conflicts);

  const previous = entries.find((e) => e.manager === manager && e.operation === 'Apply' && !e.subresource);
  const previouslyOwned = previous ? fromFieldsV1(previous.fieldsV1) : new Set<string>();

  const base: JsonObject = liveJson ? structuredClone(liveJson) : {};
  const appliedBody: JsonObject = structuredClone(applied as unknown as JsonObject);
  delete appliedBody.status;
  if (isObject(appliedBody.metadata)) delete appliedBody.metadata.managedFields;
  const merged = mergeApplied(base, appliedBody, [], kind) as JsonObject;

  const ownedByOthers = new Set<string>();
  const updatedEntries: (ManagedFieldsEntry | 'mine')[] = [];
  for (const entry of entries) {
    if (entry === previous) {
      updatedEntries.push('mine');
      continue;
    }
    let owned = fromFieldsV1(entry.fieldsV1);
    if (force && entry.manager !== manager) owned = new Set([...owned].filter((p) => !appliedLeaves.has(p)));
    if (owned.size === 0) continue;
    for (const p of owned) ownedByOthers.add(p);
    updatedEntries.push({ ...entry, fieldsV1: toFieldsV1(owned) });
  }
  if (!previous) updatedEntries.push('mine');

  // Fields this manager applied before but no longer does are removed, unless someone else owns them.
  const removed = [...previouslyOwned].filter((p) => !appliedLeaves.has(p) && !ownedByOthers.has(p));
  removed.sort((a, b) => segmentsOf(b).length - segmentsOf(a).length);
  for (const path of removed) removeAt(merged, segmentsOf(path));

  const fieldsV1 = toFieldsV1(appliedLeaves.keys());
  const unchanged =
    previous !== undefined &&
    isDeepStrictEqual(previous.fieldsV1, fieldsV1) &&
    isDeepStrictEqual(withoutManagedFields(merged), withoutManagedFields(liveJson));
  const mine: ManagedFieldsEntry = unchanged
    ? previous
    : { manager, operation: 'Apply', apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1 };
  const managedFields = updatedEntries.map((e) => (e === 'mine' ? mine : e));
  const result = merged as unknown as KubeObject;
  result.metadata = { ...(result.metadata ?? {}), managedFields };
  return result;
}

function withoutManagedFields(obj: JsonObject | undefined): unknown {
  if (!obj) return undefined;
  const copy = structuredClone(obj);
  if (isObject(copy.metadata)) delete copy.metadata.managedFields;
  return copy;
}

function conflictError(conflicts: Map<string, string[]>): ApiError {
  const total = [...conflicts.values()].reduce((n, paths) => n + paths.length, 0);
  const causes: StatusCause[] = [];
  const parts: string[] = [];
  for (const [label, paths] of conflicts) {
    for (const p of paths)
      causes.push({ type: 'FieldManagerConflict', message: label, field: displayPath(p) });
    parts.push(
      paths.length === 1
        ? `${label}: ${displayPath(paths[0] ?? '')}`
        : `${label.replace(/^conflict/, 'conflicts')}:\n${paths.map((p) => `- ${displayPath(p)}`).join('\n')}`,
    );
  }
  const message = `Apply failed with ${total} conflict${total === 1 ? '' : 's'}: ${parts.join('\n')}`;
  return new ApiError(409, 'Conflict', message, { causes });
}

/**
 * Ownership after a non-apply write: the writer takes the fields it changed (from everyone),
 * and fields that no longer exist leave every set. A write that sets managedFields itself
 * (kubectl's client-side-apply migration does) keeps what it set.
 */
export function recordUpdate(
  previous: KubeObject | undefined,
  next: KubeObject,
  manager: string,
  kind: string,
  apiVersion: string,
  subresource?: 'status',
): KubeObject {
  const scope = subresource === 'status' ? 'status' : 'main';
  const requested = next.metadata.managedFields;
  if (previous && requested !== undefined && !isDeepStrictEqual(requested, previous.metadata.managedFields)) {
    if (Array.isArray(requested) && requested.length === 0) delete next.metadata.managedFields;
    return next;
  }
  const before = previous ? leafPaths(previous, kind, scope) : new Map<string, Json>();
  const after = leafPaths(next, kind, scope);
  const changed = [...after]
    .filter(([path, value]) => !before.has(path) || !isDeepStrictEqual(before.get(path), value))
    .map(([p]) => p);
  const entries: ManagedFieldsEntry[] = [];
  let mine: ManagedFieldsEntry | undefined;
  for (const entry of entriesOf(previous)) {
    const sameScope = (entry.subresource === 'status') === (scope === 'status');
    let owned = fromFieldsV1(entry.fieldsV1);
    if (sameScope) owned = new Set([...owned].filter((p) => after.has(p) && !changed.includes(p)));
    const isMine = entry.manager === manager && entry.operation === 'Update' && sameScope;
    if (isMine) {
      mine = changed.length > 0 ? { ...entry, time: now(), apiVersion } : { ...entry };
      for (const p of changed) owned.add(p);
      mine.fieldsV1 = toFieldsV1(owned);
      if (owned.size > 0) entries.push(mine);
      continue;
    }
    if (owned.size > 0) entries.push({ ...entry, fieldsV1: toFieldsV1(owned) });
  }
  if (!mine && changed.length > 0) {
    entries.push({
      manager,
      operation: 'Update',
      apiVersion,
      time: now(),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(changed),
      ...(subresource ? { subresource } : {}),
    });
  }
  if (entries.length > 0) next.metadata.managedFields = entries;
  else delete next.metadata.managedFields;
  return next;
}
