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

/** Throws 403 Forbidden unless the token may do what the request asks. */
export function authorize(spec: TokenSpec, info: RequestInfo): void {
  if (info.kind === 'nonResource') return; // discovery, version and openapi are open to every authenticated user
  const resource = info.kind === 'resource' ? info.type.resource : info.resource;
  const group = info.group;
  const subresource = info.kind === 'resource' ? info.subresource : undefined;
  const full = subresource ? `${resource}/${subresource}` : resource;
  const qualified = group ? `${resource}.${group}` : resource;
  const resourceOk = subresource
    ? allows(spec.resources, full, `${qualified}/${subresource}`, `${resource}/*`, `${qualified}/*`)
    : allows(spec.resources, resource, qualified);
  const verbOk = allows(spec.verbs, info.verb);
  const namespaceOk =
    spec.namespaces === undefined ||
    (info.namespace !== undefined && spec.namespaces.includes(info.namespace));
  if (resourceOk && verbOk && namespaceOk) return;

  const name = info.kind === 'resource' ? info.name : undefined;
  const subject = qualifiedResource({ group, resource }, name);
  const scope =
    info.namespace !== undefined ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
  throw new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${spec.name}" cannot ${info.verb} resource "${full}" in API group "${group}" ${scope}`,
    { ...(name !== undefined ? { name } : {}), ...(group ? { group } : {}), kind: resource },
  );
}
