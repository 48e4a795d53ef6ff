/**
 * Turns Kubernetes API failures into errors that say what failed, on which object, and what to do.
 * Duck-typed on client-node's ApiException (`code`, `body`, `headers`) so this module never loads
 * client-node itself.
 */
import { STATUS_CODES } from 'node:http';
import { redactUrl } from '../net/redact.js';
import { httpErrorInfo, RetryDeadlineError } from '../net/retry.js';

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

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The first string `code` in an error's cause chain (undici hides it under "fetch failed"). */
function systemCode(err: unknown, depth = 0): string | undefined {
  if (!isRecord(err) || depth > 5) return undefined;
  if (typeof err.code === 'string' && err.code !== '') return err.code;
  if (Array.isArray(err.errors)) {
    for (const inner of err.errors) {
      const code = systemCode(inner, depth + 1);
      if (code) return code;
    }
  }
  return systemCode(err.cause, depth + 1);
}

/** Codes of a connection that was never made: the request did not reach the API server. */
const NOT_REACHED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_NONAME',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** TLS verification failures (Node's and OpenSSL's codes): the server is not the one the kubeconfig trusts. */
const CERTIFICATE = /CERT|^ERR_TLS_|^ERR_SSL_|^UNABLE_TO_|SELF_SIGNED/;

const CODE_MEANING: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing accepts connections there',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved now',
  EAI_NONAME: 'the host name does not resolve',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'no route to the network',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
};

/**
 * A request that got no answer from the API server: thrown by Kube.request, so that every call's
 * KubeApiError can say which server and why, whatever the verb. The cause is the original error,
 * so retry classification (network codes in the cause chain) is unchanged.
 */
export class KubeConnectionError extends Error {
  override readonly name = 'KubeConnectionError';
  /** The server URL as it may be shown (no userinfo, query or fragment). */
  readonly server: string;
  /** The system or TLS code, e.g. ECONNREFUSED, ENOTFOUND, DEPTH_ZERO_SELF_SIGNED_CERT. */
  readonly networkCode: string | undefined;
  /** True when no connection was made (refused, DNS, unreachable, timeout, certificate). */
  readonly notReached: boolean;
  readonly certificate: boolean;

  constructor(server: string, cause: unknown) {
    const code = systemCode(cause);
    const certificate = code !== undefined && CERTIFICATE.test(code);
    const notReached = certificate || (code !== undefined && NOT_REACHED.has(code));
    const shown = redactUrl(server);
    const why = certificate
      ? `certificate error ${code}: the server's certificate is not one the kubeconfig trusts`
      : code
        ? `${code}${CODE_MEANING[code] ? `: ${CODE_MEANING[code]}` : ''}`
        : cause instanceof Error
          ? cause.message
          : 'no answer';
    super(
      notReached
        ? `cannot reach the Kubernetes API server at ${shown} (${why})`
        : `the connection to the Kubernetes API server at ${shown} failed before it answered (${why})`,
      { cause },
    );
    this.server = shown;
    this.networkCode = code;
    this.notReached = notReached;
    this.certificate = certificate;
  }
}

function connectionError(err: unknown): KubeConnectionError | undefined {
  for (let at: unknown = err, depth = 0; isRecord(at) && depth < 5; at = at.cause, depth += 1) {
    if (at instanceof KubeConnectionError) return at;
  }
  return undefined;
}

function connectionHint(err: KubeConnectionError): string | undefined {
  if (err.certificate) {
    return "check the cluster's certificate-authority-data in the kubeconfig input and that the server URL names that cluster";
  }
  if (err.notReached) {
    return 'check the server URL of the cluster in the kubeconfig input, that the context input selects the right cluster, and that the runner can reach it over the network (VPN, firewall, private endpoint)';
  }
  return undefined;
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
    const connection = info.status === undefined ? connectionError(underlying) : undefined;
    const parts: string[] = [];
    if (connection) {
      parts.push(connection.message);
    } else {
      if (info.status !== undefined) {
        parts.push(`${info.status} ${status?.reason ?? STATUS_CODES[info.status] ?? ''}`.trim());
      } else if (info.code) {
        parts.push(info.code);
      }
      const detail =
        status?.message ??
        (info.status === undefined && underlying instanceof Error ? underlying.message : undefined);
      if (detail) parts.push(detail);
    }
    if (cause instanceof RetryDeadlineError) parts.push(`(${cause.message})`);
    const hint = connection ? connectionHint(connection) : hintFor(info.status, target);
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
    this.reason = status?.reason ?? info.code ?? connection?.networkCode;
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
