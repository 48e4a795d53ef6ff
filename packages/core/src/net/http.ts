/**
 * The HTTP client for Slack, GitHub, Prometheus and HTTP checks: axios behind the retry policy.
 *
 * axios is imported on the first request, not with this module, so an action that fails input
 * validation never pays for loading it. Proxies: axios reads HTTPS_PROXY/HTTP_PROXY/NO_PROXY from
 * the environment (tunnelling HTTPS with CONNECT) unless `proxy: false` is set, which this client
 * does only for requests that say `noProxy` (the Kubernetes API, reached as the kubeconfig says). A
 * custom https agent (a CA bundle, the kubeconfig's TLS) keeps the proxy: axios tunnels through it
 * and verifies the origin with the agent's options.
 *
 * Errors carry method, redacted URL, status and a body excerpt, never the request headers or
 * config (they hold tokens), and never the axios error itself as `cause` for the same reason.
 */
import type { AxiosInstance, AxiosRequestConfig, AxiosResponse, Method } from 'axios';
import type { Agent as HttpsAgent } from 'node:https';
import { redactUrl } from './redact.js';
import { httpErrorInfo, withRetry, type RetryOptions } from './retry.js';

export { redactUrl };

export interface HttpClientOptions {
  baseURL?: string;
  /** Per-attempt timeout. Default 10 s. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** CA bundle (PEM) trusted for https targets instead of the system's, e.g. a private Prometheus. */
  ca?: string;
  /** Retry policy defaults for every request of this client. */
  retry?: Omit<RetryOptions, 'idempotent' | 'classify' | 'signal'>;
}

export interface HttpRequest<D = unknown> {
  method?: Method;
  url: string;
  params?: Record<string, string | number | boolean | undefined>;
  data?: D;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Defaults from the method: GET, HEAD, OPTIONS, PUT and DELETE are safe to repeat. */
  idempotent?: boolean;
  /** Overrides the client's retry defaults for this request. */
  retry?: Omit<RetryOptions, 'idempotent' | 'classify' | 'signal'>;
  /** Names the target in errors instead of the URL, for URLs that are secrets (webhooks). */
  label?: string;
  /** Accept these statuses as answers instead of errors (e.g. a health check reading a 500). */
  acceptStatus?: (status: number) => boolean;
  responseType?: 'json' | 'text' | 'arraybuffer';
  /** TLS for this request, over the client's CA (the kubeconfig's CA and client certificate). */
  httpsAgent?: HttpsAgent;
  /** Never through HTTP(S)_PROXY: for the Kubernetes API, which is reached as the kubeconfig says. */
  noProxy?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string>;
  data: T;
  /** Wall time of the final attempt, ms. */
  durationMs: number;
  attempts: number;
}

export interface HttpClient {
  request<T = unknown, D = unknown>(req: HttpRequest<D>): Promise<HttpResponse<T>>;
  get<T = unknown>(url: string, req?: Omit<HttpRequest, 'url' | 'method'>): Promise<HttpResponse<T>>;
  post<T = unknown, D = unknown>(
    url: string,
    data: D,
    req?: Omit<HttpRequest<D>, 'url' | 'method' | 'data'>,
  ): Promise<HttpResponse<T>>;
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    message: string,
    readonly method: string,
    readonly target: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly bodyExcerpt: string | undefined,
  ) {
    super(message);
  }
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

function excerpt(data: unknown): string | undefined {
  if (data === undefined || data === null || data === '') return undefined;
  let text: string;
  if (typeof data === 'string') text = data;
  else if (data instanceof ArrayBuffer || Buffer.isBuffer(data))
    text = Buffer.from(data as ArrayBuffer).toString('utf8');
  else text = JSON.stringify(data);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function plainHeaders(headers: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof headers !== 'object' || headers === null) return out;
  for (const [key, value] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof value === 'string') out[key.toLowerCase()] = value;
    else if (Array.isArray(value)) out[key.toLowerCase()] = value.join(', ');
    else if (typeof value === 'number') out[key.toLowerCase()] = String(value);
  }
  return out;
}

let axiosPromise: Promise<typeof import('axios')> | undefined;
function loadAxios(): Promise<typeof import('axios')> {
  axiosPromise ??= import('axios');
  return axiosPromise;
}

export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  let instance: AxiosInstance | undefined;
  async function axiosInstance(): Promise<AxiosInstance> {
    if (!instance) {
      const axios = (await loadAxios()).default;
      const httpsAgent = options.ca ? new (await import('node:https')).Agent({ ca: options.ca }) : undefined;
      instance = axios.create({
        baseURL: options.baseURL,
        headers: { 'User-Agent': 'cd-actions', ...options.headers },
        // Redirects are followed by axios; a 3xx left over is an answer we do not understand.
        maxRedirects: 5,
        ...(httpsAgent ? { httpsAgent } : {}),
      });
    }
    return instance;
  }

  async function request<T = unknown, D = unknown>(req: HttpRequest<D>): Promise<HttpResponse<T>> {
    const method = (req.method ?? 'GET').toUpperCase();
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const target = req.label ?? redactUrl(req.url, options.baseURL);
    const client = await axiosInstance();
    let attempts = 0;
    let started = 0;
    try {
      const response = await withRetry<AxiosResponse<T>>(
        (attempt, signal) => {
          attempts = attempt;
          started = Date.now();
          const config: AxiosRequestConfig<D> = {
            method,
            url: req.url,
            params: req.params,
            data: req.data,
            headers: req.headers,
            timeout: req.timeoutMs ?? options.timeoutMs ?? 10_000,
            signal,
            responseType: req.responseType ?? 'json',
            ...(req.httpsAgent ? { httpsAgent: req.httpsAgent } : {}),
            ...(req.noProxy ? { proxy: false as const } : {}),
            validateStatus: (status) =>
              (status >= 200 && status < 300) || (req.acceptStatus?.(status) ?? false),
          };
          return client.request<T, AxiosResponse<T>, D>(config);
        },
        { ...options.retry, ...req.retry, idempotent, signal: req.signal },
      );
      return {
        status: response.status,
        headers: plainHeaders(response.headers),
        data: response.data,
        durationMs: Date.now() - started,
        attempts,
      };
    } catch (err) {
      throw toHttpError(err, method, target, attempts);
    }
  }

  return {
    request,
    get: (url, req = {}) => request({ ...req, url, method: 'GET' }),
    post: (url, data, req = {}) => request({ ...req, url, data, method: 'POST' }),
  };
}

function toHttpError(err: unknown, method: string, target: string, attempts: number): Error {
  if (err instanceof Error && err.name === 'AbortError') return err;
  const underlying = err instanceof Error && err.name === 'RetryDeadlineError' && err.cause ? err.cause : err;
  const info = httpErrorInfo(underlying);
  const body = excerpt(info.body);
  const what =
    info.status !== undefined
      ? `HTTP ${info.status}${body ? `: ${body}` : ''}`
      : (info.code ?? (underlying instanceof Error ? underlying.message : String(underlying)));
  const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
  const deadline = underlying !== err && err instanceof Error ? ` (${err.message})` : '';
  return new HttpError(
    `${method} ${target} failed${tries}: ${what}${deadline}`,
    method,
    target,
    info.status,
    info.code,
    body,
  );
}
