/**
 * Instant queries against the Prometheus HTTP API, through the shared HTTP client (retry with
 * backoff within a deadline). A query Prometheus rejects (HTTP 400/422, `bad_data`) is told
 * apart from Prometheus being unreachable: the first is the user's to fix, the second is
 * retried and, if it lasts, is no data, never a pass. Refused credentials (401/403) are the
 * user's to fix as well, and are never retried.
 *
 * How Prometheus is reached is its PrometheusAccess (prometheus-access.ts): credentials as
 * headers, a CA bundle, or the API server's Service proxy with the kubeconfig's credentials.
 * Credentials in the URL itself (`user:pass@`, `?token=`) are sent as before; every message
 * shows the URL redacted, and never a header.
 */
import type { Agent as HttpsAgent } from 'node:https';
import { kubeApiTarget, serviceProxyBase } from '../kube/service-proxy.js';
import { createHttpClient, redactUrl, type HttpClient } from '../net/http.js';
import {
  accessHeaders,
  DIRECT_ACCESS,
  inClusterPrometheus,
  type InClusterPrometheus,
  type PrometheusAccess,
} from './prometheus-access.js';

export interface SeriesValue {
  labels: Record<string, string>;
  value: number;
}

export class QueryRejectedError extends Error {
  override readonly name = 'QueryRejectedError';
  constructor(
    readonly query: string,
    readonly reason: string,
  ) {
    super(`Prometheus rejected the query ${JSON.stringify(query)}: ${reason}`);
  }
}

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

function toNumber(text: unknown): number {
  return typeof text === 'string' ? Number(text) : Number.NaN;
}

/** Reads vector and scalar results; a matrix or string result is not something a gate can judge. */
export function readResult(query: string, data: ApiAnswer['data']): SeriesValue[] {
  if (data?.resultType === 'scalar' && Array.isArray(data.result)) {
    return [{ labels: {}, value: toNumber((data.result as unknown[])[1]) }];
  }
  if (data?.resultType === 'vector' && Array.isArray(data.result)) {
    return (data.result as { metric?: Record<string, string>; value?: unknown[] }[]).map((series) => ({
      labels: series.metric ?? {},
      value: toNumber(series.value?.[1]),
    }));
  }
  throw new QueryRejectedError(
    query,
    `the result is a ${data?.resultType ?? 'missing'} value; expected an instant vector or scalar`,
  );
}

/**
 * Prometheus, or the API server's Service proxy in front of it, refused the request: wrong or
 * missing credentials, no RBAC for `services/proxy`, no such Service. Like a rejected query it is
 * the user's to fix, so it is reported before a gate starts rather than waited out.
 */
export class PrometheusRefusedError extends QueryRejectedError {
  constructor(
    query: string,
    readonly status: number,
    text: string,
  ) {
    super(query, text);
    this.message = text;
  }
}

interface KubeStatus {
  kind?: string;
  reason?: string;
  message?: string;
}

function kubeStatus(data: unknown): KubeStatus | undefined {
  const status = data as KubeStatus | null | undefined;
  return typeof status === 'object' && status !== null && status.kind === 'Status' ? status : undefined;
}

/** What to check when a direct Prometheus refuses: the inputs that were (or were not) given. */
function credentialsHint(access: PrometheusAccess): string {
  const extra = Object.keys(access.headers).length > 0 ? ' and prometheus-headers' : '';
  if (access.bearerToken !== undefined) return `check prometheus-token${extra}`;
  if (access.basicAuth) return `check prometheus-username and prometheus-password${extra}`;
  if (extra) return 'check prometheus-headers';
  return 'it asks for credentials: give prometheus-token, or prometheus-username and prometheus-password';
}

function refusalText(
  label: string,
  status: number,
  data: unknown,
  access: PrometheusAccess,
  service: InClusterPrometheus | undefined,
): string {
  if (!service) return `${label} refused the query (HTTP ${status}): ${credentialsHint(access)}`;
  const where = `${service.namespace}/${service.name}`;
  const api = kubeStatus(data);
  const said = api?.message ? `: ${api.message}` : '';
  if (api && status === 401)
    return `${label}: the Kubernetes API did not accept the kubeconfig's credentials (HTTP 401${said})`;
  if (api && status === 403)
    return `${label}: the Kubernetes API refused the Service proxy (HTTP 403${said}); the kubeconfig's user needs "get" on "services/proxy" in namespace ${service.namespace}`;
  if (api)
    return `${label}: the Kubernetes API found no Service ${where} (HTTP ${status}${said}); check prometheus-url`;
  if (status === 404)
    return `${label}: Service ${where} answered HTTP 404; check the path of prometheus-url (a prefix such as /prometheus)`;
  return `${label}: Prometheus refused the query behind the Service proxy (HTTP ${status}); the API server keeps the Authorization header for itself, so a Prometheus that asks for a token or basic auth cannot be reached with prometheus-via: kubernetes`;
}

export interface PrometheusClient {
  query(query: string, options: { signal?: AbortSignal; deadlineMs: number }): Promise<SeriesValue[]>;
}

/**
 * An API path under a Prometheus base URL: appended to the base's path (Prometheus behind a
 * prefix, `https://host/prom`), with the base's query parameters (`?token=`) and userinfo kept
 * for the request.
 */
export function prometheusApiUrl(baseUrl: string, apiPath: string): string {
  const url = new URL(baseUrl);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${apiPath.replace(/^\/+/, '')}`;
  url.hash = '';
  return url.toString();
}

interface Target {
  url: string;
  headers: Record<string, string>;
  httpsAgent?: HttpsAgent;
  noProxy?: boolean;
}

/**
 * A client for the Prometheus at `baseUrl`, reached as `access` says (by default directly and
 * with no credentials but those in the URL). With `via: kubernetes` the URL is the in-cluster one
 * and each query goes to `/api/v1/namespaces/<ns>/services/<scheme>:<name>:<port>/proxy/...` on the
 * API server, with the kubeconfig's credentials.
 */
export function createPrometheusClient(
  baseUrl: string,
  access: PrometheusAccess = DIRECT_ACCESS,
  http: HttpClient = createHttpClient(access.ca !== undefined ? { ca: access.ca } : {}),
): PrometheusClient {
  const usable = URL.canParse(baseUrl) && ['http:', 'https:'].includes(new URL(baseUrl).protocol);
  const endpoint = usable ? prometheusApiUrl(baseUrl, 'api/v1/query') : undefined;
  const found = access.via === 'kubernetes' && usable ? inClusterPrometheus(baseUrl) : undefined;
  const service = found && 'name' in found ? found : undefined;
  const label = `Prometheus ${redactUrl(endpoint ?? baseUrl)}${access.via === 'kubernetes' ? ' through the Kubernetes API' : ''}`;
  const headers = accessHeaders(access);

  async function target(): Promise<Target> {
    // Thrown here rather than at construction, so that it is a failed read like any other.
    if (!endpoint) throw new Error(`${label}: expected an http or https URL of Prometheus`);
    if (access.via === 'direct') return { url: endpoint, headers };
    if (!service)
      throw new Error(`${label}: ${found && 'reason' in found ? found.reason : 'not an in-cluster URL'}`);
    if (!access.kube) throw new Error(`${label}: no Kubernetes client for prometheus-via: kubernetes`);
    const path = `${serviceProxyBase(service)}${service.prefix}/api/v1/query${service.search}`;
    const api = await kubeApiTarget(access.kube, path);
    // The kubeconfig's Authorization is the API server's; the extra headers go on to Prometheus.
    return { ...api, headers: { ...headers, ...api.headers }, noProxy: true };
  }

  return {
    async query(query, options) {
      const { url, ...request } = await target();
      const refusals = service ? [401, 403, 404] : [401, 403];
      const response = await http.get<ApiAnswer>(url, {
        params: { query },
        ...request,
        // Bad queries answer 400 (parse errors) or 422 (execution errors), refused credentials 401
        // or 403: read them, do not retry.
        acceptStatus: (status) => status === 400 || status === 422 || refusals.includes(status),
        timeoutMs: Math.max(500, Math.min(10_000, options.deadlineMs)),
        retry: { deadlineMs: options.deadlineMs, baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 20 },
        label,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (refusals.includes(response.status)) {
        throw new PrometheusRefusedError(
          query,
          response.status,
          refusalText(label, response.status, response.data, access, service),
        );
      }
      const answer = response.data;
      if (response.status === 400 || response.status === 422 || answer.status === 'error') {
        throw new QueryRejectedError(
          query,
          `${answer.errorType ?? `HTTP ${response.status}`}: ${answer.error ?? 'no reason given'}`,
        );
      }
      return readResult(query, answer.data);
    },
  };
}
