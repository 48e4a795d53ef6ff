import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DATA_PLANE_DEFAULTS } from '../src/cluster/data-plane.js';
import { RoutingSnapshot } from '../src/cluster/routing.js';
import { HEADER_SHARE } from '../src/cluster/traffic.js';
import type { KubeObject } from '../src/store.js';
import {
  deployment,
  service,
  startWorld,
  T,
  waitFor,
  waitForRollout,
  type World,
} from './cluster-helpers.js';

/**
 * Steady-state splits. Tolerance: the observed share of a version must be within ±8
 * percentage points of the configured weight over at least 400 requests (one standard error
 * at a 20% share is 2 points there, so ±8 is 4 sigma: a real routing bug fails, noise does not).
 */
const TOLERANCE = 0.08;
const SAMPLE = 400;

let world: World;
beforeEach(async () => {
  world = await startWorld({ rps: 200 });
});
afterEach(async () => {
  await world.stop();
});

function shares(counts: Record<string, number>): Record<string, number> {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v / total]));
}

/** Resets the stats, then waits until the given services together saw `SAMPLE` requests. */
async function observe(services: string[], sample = SAMPLE): Promise<Record<string, number>> {
  world.cluster.traffic.reset();
  return waitFor(
    world.store,
    () => {
      const counts: Record<string, number> = {};
      for (const svc of services) {
        for (const [version, s] of Object.entries(world.cluster.traffic.stats('demo', svc))) {
          counts[`${svc}:${version}`] = (counts[`${svc}:${version}`] ?? 0) + s.requests;
        }
      }
      return Object.values(counts).reduce((a, b) => a + b, 0) >= sample ? counts : undefined;
    },
    `${sample} requests to ${services.join(', ')}`,
  );
}

async function twoVersions(): Promise<void> {
  const { store } = world;
  store.create(T.deployments, deployment('app-v1', { replicas: 2, version: 'v1', labels: { app: 'app' } }));
  store.create(T.deployments, deployment('app-v2', { replicas: 1, version: 'v2', labels: { app: 'app' } }));
  await waitForRollout(store, 'app-v1');
  await waitForRollout(store, 'app-v2');
}

function destinationRule(): KubeObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: 'app', namespace: 'demo' },
    spec: {
      host: 'app.demo.svc.cluster.local',
      subsets: [
        { name: 'stable', labels: { version: 'v1' } },
        { name: 'canary', labels: { version: 'v2' } },
      ],
    },
  };
}

describe('load generator routing at steady state', () => {
  it('splits by VirtualService weights over DestinationRule subsets (80/20 ±8 points)', async () => {
    const { store } = world;
    await twoVersions();
    store.create(T.services, service('app', { app: 'app' }));
    store.create(T.destinationrules, destinationRule());
    store.create(T.virtualservices, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        hosts: ['app'],
        http: [
          {
            route: [
              { destination: { host: 'app', subset: 'stable' }, weight: 80 },
              { destination: { host: 'app', subset: 'canary' }, weight: 20 },
            ],
          },
        ],
      },
    });
    const counts = await observe(['app']);
    const s = shares(counts);
    expect(Math.abs((s['app:v1'] ?? 0) - 0.8)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs((s['app:v2'] ?? 0) - 0.2)).toBeLessThanOrEqual(TOLERANCE);
    expect(Object.keys(counts).sort()).toEqual(['app:v1', 'app:v2']);
  });

  it('routes a header match to the canary subset and the rest to stable', async () => {
    const { store } = world;
    await twoVersions();
    store.create(T.services, service('app', { app: 'app' }));
    store.create(T.destinationrules, destinationRule());
    store.create(T.virtualservices, {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        hosts: ['app.demo.svc.cluster.local'],
        http: [
          {
            match: [{ headers: { 'x-canary': { exact: 'yes' } } }],
            route: [{ destination: { host: 'app', subset: 'canary' } }],
          },
          { route: [{ destination: { host: 'app', subset: 'stable' }, weight: 100 }] },
        ],
      },
    });
    // Only the share of generated requests that carry the matched header reaches the canary.
    const s = shares(await observe(['app']));
    expect(Math.abs((s['app:v2'] ?? 0) - HEADER_SHARE)).toBeLessThanOrEqual(0.06);
    expect((s['app:v2'] ?? 0) > 0).toBe(true);
  });

  it('splits by HTTPRoute backendRef weights across Services (70/30 ±8 points)', async () => {
    const { store } = world;
    await twoVersions();
    store.create(T.services, service('app-stable', { app: 'app', version: 'v1' }));
    store.create(T.services, service('app-canary', { app: 'app', version: 'v2' }));
    store.create(T.httproutes, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        parentRefs: [{ name: 'gateway' }],
        rules: [
          {
            backendRefs: [
              { name: 'app-stable', port: 80, weight: 70 },
              { name: 'app-canary', port: 80, weight: 30 },
            ],
          },
        ],
      },
    });
    const s = shares(await observe(['app-stable', 'app-canary']));
    expect(Math.abs((s['app-stable:v1'] ?? 0) - 0.7)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs((s['app-canary:v2'] ?? 0) - 0.3)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('splits by NGINX canary-weight between the main and canary Ingress backends (30% ±8 points)', async () => {
    const { store } = world;
    await twoVersions();
    store.create(T.services, service('app-main', { app: 'app', version: 'v1' }));
    store.create(T.services, service('app-canary', { app: 'app', version: 'v2' }));
    const ingress = (
      name: string,
      backend: string,
      annotations: Record<string, string> = {},
    ): KubeObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'demo', annotations },
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: 'app.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: backend, port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
    store.create(T.ingresses, ingress('app', 'app-main'));
    store.create(
      T.ingresses,
      ingress('app-canary', 'app-canary', {
        'nginx.ingress.kubernetes.io/canary': 'true',
        'nginx.ingress.kubernetes.io/canary-weight': '30',
      }),
    );
    const s = shares(await observe(['app-main', 'app-canary']));
    expect(Math.abs((s['app-canary:v2'] ?? 0) - 0.3)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs((s['app-main:v1'] ?? 0) - 0.7)).toBeLessThanOrEqual(TOLERANCE);
  });

  it('follows a Service selector switch (blue-green)', async () => {
    const { store } = world;
    await twoVersions();
    store.create(T.services, service('app', { app: 'app', version: 'v1' }));
    const before = await observe(['app'], 200);
    expect(Object.keys(before)).toEqual(['app:v1']);
    const svc = store.mustGet(T.services, 'demo', 'app');
    (svc.spec as { selector: Record<string, string> }).selector = { app: 'app', version: 'v2' };
    store.update(T.services, svc);
    // Every node's kube-proxy syncs within kubeProxyMs (data-plane.ts), and requests already in
    // flight may still land on v1; everything sent after that goes to v2.
    await new Promise((resolve) => setTimeout(resolve, DATA_PLANE_DEFAULTS.kubeProxyMs + 100));
    const after = await observe(['app'], 200);
    expect(Object.keys(after)).toEqual(['app:v2']);
  });

  it('counts per version and code in /metrics, with errors at the configured rate', async () => {
    const { store, cluster } = world;
    store.create(
      T.deployments,
      deployment('m', {
        replicas: 2,
        version: 'v9',
        env: { SANDBOX_ERROR_RATE: '0.25', SANDBOX_LATENCY_MS: '5' },
      }),
    );
    store.create(T.services, service('m', { app: 'm' }));
    await waitForRollout(store, 'm');
    cluster.traffic.reset();
    const stats = await waitFor(
      store,
      () => {
        const s = cluster.traffic.stats('demo', 'm').v9;
        return s && s.requests >= SAMPLE ? s : undefined;
      },
      'requests',
    );
    expect(Math.abs(stats.errors / stats.requests - 0.25)).toBeLessThanOrEqual(TOLERANCE);

    const res = await fetch(cluster.metricsUrl);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toMatch(
      /^http_requests_total\{namespace="demo",service="m",version="v9",pod="m-[a-z0-9]+-[a-z0-9]{5}",code="500"\} \d+$/m,
    );
    expect(text).toMatch(
      /^http_requests_total\{namespace="demo",service="m",version="v9",pod="m-[a-z0-9]+-[a-z0-9]{5}",code="200"\} \d+$/m,
    );
    expect(text).toMatch(
      /^http_request_duration_seconds_bucket\{namespace="demo",service="m",version="v9",le="0\.005"\} \d+$/m,
    );
    expect(text).toMatch(
      /^http_request_duration_seconds_bucket\{namespace="demo",service="m",version="v9",le="\+Inf"\} \d+$/m,
    );
    expect(text).toMatch(
      /^http_request_duration_seconds_count\{namespace="demo",service="m",version="v9"\} \d+$/m,
    );
    expect(text).toMatch(
      /^container_cpu_usage_seconds_total\{namespace="demo",pod="m-[^"]+",container="app"\} [\d.e-]+$/m,
    );
    expect(text).toMatch(
      /^container_memory_working_set_bytes\{namespace="demo",pod="m-[^"]+",container="app"\} \d+$/m,
    );
    expect(text).toContain('kube_deployment_spec_replicas{namespace="demo",deployment="m"} 2');
    expect(text).toContain('kube_deployment_status_replicas{namespace="demo",deployment="m"} 2');
    expect(text).toContain('kube_deployment_status_replicas_available{namespace="demo",deployment="m"} 2');
    expect(text).toMatch(
      /^kube_pod_container_status_restarts_total\{namespace="demo",pod="m-[^"]+",container="app"\} 0$/m,
    );
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('answers 503 on a route whose subset has no ready pods, as a proxy would', async () => {
    const { store, cluster } = world;
    store.create(T.deployments, deployment('app-v1', { replicas: 1, version: 'v1', labels: { app: 'app' } }));
    await waitForRollout(store, 'app-v1');
    store.create(T.services, service('app', { app: 'app' }));
    store.create(T.destinationrules, destinationRule());
    store.create(T.virtualservices, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        hosts: ['app'],
        http: [
          {
            route: [
              { destination: { host: 'app', subset: 'stable' }, weight: 50 },
              { destination: { host: 'app', subset: 'canary' }, weight: 50 },
            ],
          },
        ],
      },
    });
    cluster.traffic.reset();
    const stats = await waitFor(
      store,
      () => {
        const s = cluster.traffic.stats('demo', 'app');
        return (s.none?.requests ?? 0) + (s.v1?.requests ?? 0) >= 200 ? s : undefined;
      },
      'requests',
    );
    expect(stats.none?.errors).toBe(stats.none?.requests);
    expect(
      Math.abs((stats.none?.requests ?? 0) / ((stats.none?.requests ?? 0) + (stats.v1?.requests ?? 0)) - 0.5),
    ).toBeLessThan(0.15);
  });
});

describe('routing decisions (pure)', () => {
  const svc = (name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'ns' },
    spec: {},
  });
  const empty = {
    endpoints: [],
    pods: [],
    destinationRules: [],
    httpRoutes: [],
    ingresses: [],
    virtualServices: [],
  };
  const always = () => 0;

  it('matches Istio headers exactly, by prefix and by regex (full match)', () => {
    const snapshot = new RoutingSnapshot({
      ...empty,
      services: [svc('app'), svc('a'), svc('b'), svc('c')],
      virtualServices: [
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'app', namespace: 'ns' },
          spec: {
            hosts: ['app'],
            http: [
              {
                match: [{ headers: { 'X-User': { exact: 'alice' } } }],
                route: [{ destination: { host: 'a' } }],
              },
              {
                match: [{ headers: { 'x-user': { prefix: 'bo' } } }],
                route: [{ destination: { host: 'b.ns.svc.cluster.local' } }],
              },
              {
                match: [{ headers: { 'x-user': { regex: 'c[0-9]+' } } }],
                route: [{ destination: { host: 'c.ns' } }],
              },
              { route: [{ destination: { host: 'app' } }] },
            ],
          },
        },
      ],
    });
    const [flow] = snapshot.flows;
    const route = (headers: Record<string, string>) => {
      const d = flow!.route({ path: '/', headers }, always);
      return 'backend' in d ? d.backend.service : d.status;
    };
    expect(snapshot.flows).toHaveLength(1); // a, b and c are route targets, not entry points
    expect(route({ 'x-user': 'alice' })).toBe('a');
    expect(route({ 'x-user': 'bob' })).toBe('b');
    expect(route({ 'x-user': 'c42' })).toBe('c');
    expect(route({ 'x-user': 'xc42' })).toBe('app');
    expect(route({})).toBe('app');
    expect(flow!.headerProfiles).toEqual([{ 'x-user': 'alice' }, { 'x-user': 'bouser' }, { 'x-user': 'c0' }]);
  });

  it('applies HTTPRoute header matches before the weighted default and NGINX canary-by-header', () => {
    const snapshot = new RoutingSnapshot({
      ...empty,
      services: [svc('stable'), svc('canary'), svc('main'), svc('cn')],
      httpRoutes: [
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'r', namespace: 'ns' },
          spec: {
            rules: [
              {
                matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }],
                backendRefs: [{ name: 'canary', port: 80 }],
              },
              {
                backendRefs: [
                  { name: 'stable', port: 80, weight: 100 },
                  { name: 'canary', port: 80, weight: 0 },
                ],
              },
            ],
          },
        },
      ],
      ingresses: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'main', namespace: 'ns' },
          spec: { defaultBackend: { service: { name: 'main' } } },
        },
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: {
            name: 'cn',
            namespace: 'ns',
            annotations: {
              'nginx.ingress.kubernetes.io/canary': 'true',
              'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
              'nginx.ingress.kubernetes.io/canary-weight': '100',
            },
          },
          spec: { defaultBackend: { service: { name: 'cn' } } },
        },
      ],
    });
    const pick = (id: string, headers: Record<string, string>, random = Math.random) => {
      const d = snapshot.flows.find((f) => f.id.startsWith(id))!.route({ path: '/', headers }, random);
      return 'backend' in d ? d.backend.service : d.status;
    };
    expect(pick('httproute', { 'x-canary': 'true' })).toBe('canary');
    for (let i = 0; i < 20; i++) expect(pick('httproute', {})).toBe('stable');
    expect(pick('ingress', { 'x-canary': 'never' })).toBe('main');
    expect(pick('ingress', { 'x-canary': 'always' })).toBe('cn');
    expect(pick('ingress', {}, () => 0.5)).toBe('cn'); // weight 100 without a header decision
    expect(snapshot.flows.map((f) => f.id).sort()).toEqual(['httproute:ns/r', 'ingress:ns/main']);
  });
});
