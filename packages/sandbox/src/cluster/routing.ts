/**
 * Where a request goes, decided from the cluster objects as the data planes would: Service
 * selectors and Endpoints, Istio VirtualService + DestinationRule subsets, Gateway API
 * HTTPRoute, NGINX canary Ingress. Pure: built from a snapshot of objects, no I/O. A node's
 * kube-proxy and its mesh proxies may hold different snapshots (data-plane.ts): a Service entered
 * directly is sent by kube-proxy's, a route by the mesh's.
 */
import type { KubeObject } from '../store.js';
import { podVersion } from './util.js';

export interface RouteRequest {
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
}

export interface Backend {
  namespace: string;
  service: string;
  /** DestinationRule subset labels the pod must also carry. */
  subsetLabels?: Record<string, string>;
  subset?: string;
}

export type Decision = { backend: Backend } | { status: number; reason: string; service?: string };

/** Who sends a flow's requests: kube-proxy (a Service entered directly) or a mesh/ingress proxy (a route). */
export type Sender = 'kube-proxy' | 'mesh';

export interface Flow {
  id: string;
  namespace: string;
  sender: Sender;
  /** The Service (else the routing object) requests enter by; metrics label unroutable ones with it. */
  entry: string;
  /** Every Service this flow can send to, to tell whether it has anything ready. */
  backends: Backend[];
  /** Header sets that some route of this flow matches on; the load generator sends some of each. */
  headerProfiles: Record<string, string>[];
  route(request: RouteRequest, random: () => number): Decision;
}

export interface ReadyEndpoint {
  pod: string;
  port: number;
  version: string;
  labels: Record<string, string>;
}

export interface RoutingObjects {
  services: KubeObject[];
  endpoints: KubeObject[];
  pods: KubeObject[];
  virtualServices: KubeObject[];
  destinationRules: KubeObject[];
  httpRoutes: KubeObject[];
  ingresses: KubeObject[];
}

interface StringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

function matchString(match: StringMatch | undefined, value: string | undefined): boolean {
  if (!match) return true;
  if (value === undefined) return false;
  if (match.exact !== undefined) return value === match.exact;
  if (match.prefix !== undefined) return value.startsWith(match.prefix);
  if (match.regex !== undefined) return fullRegex(match.regex).test(value);
  return true;
}

function fullRegex(source: string): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return /$^/;
  }
}

/** A string a simple regex accepts: classes become their first character, quantifiers go. */
function regexSample(source: string): string {
  return (
    source
      .replace(/^\^|\$$/g, '')
      .replace(/\[(\^?)(\\?.)[^\]]*\]/g, (_m, negated: string, first: string) =>
        negated ? 'x' : first.replace('\\', ''),
      )
      .replace(/\\d/g, '0')
      .replace(/\\w/g, 'a')
      .replace(/\\s/g, ' ')
      .replace(/(^|[^\\])\./g, '$1x')
      .replace(/\{\d+(,\d*)?\}|[*?+]/g, '')
      .replace(/\((?:\?:)?([^|)]*)(\|[^)]*)?\)/g, '$1')
      .split('|')[0] ?? ''
  ).replace(/\\(.)/g, '$1');
}

/** A value a match accepts, for synthetic traffic; undefined when no simple one is found. */
function sampleFor(match: StringMatch): string | undefined {
  if (match.exact !== undefined) return match.exact;
  if (match.prefix !== undefined) return `${match.prefix}user`;
  if (match.regex !== undefined) {
    const re = fullRegex(match.regex);
    for (const candidate of [regexSample(match.regex), 'true', 'always', 'canary', '1', 'yes']) {
      if (re.test(candidate)) return candidate;
    }
  }
  return undefined;
}

function pickWeighted<T>(items: { item: T; weight: number }[], random: () => number): T | undefined {
  const total = items.reduce((sum, i) => sum + Math.max(0, i.weight), 0);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const i of items) {
    if (i.weight <= 0) continue;
    point -= i.weight;
    if (point < 0) return i.item;
  }
  return items.filter((i) => i.weight > 0).at(-1)?.item;
}

export class RoutingSnapshot {
  private readonly services = new Map<string, KubeObject>();
  private readonly ready: Map<string, ReadyEndpoint[]>;
  private readonly roundRobin = new Map<string, number>();
  readonly flows: Flow[] = [];

  constructor(private readonly objects: RoutingObjects) {
    for (const svc of objects.services)
      this.services.set(`${svc.metadata.namespace}/${svc.metadata.name}`, svc);
    this.ready = readyByService(objects);
    this.buildFlows();
  }

  /** Ready pods behind a Service (and subset), from its Endpoints. */
  readyEndpoints(backend: Backend): ReadyEndpoint[] {
    const all = this.ready.get(`${backend.namespace}/${backend.service}`) ?? [];
    const subset = backend.subsetLabels;
    if (!subset) return all;
    return all.filter((e) => Object.entries(subset).every(([k, v]) => e.labels[k] === v));
  }

  /** Round-robin over the ready pods of a backend. */
  pick(backend: Backend): ReadyEndpoint | undefined {
    const ready = this.readyEndpoints(backend);
    if (ready.length === 0) return undefined;
    const key = `${backend.namespace}/${backend.service}/${backend.subset ?? ''}`;
    const next = (this.roundRobin.get(key) ?? 0) % ready.length;
    this.roundRobin.set(key, next + 1);
    return ready[next];
  }

  /** `app`, `app.ns`, `app.ns.svc`, `app.ns.svc.cluster.local` → the Service, if it exists. */
  resolveHost(host: string | undefined, namespace: string): Backend | undefined {
    if (!host) return undefined;
    const trimmed = host.replace(/\.svc(\.cluster\.local)?$/, '');
    const parts = trimmed.split('.');
    const [service, ns] =
      parts.length === 1
        ? [parts[0], namespace]
        : parts.length === 2
          ? [parts[0], parts[1]]
          : [undefined, undefined];
    if (!service || !ns || !this.services.has(`${ns}/${service}`)) return undefined;
    return { namespace: ns, service };
  }

  private subsetLabels(backend: Backend, subset: string): Record<string, string> | undefined {
    for (const dr of this.objects.destinationRules) {
      const spec = (dr.spec ?? {}) as {
        host?: string;
        subsets?: { name?: string; labels?: Record<string, string> }[];
      };
      const target = this.resolveHost(spec.host, dr.metadata.namespace ?? '');
      if (!target || target.namespace !== backend.namespace || target.service !== backend.service) continue;
      const found = spec.subsets?.find((s) => s.name === subset);
      if (found) return found.labels ?? {};
    }
    return undefined;
  }

  private buildFlows(): void {
    const covered = new Set<string>();
    const hosted = new Set<string>();
    const key = (b: Backend) => `${b.namespace}/${b.service}`;

    for (const vs of this.objects.virtualServices) {
      const entry = ((vs.spec as { hosts?: string[] } | undefined)?.hosts ?? [])
        .map((h) => this.resolveHost(h, vs.metadata.namespace ?? ''))
        .find((b) => b !== undefined);
      const flow = this.virtualServiceFlow(vs, entry?.service ?? vs.metadata.name ?? '');
      if (entry && hosted.has(key(entry))) continue; // one VirtualService per host, the first by name
      if (entry) hosted.add(key(entry));
      for (const b of flow.backends) covered.add(key(b));
      this.flows.push(flow);
    }
    for (const route of this.objects.httpRoutes) {
      const flow = this.httpRouteFlow(route);
      for (const b of flow.backends) covered.add(key(b));
      this.flows.push(flow);
    }
    const ingresses = this.objects.ingresses;
    for (const ing of ingresses.filter((i) => !isCanary(i))) {
      const flow = this.ingressFlow(ing, ingresses.filter(isCanary));
      if (!flow) continue;
      for (const b of flow.backends) covered.add(key(b));
      this.flows.push(flow);
    }
    for (const svc of this.objects.services) {
      const backend = { namespace: svc.metadata.namespace ?? '', service: svc.metadata.name ?? '' };
      if (covered.has(key(backend)) || hosted.has(key(backend))) continue;
      this.flows.push({
        id: `service:${key(backend)}`,
        namespace: backend.namespace,
        sender: 'kube-proxy',
        entry: backend.service,
        backends: [backend],
        headerProfiles: [],
        route: () => ({ backend }),
      });
    }
  }

  private virtualServiceFlow(vs: KubeObject, entry: string): Flow {
    const namespace = vs.metadata.namespace ?? '';
    interface IstioMatch {
      headers?: Record<string, StringMatch>;
      uri?: StringMatch;
    }
    interface IstioRoute {
      match?: IstioMatch[];
      route?: { destination?: { host?: string; subset?: string }; weight?: number }[];
    }
    const rules = (vs.spec as { http?: IstioRoute[] } | undefined)?.http ?? [];
    const resolve = (
      dest: { host?: string; subset?: string } | undefined,
    ): Backend | { status: number; reason: string } => {
      const backend = this.resolveHost(dest?.host, namespace);
      if (!backend) return { status: 503, reason: `no Service for host ${dest?.host ?? ''}` };
      if (!dest?.subset) return backend;
      const labels = this.subsetLabels(backend, dest.subset);
      if (!labels) return { status: 503, reason: `no subset ${dest.subset} for ${backend.service}` };
      return { ...backend, subset: dest.subset, subsetLabels: labels };
    };
    const backends: Backend[] = [];
    const headerProfiles: Record<string, string>[] = [];
    for (const rule of rules) {
      for (const r of rule.route ?? []) {
        const b = resolve(r.destination);
        if ('service' in b) backends.push(b);
      }
      for (const m of rule.match ?? []) {
        const profile = headerProfile(m.headers);
        if (profile) headerProfiles.push(profile);
      }
    }
    return {
      id: `virtualservice:${namespace}/${vs.metadata.name}`,
      namespace,
      sender: 'mesh',
      entry,
      backends,
      headerProfiles,
      route: (request, random) => {
        const rule = rules.find(
          (r) =>
            !r.match ||
            r.match.length === 0 ||
            r.match.some(
              (m) =>
                matchString(m.uri, request.path) &&
                Object.entries(m.headers ?? {}).every(([name, sm]) =>
                  matchString(sm, request.headers[name.toLowerCase()]),
                ),
            ),
        );
        if (!rule) return { status: 404, reason: 'no route matched' };
        const routes = rule.route ?? [];
        const weighted = routes.map((r) => ({
          item: r.destination,
          weight: r.weight ?? (routes.every((x) => x.weight === undefined) ? 1 : 0),
        }));
        const chosen = routes.length === 1 ? routes[0]?.destination : pickWeighted(weighted, random);
        if (!chosen) return { status: 503, reason: 'no destination with weight' };
        const b = resolve(chosen);
        return 'service' in b ? { backend: b } : b;
      },
    };
  }

  private httpRouteFlow(route: KubeObject): Flow {
    const namespace = route.metadata.namespace ?? '';
    interface HeaderMatch {
      type?: string;
      name: string;
      value: string;
    }
    interface RouteMatch {
      path?: { type?: string; value?: string };
      headers?: HeaderMatch[];
    }
    interface Rule {
      matches?: RouteMatch[];
      backendRefs?: { name: string; namespace?: string; kind?: string; weight?: number }[];
    }
    const rules = (route.spec as { rules?: Rule[] } | undefined)?.rules ?? [];
    const toBackend = (ref: { name: string; namespace?: string }): Backend => ({
      namespace: ref.namespace ?? namespace,
      service: ref.name,
    });
    const backends = rules.flatMap((r) =>
      (r.backendRefs ?? []).filter((ref) => (ref.kind ?? 'Service') === 'Service').map(toBackend),
    );
    const headerProfiles = rules.flatMap((r) =>
      (r.matches ?? []).flatMap((m) => {
        const profile: Record<string, string> = {};
        for (const h of m.headers ?? []) {
          const sample = sampleFor(h.type === 'RegularExpression' ? { regex: h.value } : { exact: h.value });
          if (sample === undefined) return [];
          profile[h.name.toLowerCase()] = sample;
        }
        return Object.keys(profile).length ? [profile] : [];
      }),
    );
    const matchesRequest = (m: RouteMatch, request: RouteRequest): boolean => {
      const type = m.path?.type ?? 'PathPrefix';
      const value = m.path?.value ?? '/';
      const pathOk =
        type === 'Exact'
          ? request.path === value
          : type === 'RegularExpression'
            ? fullRegex(value).test(request.path)
            : value === '/' ||
              request.path === value ||
              request.path.startsWith(`${value.replace(/\/$/, '')}/`);
      if (!pathOk) return false;
      return (m.headers ?? []).every((h) => {
        const got = request.headers[h.name.toLowerCase()];
        if (got === undefined) return false;
        return h.type === 'RegularExpression' ? new RegExp(h.value).test(got) : got === h.value;
      });
    };
    return {
      id: `httproute:${namespace}/${route.metadata.name}`,
      namespace,
      sender: 'mesh',
      entry: route.metadata.name ?? '',
      backends,
      headerProfiles,
      route: (request, random) => {
        // Gateway API precedence, simplified: more header matches first, then the longer path.
        let best: { rule: Rule; score: number } | undefined;
        for (const rule of rules) {
          for (const m of rule.matches?.length ? rule.matches : [{}]) {
            if (!matchesRequest(m, request)) continue;
            const score = (m.headers?.length ?? 0) * 10_000 + (m.path?.value?.length ?? 1);
            if (!best || score > best.score) best = { rule, score };
          }
        }
        if (!best) return { status: 404, reason: 'no route matched' };
        const refs = (best.rule.backendRefs ?? []).filter((ref) => (ref.kind ?? 'Service') === 'Service');
        const chosen = pickWeighted(
          refs.map((ref) => ({ item: ref, weight: ref.weight ?? 1 })),
          random,
        );
        if (!chosen) return { status: 500, reason: 'no backend with weight' };
        return { backend: toBackend(chosen) };
      },
    };
  }

  private ingressFlow(primary: KubeObject, canaries: KubeObject[]): Flow | undefined {
    const namespace = primary.metadata.namespace ?? '';
    const main = ingressBackend(primary);
    if (!main) return undefined;
    const canary = canaries.find(
      (c) =>
        c.metadata.namespace === namespace && ingressHost(c) === ingressHost(primary) && ingressBackend(c),
    );
    const mainBackend = { namespace, service: main };
    const canaryName = canary ? ingressBackend(canary) : undefined;
    const canaryBackend = canaryName ? { namespace, service: canaryName } : undefined;
    const a = canary?.metadata.annotations ?? {};
    const prefix = 'nginx.ingress.kubernetes.io/';
    const byHeader = a[`${prefix}canary-by-header`]?.toLowerCase();
    const headerValue = a[`${prefix}canary-by-header-value`];
    const headerPattern = a[`${prefix}canary-by-header-pattern`];
    const weight = Number(a[`${prefix}canary-weight`] ?? 0) || 0;
    const weightTotal = Number(a[`${prefix}canary-weight-total`] ?? 100) || 100;
    const headerProfiles: Record<string, string>[] = [];
    if (canaryBackend && byHeader) {
      const sample = headerValue ?? (headerPattern ? sampleFor({ regex: headerPattern }) : 'always');
      if (sample !== undefined) headerProfiles.push({ [byHeader]: sample });
    }
    return {
      id: `ingress:${namespace}/${primary.metadata.name}`,
      namespace,
      sender: 'mesh',
      entry: main,
      backends: canaryBackend ? [mainBackend, canaryBackend] : [mainBackend],
      headerProfiles,
      route: (request, random) => {
        if (!canaryBackend) return { backend: mainBackend };
        // NGINX precedence: canary-by-header, then (cookie, unsupported here) then canary-weight.
        if (byHeader) {
          const got = request.headers[byHeader];
          if (headerValue !== undefined) {
            if (got === headerValue) return { backend: canaryBackend };
          } else if (headerPattern !== undefined) {
            if (got !== undefined && new RegExp(headerPattern).test(got)) return { backend: canaryBackend };
          } else if (got === 'always') return { backend: canaryBackend };
          else if (got === 'never') return { backend: mainBackend };
        }
        return { backend: random() * weightTotal < weight ? canaryBackend : mainBackend };
      },
    };
  }
}

function headerProfile(headers: Record<string, StringMatch> | undefined): Record<string, string> | undefined {
  if (!headers || Object.keys(headers).length === 0) return undefined;
  const profile: Record<string, string> = {};
  for (const [name, match] of Object.entries(headers)) {
    const sample = sampleFor(match);
    if (sample === undefined) return undefined;
    profile[name.toLowerCase()] = sample;
  }
  return profile;
}

function isCanary(ing: KubeObject): boolean {
  return ing.metadata.annotations?.['nginx.ingress.kubernetes.io/canary'] === 'true';
}

interface IngressSpec {
  defaultBackend?: { service?: { name?: string } };
  rules?: { host?: string; http?: { paths?: { backend?: { service?: { name?: string } } }[] } }[];
}

function ingressHost(ing: KubeObject): string {
  return ((ing.spec ?? {}) as IngressSpec).rules?.[0]?.host ?? '';
}

function ingressBackend(ing: KubeObject): string | undefined {
  const spec = (ing.spec ?? {}) as IngressSpec;
  return spec.rules?.[0]?.http?.paths?.[0]?.backend?.service?.name ?? spec.defaultBackend?.service?.name;
}

/** Ready pods per Service (`namespace/name`), from the Endpoints and the pods they name. */
function readyByService(objects: Pick<RoutingObjects, 'endpoints' | 'pods'>): Map<string, ReadyEndpoint[]> {
  const podsByName = new Map<string, KubeObject>();
  for (const pod of objects.pods) podsByName.set(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
  const ready = new Map<string, ReadyEndpoint[]>();
  for (const ep of objects.endpoints)
    ready.set(`${ep.metadata.namespace}/${ep.metadata.name}`, readyOf(ep, podsByName));
  return ready;
}

function readyOf(ep: KubeObject, podsByName: Map<string, KubeObject>): ReadyEndpoint[] {
  const subsets = (ep.subsets ?? []) as {
    addresses?: { targetRef?: { name?: string } }[];
    ports?: { port?: number }[];
  }[];
  const out: ReadyEndpoint[] = [];
  for (const subset of subsets) {
    const port = subset.ports?.[0]?.port;
    if (!port) continue;
    for (const address of subset.addresses ?? []) {
      const podName = address.targetRef?.name;
      const pod = podName ? podsByName.get(`${ep.metadata.namespace}/${podName}`) : undefined;
      if (!pod || !podName) continue;
      out.push({ pod: podName, port, version: podVersion(pod), labels: pod.metadata.labels ?? {} });
    }
  }
  return out.sort((a, b) => a.pod.localeCompare(b.pod));
}
