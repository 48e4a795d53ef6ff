/**
 * The simulated cluster: controllers (Deployment, ReplicaSet, Endpoints), a kubelet running
 * real HTTP workloads, a load generator and a /metrics endpoint, all driven by Store watch
 * events. `startCluster` composes them; the API server reaches workloads through ClusterHooks.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Faults } from '../faults.js';
import type { ClusterHooks } from '../hooks.js';
import type { KubeObject, Store, StoreEvent } from '../store.js';
import type { DataPlaneTimings } from './data-plane.js';
import { DeploymentController } from './deployment-controller.js';
import { EndpointsController } from './endpoints-controller.js';
import { EventRecorder } from './events.js';
import { Kubelet } from './kubelet.js';
import { RequestMetrics } from './metrics.js';
import { WorkQueue } from './queue.js';
import { ReplicaSetController } from './replicaset-controller.js';
import { LoadGenerator } from './traffic.js';
import { isControlledBy, T } from './util.js';

export interface ClusterTimings {
  /** Pending → Running. Default 100. */
  podStartMs?: number;
  /** Readiness delay when the env gives none. Default 200. */
  readyAfterMs?: number;
  /** Back-off between crash restarts (and image pull retries). Default 300. */
  crashRestartMs?: number;
  /** Upper bound on how late a passed progress deadline is noticed. Default 1000. */
  progressCheckMs?: number;
  /** How long a deleted pod stays Terminating, still answering, before it stops (at most its grace period). Default 1000. */
  terminationMs?: number;
  /**
   * How long the load generator's traffic takes to follow a change: kube-proxy for Services and
   * Endpoints (default 1000), the mesh for routes (default 500), per node (data-plane.ts).
   */
  dataPlane?: DataPlaneTimings;
}

export interface ClusterOptions {
  store: Store;
  faults: Faults;
  timings?: ClusterTimings;
  /** Load generator requests per second per entry point (Service/route); default 20, 0 disables, capped at 200. */
  rps?: number;
}

export interface TrafficStats {
  requests: number;
  errors: number;
}

export interface Cluster extends ClusterHooks {
  /** http://127.0.0.1:<port>/metrics */
  metricsUrl: string;
  traffic: {
    /** Per version, requests the load generator sent to this Service and how many answered 5xx. */
    stats(namespace: string, service: string): Record<string, TrafficStats>;
    reset(): void;
  };
  stop(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { store, faults } = options;
  const timings = {
    podStartMs: options.timings?.podStartMs ?? 100,
    readyAfterMs: options.timings?.readyAfterMs ?? 200,
    crashRestartMs: options.timings?.crashRestartMs ?? 300,
    progressCheckMs: options.timings?.progressCheckMs ?? 1000,
    terminationMs: options.timings?.terminationMs ?? 1000,
  };
  const onError = (where: string, error: unknown): void => {
    console.error(`[sandbox cluster] ${where}:`, error);
  };
  const queue = new WorkQueue((key, error) => onError(key, error));
  const events = new EventRecorder(store);
  const kubelet = new Kubelet(store, faults, events, timings, (error) => onError('kubelet', error));
  const replicaSets = new ReplicaSetController(store, kubelet, events, queue);
  const endpoints = new EndpointsController(store, kubelet, queue);
  const deployments = new DeploymentController({
    store,
    events,
    queue,
    progressCheckMs: timings.progressCheckMs,
    hasPods: (rs) => store.list(T.pods, rs.metadata.namespace).items.some((p) => isControlledBy(p, rs)),
  });

  const kubeletKey = (pod: KubeObject) => `kubelet/${pod.metadata.namespace}/${pod.metadata.name}`;
  const onEvent = (event: StoreEvent): void => {
    const obj = event.object;
    const namespace = obj.metadata.namespace ?? '';
    const name = obj.metadata.name ?? '';
    switch (event.resource) {
      case T.pods: {
        const runtime = kubelet.runtime(namespace, name);
        // The kubelet's own status writes come back as MODIFIED; only a deletion among them concerns it.
        const newlyTerminating = obj.metadata.deletionTimestamp !== undefined && !runtime?.terminating;
        if (event.type !== 'MODIFIED' || runtime?.uid !== obj.metadata.uid || newlyTerminating) {
          queue.enqueue(kubeletKey(obj), () => kubelet.handle(event));
        }
        replicaSets.onPod(obj);
        endpoints.onPod(obj);
        // Recreate waits for the old pods to be gone, Terminating ones too: their removal is news to it.
        if (event.type === 'DELETED') {
          const owner = obj.metadata.ownerReferences?.find((r) => r.controller && r.kind === 'ReplicaSet');
          const rs = owner && store.get(T.replicasets, namespace, owner.name);
          if (rs) deployments.onReplicaSet(rs);
        }
        break;
      }
      case T.replicasets:
        replicaSets.enqueue(namespace, name);
        deployments.onReplicaSet(obj);
        break;
      case T.deployments:
        if (event.type === 'DELETED') deployments.forget(namespace, name);
        else deployments.enqueue(namespace, name);
        break;
      case T.services:
        endpoints.enqueue(namespace, name);
        break;
      case T.endpoints:
        if (event.type === 'DELETED') endpoints.enqueue(namespace, name);
        break;
      default:
        break;
    }
  };
  const unwatch = store.watch(undefined, undefined, undefined, onEvent);
  store.podsTerminateGracefully = true;
  // Objects that existed before the cluster started get the same treatment as new ones.
  for (const pod of store.list(T.pods).items)
    onEvent({ type: 'ADDED', resource: T.pods, object: pod, resourceVersion: 0 });
  for (const t of [T.replicasets, T.deployments, T.services]) {
    for (const obj of store.list(t).items)
      onEvent({ type: 'ADDED', resource: t, object: obj, resourceVersion: 0 });
  }

  const metrics = new RequestMetrics();
  const generator = new LoadGenerator(
    store,
    metrics,
    Math.max(0, options.rps ?? 20),
    options.timings?.dataPlane,
  );
  const metricsServer = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const body = metrics.render({
      deployments: store.list(T.deployments).items,
      pods: store.list(T.pods).items,
      runtimes: kubelet.all(),
    });
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(body);
  });
  const metricsPort = await listen(metricsServer);

  const roundRobin = new Map<string, number>();
  return {
    metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`,
    traffic: {
      stats: (namespace, service) => metrics.stats(namespace, service),
      reset: () => metrics.resetStats(),
    },
    // The API server's Service proxy picks an address from the Endpoints itself, not through
    // kube-proxy, so it follows a change at once, as on a real cluster.
    resolveServiceProxy(namespace, service, port) {
      const svc = store.get(T.services, namespace, service);
      if (!svc) return undefined;
      const ports = (svc.spec as { ports?: { name?: string; port?: number }[] } | undefined)?.ports ?? [];
      if (
        port !== undefined &&
        port !== '' &&
        ports.length > 0 &&
        !ports.some((p) => p.name === port || String(p.port) === port)
      ) {
        return undefined;
      }
      const ep = store.get(T.endpoints, namespace, service);
      const ready = ((ep?.subsets ?? []) as { addresses?: unknown[]; ports?: { port?: number }[] }[])
        .filter((s) => (s.addresses?.length ?? 0) > 0 && s.ports?.[0]?.port)
        .map((s) => s.ports?.[0]?.port ?? 0);
      if (ready.length === 0) return undefined;
      const key = `${namespace}/${service}`;
      const turn = roundRobin.get(key) ?? 0;
      roundRobin.set(key, turn + 1);
      return { host: '127.0.0.1', port: ready[turn % ready.length] ?? 0 };
    },
    podLog(namespace, pod) {
      const runtime = kubelet.runtime(namespace, pod);
      if (!runtime || runtime.startedAtMs === undefined) return undefined;
      return runtime.log.length ? `${runtime.log.join('\n')}\n` : '';
    },
    async stop() {
      unwatch();
      store.podsTerminateGracefully = false;
      generator.stop();
      queue.stop();
      kubelet.stop();
      metricsServer.closeAllConnections();
      await new Promise<void>((resolve) => metricsServer.close(() => resolve()));
    },
  };
}
