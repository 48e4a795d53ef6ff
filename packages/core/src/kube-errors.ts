/**
 * Turns Kubernetes API failures into errors that say what failed, on which object, and what to do.
 * Duck-typed on client-node's ApiException (`code`, `body`, `headers`) so this module never loads
 * client-node itself.
 */
import { STATUS_CODES } from 'node:http';
import { httpErrorInfo, RetryDeadlineError } from './retry.js';

export interface KubeCallTarget {
  /** get, list, watch, create, patch, apply, update, replace, delete... */
  verb: string;
  /** Resource as kubectl names it, e.g. `deployments.apps` or `Deployment`. */
  kind: string;
  namespace?: string;
  name?: string;
}

/** The parts of a Kubernetes `Status` body we show and branch on. */
export interface KubeStatus {
  reason?: string;
  message?: string;
  code?: number;
}

export function parseStatusBody(body: unknown): KubeStatus | undefined {
  let value: unknown = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.trim() ? { message: body.trim().slice(0, 500) } : undefined;
    }
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const status: KubeStatus = {};
  if (typeof record.reason === 'string' && record.reason) status.reason = record.reason;
  if (typeof record.message === 'string' && record.message) status.message = record.message;
  if (typeof record.code === 'number') status.code = record.code;
  return Object.keys(status).length > 0 ? status : undefined;
}

export function describeTarget(target: KubeCallTarget): string {
  const where = target.namespace ? `${target.namespace}/${target.name ?? '*'}` : (target.name ?? '');
  return [target.verb, target.kind, where].filter(Boolean).join(' ');
}

function hintFor(status: number | undefined, target: KubeCallTarget): string | undefined {
  switch (status) {
    case 401:
      return 'the cluster rejected the credentials; check the kubeconfig user (token or client certificate)';
    case 403:
      return `grant the identity RBAC permission to ${target.verb} ${target.kind}${
        target.namespace ? ` in namespace ${target.namespace}` : ''
      } (see the action's README for the minimal Role)`;
    case 404:
      return target.name ? undefined : 'check that the API group/version is served by this cluster';
    default:
      return undefined;
  }
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly verb: string;
  readonly kind: string;
  readonly namespace: string | undefined;
  /** The object name (`name` stays Error's class name, as tools that print errors expect). */
  readonly objectName: string | undefined;
  readonly target: Readonly<KubeCallTarget>;
  /** HTTP status, undefined when the server never answered. */
  readonly status: number | undefined;
  /** Kubernetes Status reason (NotFound, Conflict, AlreadyExists, Invalid...) or the network error code. */
  readonly reason: string | undefined;
  /** Kubernetes Status message as the server sent it. */
  readonly statusMessage: string | undefined;

  constructor(target: KubeCallTarget, cause: unknown) {
    const underlying = cause instanceof RetryDeadlineError && cause.cause !== undefined ? cause.cause : cause;
    const info = httpErrorInfo(underlying);
    const status = parseStatusBody(info.body);
    const parts: string[] = [];
    if (info.status !== undefined) {
      parts.push(`${info.status} ${status?.reason ?? STATUS_CODES[info.status] ?? ''}`.trim());
    } else if (info.code) {
      parts.push(info.code);
    }
    const detail =
      status?.message ??
      (info.status === undefined && underlying instanceof Error ? underlying.message : undefined);
    if (detail) parts.push(detail);
    if (cause instanceof RetryDeadlineError) parts.push(`(${cause.message})`);
    const hint = hintFor(info.status, target);
    super(
      `${describeTarget(target)} failed: ${parts.join(': ') || 'unknown error'}${hint ? `. Next: ${hint}` : ''}`,
      { cause },
    );
    this.verb = target.verb;
    this.kind = target.kind;
    this.namespace = target.namespace;
    this.objectName = target.name;
    this.target = Object.freeze({ ...target });
    this.status = info.status;
    this.reason = status?.reason ?? info.code;
    this.statusMessage = status?.message;
  }
}

export function isKubeStatus(err: unknown, status: number): boolean {
  return err instanceof KubeApiError ? err.status === status : httpErrorInfo(err).status === status;
}

export const isNotFound = (err: unknown): boolean => isKubeStatus(err, 404);
export const isConflict = (err: unknown): boolean => isKubeStatus(err, 409);
export const isForbidden = (err: unknown): boolean => isKubeStatus(err, 403);
export const isAlreadyExists = (err: unknown): boolean =>
  isKubeStatus(err, 409) && (!(err instanceof KubeApiError) || err.reason === 'AlreadyExists');
