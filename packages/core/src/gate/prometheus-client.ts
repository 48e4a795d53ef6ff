/**
 * Instant queries against the Prometheus HTTP API, through the shared HTTP client (retry with
 * backoff within a deadline). A query Prometheus rejects (HTTP 400/422, `bad_data`) is told
 * apart from Prometheus being unreachable: the first is the user's to fix, the second is
 * retried and, if it lasts, is no data, never a pass.
 */
import { createHttpClient, redactUrl, type HttpClient } from '../net/http.js';

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

export function createPrometheusClient(
  baseUrl: string,
  http: HttpClient = createHttpClient(),
): PrometheusClient {
  const usable = URL.canParse(baseUrl) && ['http:', 'https:'].includes(new URL(baseUrl).protocol);
  const endpoint = usable ? prometheusApiUrl(baseUrl, 'api/v1/query') : undefined;
  const label = `Prometheus ${redactUrl(endpoint ?? baseUrl)}`;
  return {
    async query(query, options) {
      // Thrown here rather than at construction, so that it is a failed read like any other.
      if (!endpoint) throw new Error(`${label}: expected an http or https URL of Prometheus`);
      const response = await http.get<ApiAnswer>(endpoint, {
        params: { query },
        // Bad queries answer 400 (parse errors) or 422 (execution errors): read them, do not retry.
        acceptStatus: (status) => status === 400 || status === 422,
        timeoutMs: Math.max(500, Math.min(10_000, options.deadlineMs)),
        retry: { deadlineMs: options.deadlineMs, baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 20 },
        label,
        ...(options.signal ? { signal: options.signal } : {}),
      });
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
