/**
 * The data plane lags the API (src/cluster/data-plane.ts): after a Service selector change the
 * load generator's requests keep reaching the old pods until every node's kube-proxy has synced,
 * and after a VirtualService weight change until the mesh has pushed it; the API holds the new
 * state at once.
 *
 * Bounds: with jitter 0.5 every node applies a change between half the delay and all of it, so
 * the old version must still answer at half the delay (less 100 ms: requests are sent on 50 ms
 * ticks), which a slow machine only makes later. "Then stops" allows 700 ms past the delay for a
 * busy machine (ticks and answers arriving late), and is checked again over a quiet second after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DataPlaneTimings } from '../src/cluster/data-plane.js';
import type { KubeObject } from '../src/store.js';
import {
  deployment,
  FAST,
  service,
  startWorld,
  T,
  waitFor,
  waitForRollout,
  type World,
} from './cluster-helpers.js';

const LATE_MS = 700;

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

async function twoVersions(dataPlane: DataPlaneTimings): Promise<World> {
  world = await startWorld({ rps: 150, timings: { ...FAST, dataPlane } });
  const { store } = world;
  store.create(T.deployments, deployment('app-v1', { replicas: 2, version: 'v1', labels: { app: 'app' } }));
  store.create(T.deployments, deployment('app-v2', { replicas: 2, version: 'v2', labels: { app: 'app' } }));
  await waitForRollout(store, 'app-v1');
  await waitForRollout(store, 'app-v2');
  return world;
}

function requests(w: World, svc: string, version: string): number {
  return w.cluster.traffic.stats('demo', svc)[version]?.requests ?? 0;
}

interface Switch {
  /** ms from the write to the old version's last request, and to the new version's first. */
  lastOld: number;
  firstNew: number;
  /** Old-version requests in the quiet second after the last was seen settle. */
  oldAfter: number;
  errors: number;
}

/** Makes `write` once traffic flows to `from`, then watches which version answers, every 10 ms. */
async function measureSwitch(
  w: World,
  svc: string,
  from: string,
  to: string,
  write: () => void,
): Promise<Switch> {
  await waitFor(w.store, () => requests(w, svc, from) > 20, `traffic on ${from}`);
  w.cluster.traffic.reset();
  const started = performance.now();
  write();
  let lastOld = 0;
  let firstNew: number | undefined;
  let old = 0;
  // Watch until the new version has had the route to itself for a while.
  while (performance.now() - started < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = performance.now() - started;
    const seenOld = requests(w, svc, from);
    if (seenOld > old) lastOld = now;
    old = seenOld;
    if (firstNew === undefined && requests(w, svc, to) > 0) firstNew = now;
    if (firstNew !== undefined && now - lastOld > 1500) break;
  }
  const settled = requests(w, svc, from);
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const stats = w.cluster.traffic.stats('demo', svc);
  return {
    lastOld,
    firstNew: firstNew ?? Infinity,
    oldAfter: requests(w, svc, from) - settled,
    errors: Object.values(stats).reduce((n, s) => n + s.errors, 0) + (stats.none?.requests ?? 0),
  };
}

function endpointPods(w: World, name: string): string[] {
  const ep = w.store.get(T.endpoints, 'demo', name);
  return ((ep?.subsets ?? []) as { addresses?: { targetRef?: { name?: string } }[] }[])
    .flatMap((s) => s.addresses ?? [])
    .map((a) => a.targetRef?.name ?? '');
}

describe('data plane propagation delay', () => {
  it('after a Service selector change, requests reach the old pods for about kubeProxyMs, then stop', async () => {
    const kubeProxyMs = 1200;
    const w = await twoVersions({ kubeProxyMs, meshPushMs: 100, nodes: 3, jitter: 0.5 });
    w.store.create(T.services, service('app', { app: 'app', version: 'v1' }));
    let wroteAt = 0;
    let apiSwitchedAt: number | undefined;
    const unwatch = w.store.watch(T.endpoints, 'demo', undefined, () => {
      const pods = endpointPods(w, 'app');
      if (
        wroteAt &&
        apiSwitchedAt === undefined &&
        pods.length > 0 &&
        pods.every((p) => p.startsWith('app-v2'))
      )
        apiSwitchedAt = performance.now() - wroteAt;
    });
    const seen = await measureSwitch(w, 'app', 'v1', 'v2', () => {
      wroteAt = performance.now();
      const svc = w.store.mustGet(T.services, 'demo', 'app');
      w.store.update(T.services, {
        ...svc,
        spec: { ...(svc.spec as object), selector: { app: 'app', version: 'v2' } },
      });
    });
    unwatch();
    // The API (Endpoints) follows at once; the traffic only once the nodes have synced.
    expect(endpointPods(w, 'app').every((p) => p.startsWith('app-v2'))).toBe(true);
    expect(seen.lastOld).toBeGreaterThanOrEqual(kubeProxyMs / 2 - 100);
    expect(seen.firstNew).toBeGreaterThanOrEqual(kubeProxyMs / 2 - 100);
    expect(seen.lastOld).toBeLessThanOrEqual(kubeProxyMs + LATE_MS);
    expect(seen.oldAfter).toBe(0);
    expect(seen.errors).toBe(0);
    expect(apiSwitchedAt ?? Infinity).toBeLessThan(seen.lastOld);
  });

  it('after a VirtualService weight change, requests follow the old weights for about meshPushMs, not kubeProxyMs', async () => {
    const meshPushMs = 600;
    const w = await twoVersions({ kubeProxyMs: 5000, meshPushMs, nodes: 3, jitter: 0.5 });
    w.store.create(T.services, service('app', { app: 'app' }));
    w.store.create(T.destinationrules, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'app', namespace: 'demo' },
      spec: {
        host: 'app',
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' } },
        ],
      },
    });
    const routeTo = (v1: number, v2: number): KubeObject['spec'] => ({
      hosts: ['app'],
      http: [
        {
          route: [
            { destination: { host: 'app', subset: 'v1' }, weight: v1 },
            { destination: { host: 'app', subset: 'v2' }, weight: v2 },
          ],
        },
      ],
    });
    w.store.create(T.virtualservices, {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'app', namespace: 'demo' },
      spec: routeTo(100, 0),
    });
    const seen = await measureSwitch(w, 'app', 'v1', 'v2', () => {
      const vs = w.store.mustGet(T.virtualservices, 'demo', 'app');
      w.store.update(T.virtualservices, { ...vs, spec: routeTo(0, 100) });
    });
    expect(seen.lastOld).toBeGreaterThanOrEqual(meshPushMs / 2 - 100);
    expect(seen.firstNew).toBeGreaterThanOrEqual(meshPushMs / 2 - 100);
    // Well before the slowest kube-proxy could have synced: the mesh's delay, not kube-proxy's.
    expect(seen.lastOld).toBeLessThanOrEqual(meshPushMs + LATE_MS);
    expect(seen.oldAfter).toBe(0);
    expect(seen.errors).toBe(0);
  });
});
