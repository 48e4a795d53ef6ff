/**
 * Turns a request path and method into what kube-apiserver's RequestInfoFactory produces: the
 * group, version, namespace, resource, name, subresource and verb that authorization, auditing
 * and the handlers act on.
 */
import { findResource, type ResourceType } from '../resources.js';

export interface ResourceRequest {
  kind: 'resource';
  verb: string;
  group: string;
  version: string;
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** services/<name>/proxy/<rest>: the path after `proxy`, with its leading slash. */
  proxyPath?: string;
}

export interface NonResourceRequest {
  kind: 'nonResource';
  verb: string;
  path: string;
}

/** A path under /api or /apis that names no resource we serve. */
export interface UnknownResourceRequest {
  kind: 'unknown';
  verb: string;
  group: string;
  version: string;
  resource: string;
  namespace?: string;
}

export type RequestInfo = ResourceRequest | NonResourceRequest | UnknownResourceRequest;

/** Namespaces' own subresources, which must not be read as a namespaced resource name. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

const METHOD_VERBS: Record<string, string> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
  GET: 'get',
  HEAD: 'get',
};

export function parseRequestInfo(method: string, pathname: string, query: URLSearchParams): RequestInfo {
  const parts = pathname.split('/').filter((p) => p !== '');
  const methodVerb = METHOD_VERBS[method] ?? method.toLowerCase();
  let rest: string[];
  let group: string;
  let version: string;
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1] ?? '';
    version = parts[2] ?? '';
    rest = parts.slice(3);
  } else {
    return { kind: 'nonResource', verb: methodVerb, path: pathname };
  }

  let watchPath = false;
  if (rest[0] === 'watch') {
    watchPath = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = decodeURIComponent(rest[1] ?? '');
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1] !== undefined ? decodeURIComponent(rest[1]) : undefined;
  const subresource = rest[2];

  let verb = methodVerb;
  if (watchPath || (method === 'GET' && isTrue(query.get('watch')))) verb = 'watch';
  else if (method === 'GET' && name === undefined) verb = 'list';
  else if (method === 'DELETE' && name === undefined) verb = 'deletecollection';

  const type = findResource(group, resource);
  if (!type || !type.versions.includes(version)) {
    return {
      kind: 'unknown',
      verb,
      group,
      version,
      resource,
      ...(namespace !== undefined ? { namespace } : {}),
    };
  }
  const info: ResourceRequest = { kind: 'resource', verb, group, version, type };
  if (namespace !== undefined) info.namespace = namespace;
  if (name !== undefined) info.name = name;
  if (subresource !== undefined) info.subresource = subresource;
  if (subresource === 'proxy') {
    // Keep the raw remainder (with its trailing slash) so the workload sees the path it was asked.
    const marker = `/${rest.slice(0, 3).join('/')}`;
    const index = pathname.indexOf(marker);
    info.proxyPath = index >= 0 ? pathname.slice(index + marker.length) || '/' : '/';
    if (!info.proxyPath.startsWith('/')) info.proxyPath = `/${info.proxyPath}`;
  }
  return info;
}

export function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1';
}
