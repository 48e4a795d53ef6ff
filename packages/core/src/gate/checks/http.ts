/**
 * One sample of an http check: one request, judged on status, body, JSONPath and latency. A
 * probe is not retried: a failed request is the evidence. `via: service-proxy` goes through the
 * Kubernetes API's Service proxy with the kubeconfig's credentials, so the runner needs no
 * network path into the cluster.
 */
import type { Agent as HttpsAgent } from 'node:https';
import { isDeepStrictEqual } from 'node:util';
import type { Kube } from '../../kube/kube.js';
import { kubeApiTarget, serviceProxyBase } from '../../kube/service-proxy.js';
import { statusMatches } from '../http-expect.js';
import type { HttpCheck, Sample } from '../types.js';

/** Reads `$.a.b[0].c` from a parsed JSON body; undefined when the path leads nowhere. */
export function readJsonPath(document: unknown, path: string): unknown {
  const steps = path.slice(1).match(/\.[A-Za-z_][\w-]*|\[\d+\]/g) ?? [];
  let current: unknown = document;
  for (const step of steps) {
    if (current === null || typeof current !== 'object') return undefined;
    const key = step.startsWith('[') ? Number(step.slice(1, -1)) : step.slice(1);
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

export function serviceProxyPath(check: HttpCheck, namespace: string): string {
  const service = check.service!;
  const base = serviceProxyBase({
    namespace: service.namespace ?? namespace,
    name: service.name,
    ...(service.port ? { port: service.port } : {}),
  });
  return `${base}${check.url}`;
}

interface Target {
  url: string;
  headers: Record<string, string>;
  httpsAgent?: HttpsAgent;
}

async function proxyTarget(check: HttpCheck, kube: Kube, namespace: string): Promise<Target> {
  const target = await kubeApiTarget(kube, serviceProxyPath(check, namespace));
  return { ...target, headers: { ...check.headers, ...target.headers } };
}

async function directTarget(check: HttpCheck): Promise<Target> {
  if (!check.url.startsWith('https:') || (!check.tls.insecureSkipVerify && !check.tls.ca)) {
    return { url: check.url, headers: check.headers };
  }
  const { Agent } = await import('node:https');
  return {
    url: check.url,
    headers: check.headers,
    httpsAgent: new Agent({
      rejectUnauthorized: !check.tls.insecureSkipVerify,
      ...(check.tls.ca ? { ca: check.tls.ca } : {}),
    }),
  };
}

export interface HttpSampleContext {
  kube?: Kube;
  namespace: string;
  signal?: AbortSignal;
}

export async function sampleHttp(check: HttpCheck, ctx: HttpSampleContext): Promise<Sample> {
  if (check.via === 'service-proxy' && !ctx.kube) {
    return { outcome: 'no-data', error: true, detail: 'no Kubernetes client for via: service-proxy' };
  }
  const target =
    check.via === 'service-proxy'
      ? await proxyTarget(check, ctx.kube!, ctx.namespace)
      : await directTarget(check);
  const axios = (await import('axios')).default;
  const started = performance.now();
  let status: number;
  let text: string;
  try {
    const response = await axios.request<string>({
      method: check.method,
      url: target.url,
      headers: { 'User-Agent': 'cd-actions health-gate', ...target.headers },
      ...(check.body !== undefined ? { data: check.body } : {}),
      timeout: check.timeoutMs,
      ...(target.httpsAgent ? { httpsAgent: target.httpsAgent } : {}),
      responseType: 'text',
      transformResponse: (data: unknown) => data,
      validateStatus: () => true,
      maxRedirects: 5,
      // The API server is reached as the kubeconfig says, never through HTTP(S)_PROXY; a direct probe
      // follows the runner's proxy settings like every other client of the suite.
      ...(check.via === 'service-proxy' ? { proxy: false as const } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    status = response.status;
    text = typeof response.data === 'string' ? response.data : String(response.data);
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    return { outcome: 'fail', detail: `request failed: ${code ?? message}` };
  }
  const latencyMs = Math.round(performance.now() - started);
  const answered = `HTTP ${status} in ${latencyMs} ms`;
  const fail = (why: string): Sample => ({
    outcome: 'fail',
    value: latencyMs,
    detail: `${answered}: ${why}`,
  });
  if (!statusMatches(check.expectStatus, status)) return fail(`status not ${check.expectStatus.text}`);
  if (check.maxLatencyMs !== undefined && latencyMs > check.maxLatencyMs)
    return fail(`slower than ${check.maxLatencyMs} ms`);
  if (check.bodyContains !== undefined && !text.includes(check.bodyContains)) {
    return fail(`body lacks ${JSON.stringify(check.bodyContains)}`);
  }
  if (check.jsonPath) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail('body is not JSON');
    }
    const found = readJsonPath(parsed, check.jsonPath.path);
    if (!isDeepStrictEqual(found, check.jsonPath.equals)) {
      return fail(
        `${check.jsonPath.path} is ${JSON.stringify(found) ?? 'missing'}, not ${JSON.stringify(check.jsonPath.equals)}`,
      );
    }
  }
  return { outcome: 'ok', value: latencyMs, detail: answered };
}
