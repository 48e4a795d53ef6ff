/**
 * Endpoints from Service selectors and pod readiness. Every pod listens on its own loopback
 * port, so each pod gets its own subset whose ports are that pod's real port.
 */
import type { KubeObject, Store } from '../store.js';
import type { Kubelet } from './kubelet.js';
import type { WorkQueue } from './queue.js';
import { podHealth } from './replicaset-controller.js';
import { mapSelectorMatches, stableJson, T } from './util.js';

interface ServicePort {
  name?: string;
  port?: number;
  protocol?: string;
  targetPort?: number | string;
}

export class EndpointsController {
  /** Endpoints this controller wrote, so user-managed ones are never touched. */
  private readonly managed = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly kubelet: Kubelet,
    private readonly queue: WorkQueue,
  ) {}

  enqueue(namespace: string, name: string): void {
    this.queue.enqueue(`ep/${namespace}/${name}`, () => this.sync(namespace, name));
  }

  /** A pod change can matter to any Service of its namespace. */
  onPod(pod: KubeObject): void {
    const namespace = pod.metadata.namespace;
    if (!namespace) return;
    for (const svc of this.store.list(T.services, namespace).items)
      this.enqueue(namespace, svc.metadata.name ?? '');
  }

  sync(namespace: string, name: string): void {
    const svc = this.store.get(T.services, namespace, name);
    const existing = this.store.get(T.endpoints, namespace, name);
    if (!svc) {
      // Endpoints of a deleted Service go with it, as the endpoints controller removes them.
      if (existing && this.managed.delete(`${namespace}/${name}`))
        this.store.delete(T.endpoints, namespace, name);
      return;
    }
    const selector = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector;
    if (!selector || Object.keys(selector).length === 0) return; // user-managed Endpoints
    const ports = (svc.spec as { ports?: ServicePort[] }).ports ?? [];
    const subsets = this.store
      .list(T.pods, namespace)
      // Terminating pods leave Endpoints at once, ready or not, as on a real cluster.
      .items.filter(
        (pod) => mapSelectorMatches(selector, pod.metadata.labels) && !pod.metadata.deletionTimestamp,
      )
      .flatMap((pod) => {
        const runtime = this.kubelet.runtime(namespace, pod.metadata.name ?? '');
        if (!runtime || runtime.uid !== pod.metadata.uid || !runtime.server?.port) {
          // Crash-looping pods have an IP but no listener: listed as not ready on the nominal port.
          if (!runtime || runtime.phase !== 'crashLoop') return [];
        }
        const health = podHealth(pod, this.kubelet);
        const address = {
          ip: '127.0.0.1',
          nodeName: 'sandbox-node',
          targetRef: { kind: 'Pod', namespace, name: pod.metadata.name, uid: pod.metadata.uid },
        };
        const realPort = runtime.server?.port ?? 0;
        return [
          {
            ...(health.ready ? { addresses: [address] } : { notReadyAddresses: [address] }),
            ports: ports.map((p) => ({
              ...(p.name ? { name: p.name } : {}),
              port: realPort || (typeof p.targetPort === 'number' ? p.targetPort : (p.port ?? 0)),
              protocol: p.protocol ?? 'TCP',
            })),
          },
        ];
      })
      .sort((a, b) => stableJson(a).localeCompare(stableJson(b)));
    const labels = { ...(svc.metadata.labels ?? {}) };
    this.managed.add(`${namespace}/${name}`);
    if (!existing) {
      this.store.create(T.endpoints, {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name, namespace, labels },
        subsets,
      });
      return;
    }
    if (
      stableJson(existing.subsets ?? []) === stableJson(subsets) &&
      stableJson(existing.metadata.labels ?? {}) === stableJson(labels)
    ) {
      return;
    }
    this.store.update(T.endpoints, { ...existing, metadata: { ...existing.metadata, labels }, subsets });
  }
}
