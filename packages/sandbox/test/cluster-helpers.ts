/** Shared set-up for the cluster, traffic and Prometheus tests: a Store, Faults and a running cluster. */
import { Faults } from '../src/faults.js';
import { Store, type KubeObject } from '../src/store.js';
import { startCluster, type Cluster, type ClusterTimings } from '../src/cluster/index.js';
import { T } from '../src/cluster/util.js';

export { T };

export interface World {
  store: Store;
  faults: Faults;
  cluster: Cluster;
  stop(): Promise<void>;
}

export const FAST: ClusterTimings = {
  podStartMs: 30,
  readyAfterMs: 60,
  crashRestartMs: 150,
  progressCheckMs: 200,
  terminationMs: 300,
};

export async function startWorld(
  options: { rps?: number; timings?: ClusterTimings; namespaces?: string[] } = {},
): Promise<World> {
  const store = new Store();
  for (const name of options.namespaces ?? ['demo']) {
    store.create(T.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const faults = new Faults();
  const cluster = await startCluster({
    store,
    faults,
    timings: options.timings ?? FAST,
    rps: options.rps ?? 0,
  });
  return { store, faults, cluster, stop: () => cluster.stop() };
}

export interface DeploymentOptions {
  replicas?: number;
  image?: string;
  version?: string;
  env?: Record<string, string>;
  strategy?: Record<string, unknown>;
  labels?: Record<string, string>;
  extraSpec?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

export function deployment(name: string, o: DeploymentOptions = {}): KubeObject {
  const labels = { app: name, ...(o.version ? { version: o.version } : {}), ...(o.labels ?? {}) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'demo', ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: labels },
      ...(o.strategy ? { strategy: o.strategy } : {}),
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'app',
              image: o.image ?? 'example/app:1',
              ports: [{ containerPort: 8080 }],
              env: Object.entries(o.env ?? {}).map(([k, v]) => ({ name: k, value: v })),
            },
          ],
        },
      },
      ...(o.extraSpec ?? {}),
    },
  };
}

export function service(name: string, selector: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'demo' },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

/**
 * Resolves when `check` returns a value other than undefined/false, re-checking on every store
 * event and every 50 ms (some conditions change only with time); rejects at the deadline.
 */
export function waitFor<R>(
  store: Store,
  check: () => R | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<R> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      unwatch();
      clearInterval(interval);
      clearTimeout(deadline);
      fn();
    };
    const attempt = (): void => {
      if (settled) return;
      try {
        const value = check();
        if (value !== undefined && value !== false) finish(() => resolve(value));
      } catch (error) {
        finish(() => reject(error instanceof Error ? error : new Error(String(error))));
      }
    };
    const unwatch = store.watch(undefined, undefined, undefined, () => queueMicrotask(attempt));
    const interval = setInterval(attempt, 50);
    const deadline = setTimeout(
      () => finish(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))),
      timeoutMs,
    );
    attempt();
  });
}

export function getDeployment(store: Store, name: string): KubeObject {
  return store.mustGet(T.deployments, 'demo', name);
}

export function condition(
  obj: KubeObject,
  type: string,
): { status: string; reason: string; message: string } | undefined {
  return (
    (
      obj.status as
        { conditions?: { type: string; status: string; reason: string; message: string }[] } | undefined
    )?.conditions ?? []
  ).find((c) => c.type === type);
}

/** As `kubectl rollout status` decides it. */
export function rolloutDone(store: Store, name: string): boolean {
  const d = getDeployment(store, name);
  const s = (d.status ?? {}) as Record<string, number | undefined>;
  const replicas = (d.spec as { replicas?: number }).replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 1) &&
    s.updatedReplicas === replicas &&
    s.replicas === replicas &&
    s.availableReplicas === replicas &&
    condition(d, 'Progressing')?.reason === 'NewReplicaSetAvailable'
  );
}

export function waitForRollout(store: Store, name: string, timeoutMs = 10_000): Promise<true> {
  return waitFor(store, () => rolloutDone(store, name), `rollout of ${name}`, timeoutMs);
}

export function replicaSetsOf(store: Store, name: string): KubeObject[] {
  const d = getDeployment(store, name);
  return store
    .list(T.replicasets, 'demo')
    .items.filter((rs) => rs.metadata.ownerReferences?.some((r) => r.uid === d.metadata.uid));
}

/** The pods with these labels, Terminating ones too when `terminating` says so. */
export function podsOf(
  store: Store,
  labels: Record<string, string>,
  { terminating = false }: { terminating?: boolean } = {},
): KubeObject[] {
  return store
    .list(T.pods, 'demo')
    .items.filter((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v))
    .filter((p) => terminating || !p.metadata.deletionTimestamp);
}

export function isReady(pod: KubeObject): boolean {
  return condition(pod, 'Ready')?.status === 'True';
}

/** Template change: a new image (and optional version label/env). */
export function setImage(
  store: Store,
  name: string,
  image: string,
  env?: Record<string, string>,
): KubeObject {
  const d = getDeployment(store, name);
  const spec = d.spec as {
    template: { spec: { containers: { image: string; env?: { name: string; value: string }[] }[] } };
  };
  const container = spec.template.spec.containers[0]!;
  container.image = image;
  if (env) container.env = Object.entries(env).map(([k, v]) => ({ name: k, value: v }));
  return store.update(T.deployments, d);
}

export async function httpGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(3000) });
  return { status: res.status, body: await res.text() };
}
