/**
 * Field validation for the built-in kinds, as kube-apiserver does it (`fieldValidation`):
 * a field the kind's schema does not declare is an error with `Strict` (what kubectl sends),
 * dropped with a `Warning` header with `Warn` (the default for API clients), dropped silently
 * with `Ignore`. The schema comes from @kubernetes/client-node's generated models, whose
 * attribute maps name every declared field and its type. Custom resources (Istio, Gateway API)
 * are not checked.
 */
import * as models from '@kubernetes/client-node';
import type { KubeObject } from '../store.js';
import type { ResourceType } from '../resources.js';

interface AttributeMap {
  baseName: string;
  type: string;
}

type Model = { getAttributeTypeMap(): AttributeMap[] };

function modelNamed(name: string): Model | undefined {
  const candidate = (models as unknown as Record<string, unknown>)[name];
  return typeof candidate === 'function' && 'getAttributeTypeMap' in candidate
    ? (candidate as unknown as Model)
    : undefined;
}

/** `apps/v1` Deployment → V1Deployment; the core group's Event is CoreV1Event. */
function modelOf(t: ResourceType, version: string): string | undefined {
  const v = version.charAt(0).toUpperCase() + version.slice(1);
  return [`${v}${t.kind}`, `Core${v}${t.kind}`].find((name) => modelNamed(name));
}

/** The dotted paths (`spec.replica`, `spec.template.spec.containers[0].imagePullPolcy`) of undeclared fields. */
export function unknownFields(t: ResourceType, version: string, obj: KubeObject): string[] {
  const root = modelOf(t, version);
  const found: string[] = [];
  if (root) walk(obj, root, '', found);
  return found.sort();
}

function walk(value: unknown, type: string, path: string, found: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, array[1]!, `${path}[${i}]`, found));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === 'object')
      for (const [key, item] of Object.entries(value)) walk(item, map[1]!, `${path}.${key}`, found);
    return;
  }
  const model = modelNamed(type);
  if (!model || typeof value !== 'object' || Array.isArray(value)) return;
  const declared = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const fieldPath = path ? `${path}.${key}` : key;
    const fieldType = declared.get(key);
    if (fieldType === undefined) found.push(fieldPath);
    else walk(item, fieldType, fieldPath, found);
  }
}

/** Removes the fields `unknownFields` named, as the API server drops what its schema lacks. */
export function pruneFields(obj: KubeObject, paths: string[]): void {
  for (const path of paths) {
    const segments = path.match(/[^.[\]]+/g) ?? [];
    let parent: unknown = obj;
    for (const segment of segments.slice(0, -1)) {
      parent = (parent as Record<string, unknown> | undefined)?.[segment];
    }
    const last = segments.at(-1);
    if (last !== undefined && parent && typeof parent === 'object')
      delete (parent as Record<string, unknown>)[last];
  }
}
