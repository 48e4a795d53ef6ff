/**
 * Bearer-token authentication and RBAC-like authorization. A token may be limited to
 * namespaces, verbs and resources (`deployments`, `deployments.apps`, `deployments/scale`,
 * `deployments/*`, `*`); anything unlisted is denied with kube-apiserver's wording.
 */
import { randomBytes } from 'node:crypto';
import { ApiError, qualifiedResource } from './status.js';
import type { RequestInfo } from './request-info.js';

export interface TokenSpec {
  name: string;
  token?: string;
  namespaces?: string[];
  verbs?: string[];
  resources?: string[];
}

export class TokenRegistry {
  private readonly byToken = new Map<string, TokenSpec>();

  add(spec: TokenSpec): string {
    const token =
      spec.token ?? `sandbox-${spec.name.replace(/[^a-zA-Z0-9-]/g, '-')}-${randomBytes(12).toString('hex')}`;
    this.byToken.set(token, { ...spec, token });
    return token;
  }

  /** The token's spec from an Authorization header; 401 when missing or unknown. */
  authenticate(header: string | undefined): TokenSpec {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    const spec = match?.[1] ? this.byToken.get(match[1]) : undefined;
    if (!spec) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
    return spec;
  }
}

function allows(list: string[] | undefined, ...candidates: string[]): boolean {
  if (list === undefined) return true;
  return list.some((entry) => entry === '*' || candidates.includes(entry));
}

/** What RBAC decides on: the attributes of a resource request. */
export interface ResourceAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** Throws 403 Forbidden unless the token may do what the request asks. */
export function authorize(spec: TokenSpec, info: RequestInfo): void {
  if (info.kind === 'nonResource') return; // discovery, version and openapi are open to every authenticated user
  authorizeAttributes(spec, {
    verb: info.verb,
    group: info.group,
    resource: info.kind === 'resource' ? info.type.resource : info.resource,
    ...(info.kind === 'resource' && info.subresource !== undefined ? { subresource: info.subresource } : {}),
    ...(info.namespace !== undefined ? { namespace: info.namespace } : {}),
    ...(info.kind === 'resource' && info.name !== undefined ? { name: info.name } : {}),
  });
}

export function authorizeAttributes(spec: TokenSpec, attributes: ResourceAttributes): void {
  const { verb, group, resource, subresource, namespace, name } = attributes;
  const full = subresource ? `${resource}/${subresource}` : resource;
  const qualified = group ? `${resource}.${group}` : resource;
  const resourceOk = subresource
    ? allows(spec.resources, full, `${qualified}/${subresource}`, `${resource}/*`, `${qualified}/*`)
    : allows(spec.resources, resource, qualified);
  const verbOk = allows(spec.verbs, verb);
  const namespaceOk =
    spec.namespaces === undefined || (namespace !== undefined && spec.namespaces.includes(namespace));
  if (resourceOk && verbOk && namespaceOk) return;

  const subject = qualifiedResource({ group, resource }, name);
  const scope = namespace !== undefined ? `in the namespace "${namespace}"` : 'at the cluster scope';
  throw new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${spec.name}" cannot ${verb} resource "${full}" in API group "${group}" ${scope}`,
    { ...(name !== undefined ? { name } : {}), ...(group ? { group } : {}), kind: resource },
  );
}

/**
 * SelfSubjectAccessReview (`kubectl auth can-i`, preflight checks): answers whether this token
 * may do what the review's attributes describe. Open to every authenticated user, as on a real
 * cluster.
 */
export function selfSubjectAccessReview(spec: TokenSpec, review: Record<string, unknown>): unknown {
  const reviewSpec = (review.spec ?? {}) as {
    resourceAttributes?: Partial<ResourceAttributes>;
    nonResourceAttributes?: { path?: string; verb?: string };
  };
  let allowed = true;
  const attrs = reviewSpec.resourceAttributes;
  if (attrs) {
    try {
      authorizeAttributes(spec, {
        verb: attrs.verb ?? '',
        group: attrs.group ?? '',
        resource: attrs.resource ?? '',
        ...(attrs.subresource ? { subresource: attrs.subresource } : {}),
        ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
        ...(attrs.name ? { name: attrs.name } : {}),
      });
    } catch {
      allowed = false; // RBAC gives no reason for a denial, and kubectl prints a plain "no"
    }
  }
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: {},
    spec: reviewSpec,
    status: allowed ? { allowed, reason: `allowed by token "${spec.name}"` } : { allowed },
  };
}
