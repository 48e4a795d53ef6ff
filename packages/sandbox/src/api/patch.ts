/**
 * The patch flavours a Kubernetes API server accepts, applied to plain JSON objects:
 * RFC 7386 merge patch, RFC 6902 JSON patch (fast-json-patch), and strategic merge patch for
 * built-in kinds, where lists merge by the `patchMergeKey` the Go types declare and the
 * `$patch`, `$setElementOrder`, `$deleteFromPrimitiveList` and `$retainKeys` directives apply.
 */
import fastJsonPatch from 'fast-json-patch';
import type { Operation } from 'fast-json-patch';
import { ApiError, badRequest } from './status.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** RFC 7386. */
export function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(target) ? structuredClone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902; a failed operation (including a failed `test`) is 422, a malformed patch 400. */
export function jsonPatch(target: JsonObject, patch: unknown): JsonObject {
  if (!Array.isArray(patch))
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  try {
    const result = fastJsonPatch.applyPatch(structuredClone(target), patch as Operation[], true, false);
    return result.newDocument;
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    if ((error as { name?: string }).name === 'TEST_OPERATION_FAILED') {
      throw new ApiError(
        422,
        'Invalid',
        `the server rejected our request due to an error in our request: testing value failed`,
      );
    }
    throw new ApiError(
      422,
      'Invalid',
      `the server rejected our request due to an error in our request: ${message ?? ''}`,
    );
  }
}

/** Lists that merge by a key in the built-in kinds; every other list is replaced whole. */
export function mergeKeyFor(fieldNames: readonly string[], kind: string): string | undefined {
  const field = fieldNames.at(-1);
  const parent = fieldNames.at(-2);
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'env':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'hostAliases':
      return 'ip';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'ports':
      if (kind === 'Service' && parent === 'spec' && fieldNames.length === 2) return 'port';
      if (fieldNames.includes('containers') || fieldNames.includes('initContainers')) return 'containerPort';
      return undefined;
    default:
      return undefined;
  }
}

/** Lists of scalars that merge as sets. */
function isPrimitiveMergeList(fieldNames: readonly string[]): boolean {
  return fieldNames.length === 2 && fieldNames[0] === 'metadata' && fieldNames[1] === 'finalizers';
}

function stripDirectives(value: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) if (!key.startsWith('$')) out[key] = v;
  return out;
}

function sameKey(a: Json | undefined, b: Json | undefined, key: string): boolean {
  return isObject(a) && isObject(b) && JSON.stringify(a[key]) === JSON.stringify(b[key]);
}

function mergeList(original: Json | undefined, patch: Json[], fieldNames: string[], kind: string): Json[] {
  const replaceMarker = patch.findIndex((item) => isObject(item) && item.$patch === 'replace');
  if (replaceMarker >= 0)
    return patch.filter((_, i) => i !== replaceMarker).map((v) => (isObject(v) ? stripDirectives(v) : v));
  const current = Array.isArray(original) ? structuredClone(original) : [];
  if (isPrimitiveMergeList(fieldNames)) {
    const merged = [...current];
    for (const item of patch)
      if (!merged.some((m) => JSON.stringify(m) === JSON.stringify(item))) merged.push(item);
    return merged;
  }
  const key = mergeKeyFor(fieldNames, kind);
  if (!key || !patch.every(isObject)) return structuredClone(patch);
  const result = current;
  for (const item of patch) {
    const index = result.findIndex((existing) => sameKey(existing, item, key));
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = strategicMerge(result[index], item, fieldNames, kind) ?? null;
    else result.push(strategicMerge({}, item, fieldNames, kind) ?? null);
  }
  return result;
}

function applyElementOrder(list: Json[], order: Json[], key: string | undefined): Json[] {
  const position = (item: Json): number =>
    order.findIndex((o) =>
      key && isObject(o) ? sameKey(o, item, key) : JSON.stringify(o) === JSON.stringify(item),
    );
  const ordered = list.filter((item) => position(item) >= 0).sort((a, b) => position(a) - position(b));
  return [...ordered, ...list.filter((item) => position(item) < 0)];
}

/**
 * Strategic merge of `patch` into `original` at the path `fieldNames` (field names only, list
 * positions left out). Returns undefined when the patch deletes the whole map.
 */
export function strategicMerge(
  original: Json | undefined,
  patch: Json,
  fieldNames: string[],
  kind: string,
): Json | undefined {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') return stripDirectives(patch);
  const result: JsonObject = isObject(original) ? structuredClone(original) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    const path = [...fieldNames, key];
    if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = mergeList(result[key], value, path, kind);
    else if (isObject(value)) {
      const merged = strategicMerge(result[key], value, path, kind);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else result[key] = value;
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$deleteFromPrimitiveList/') && Array.isArray(value)) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const list = result[field];
      if (Array.isArray(list))
        result[field] = list.filter((v) => !value.some((d) => JSON.stringify(d) === JSON.stringify(v)));
    } else if (key.startsWith('$setElementOrder/') && Array.isArray(value)) {
      const field = key.slice('$setElementOrder/'.length);
      const list = result[field];
      if (Array.isArray(list))
        result[field] = applyElementOrder(list, value, mergeKeyFor([...fieldNames, field], kind));
    } else if (key === '$retainKeys' && Array.isArray(value)) {
      for (const existing of Object.keys(result)) if (!value.includes(existing)) delete result[existing];
    }
  }
  return result;
}

export function parseJsonBody(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (error) {
    throw badRequest(`error decoding patch: ${error instanceof Error ? error.message : String(error)}`);
  }
}
