/**
 * How the actions reach Prometheus from a runner: credentials (a bearer token, basic auth, extra
 * headers), a CA bundle, and optionally the API server's Service proxy to an in-cluster
 * Prometheus with the kubeconfig the action already has (`via: kubernetes`).
 *
 * The access belongs to one Prometheus: the origin (scheme, host, port) of the main
 * `prometheus-url`. A check that names a Prometheus of its own at another origin is queried
 * directly with none of it. Credentials are handed to whoever the URL names, so sending them to
 * every URL a `checks` list mentions would let one edited check (or a copied example) carry the
 * production token to a host the token was never meant for; and a CA or the Service proxy chosen
 * for one Prometheus says nothing about another.
 */
import type { Kube } from '../kube/kube.js';
import type { ProxiedService } from '../kube/service-proxy.js';

export interface PrometheusAccess {
  bearerToken?: string;
  basicAuth?: { username: string; password: string };
  /** Sent with every query, e.g. `X-Scope-OrgID` for Mimir, Cortex or Thanos tenants. */
  headers: Record<string, string>;
  /** CA bundle (PEM) trusted instead of the system's, for a direct https Prometheus. */
  ca?: string;
  /** `kubernetes`: through the API server's Service proxy; the URL is the in-cluster one. */
  via: 'direct' | 'kubernetes';
  /** The client for `via: kubernetes`. */
  kube?: Kube;
}

/** No credentials, direct: what a Prometheus other than the main one gets. */
export const DIRECT_ACCESS: PrometheusAccess = Object.freeze({ headers: {}, via: 'direct' as const });

function originOf(url: string | undefined): string | undefined {
  return url !== undefined && URL.canParse(url) ? new URL(url).origin : undefined;
}

/**
 * The access for the Prometheus at `url`: the configured one when `url` has the main
 * Prometheus's origin, none otherwise (see the module comment for why).
 */
export function accessFor(
  url: string,
  main: { prometheusUrl?: string | undefined; prometheus?: PrometheusAccess | undefined },
): PrometheusAccess {
  const origin = originOf(url);
  if (!main.prometheus || origin === undefined || origin === 'null') return DIRECT_ACCESS;
  return origin === originOf(main.prometheusUrl) ? main.prometheus : DIRECT_ACCESS;
}

/** The Authorization and extra headers of every query; the extra headers never override Authorization. */
export function accessHeaders(access: PrometheusAccess): Record<string, string> {
  const headers = { ...access.headers };
  if (access.bearerToken !== undefined) headers.Authorization = `Bearer ${access.bearerToken}`;
  else if (access.basicAuth) {
    const { username, password } = access.basicAuth;
    headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  return headers;
}

/** The Service behind an in-cluster URL, and what comes after the host. */
export interface InClusterPrometheus extends Required<ProxiedService> {
  /** The URL's path without a trailing slash (`/prometheus` behind a prefix, or empty). */
  prefix: string;
  /** The URL's query string, `?…` or empty. */
  search: string;
}

export const IN_CLUSTER_FORM =
  'an in-cluster URL http(s)://<service>.<namespace>[.svc[.<cluster domain>]][:<port>][/<prefix>], e.g. http://prometheus.monitoring.svc:9090';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Reads service, namespace, port and scheme from an in-cluster Prometheus URL, the way cluster DNS
 * resolves `<service>.<namespace>.svc.cluster.local`; a reason when the URL is not of that form.
 */
export function inClusterPrometheus(url: string): InClusterPrometheus | { reason: string } {
  if (!URL.canParse(url)) return { reason: 'it is not a URL' };
  const parsed = new URL(url);
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme !== 'http' && scheme !== 'https')
    return { reason: `the scheme ${parsed.protocol} is not allowed` };
  const labels = parsed.hostname.split('.');
  const [name = '', namespace = '', svc] = labels;
  if (labels.length < 2 || !DNS_LABEL.test(name) || !DNS_LABEL.test(namespace) || /^\d+$/.test(namespace))
    return { reason: `the host "${parsed.hostname}" does not name a Service and its namespace` };
  if (labels.length > 2 && svc !== 'svc')
    return { reason: `the host "${parsed.hostname}" is not a cluster name (<service>.<namespace>.svc…)` };
  return {
    scheme,
    name,
    namespace,
    port: parsed.port || (scheme === 'https' ? '443' : '80'),
    prefix: parsed.pathname.replace(/\/+$/, ''),
    search: parsed.search,
  };
}
