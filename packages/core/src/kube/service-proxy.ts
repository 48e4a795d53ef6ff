/**
 * Requests through the API server's Service proxy (`services/<name>/proxy/...`), the way a runner
 * with no network path into the cluster reaches an in-cluster HTTP endpoint with the kubeconfig
 * alone. The answer is whatever the Service answers, not Kubernetes JSON, so these requests are
 * made with a plain HTTP client rather than `kube.request`, carrying the kubeconfig's credentials.
 * Used by http checks (`via: service-proxy`) and by Prometheus queries (`prometheus-via: kubernetes`).
 */
import type { Agent as HttpsAgent, RequestOptions } from 'node:https';
import type { Kube } from './kube.js';

export interface ProxiedService {
  namespace: string;
  name: string;
  /** Port name or number; the Service's first port when absent. */
  port?: string;
  /** `https` makes the API server speak TLS to the endpoint; plain HTTP when absent. */
  scheme?: 'http' | 'https';
}

/** `/api/v1/namespaces/<ns>/services/[<scheme>:]<name>[:<port>]/proxy`, without a trailing slash. */
export function serviceProxyBase(service: ProxiedService): string {
  const parts = [
    ...(service.scheme ? [service.scheme] : []),
    encodeURIComponent(service.name),
    ...(service.port ? [encodeURIComponent(service.port)] : []),
  ];
  return `/api/v1/namespaces/${encodeURIComponent(service.namespace)}/services/${parts.join(':')}/proxy`;
}

export interface KubeApiTarget {
  url: string;
  /** The kubeconfig's credentials (Authorization, or none for a client certificate). */
  headers: Record<string, string>;
  /** The kubeconfig's CA and client certificate, for an https API server. */
  httpsAgent?: HttpsAgent;
}

/**
 * URL, credential headers and TLS agent for one request to the API server at `path`. Computed
 * per request, not once: token files and exec plugins (EKS, GKE) renew credentials as they expire.
 */
export async function kubeApiTarget(kube: Kube, path: string): Promise<KubeApiTarget> {
  const options: RequestOptions = {};
  await kube.kc.applyToHTTPSOptions(options);
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.headers ?? {}))
    if (value !== undefined) headers[key] = String(value);
  if (options.auth) headers.Authorization = `Basic ${Buffer.from(options.auth).toString('base64')}`;
  return {
    url: `${kube.server.replace(/\/+$/, '')}${path}`,
    headers,
    ...(options.agent instanceof Object ? { httpsAgent: options.agent as HttpsAgent } : {}),
  };
}
