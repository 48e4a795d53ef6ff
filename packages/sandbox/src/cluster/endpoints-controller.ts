/**
 * Endpoints and EndpointSlices from Service selectors and pod readiness. Every pod listens on
 * its own loopback port, so each pod gets its own Endpoints subset and, since a slice holds
 * endpoints that share ports, its own EndpointSlice, as the real controller would group them.
 * Terminating pods leave Endpoints at once; slices keep them with `terminating: true`.
 */
import { createHash } from 'node:crypto';
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

/** One selected pod as both APIs describe it. */
interface PodEndpoint {
  pod: KubeObject;
  ready: boolean;
  terminating: boolean;
  ports: { name?: string; port: number; protocol: string }[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const MANAGED_BY = 'endpointslice-controller.k8s.io';

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
      this.syncSlices(namespace, name, undefined, []);
      return;
    }
    const selector = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector;
    if (!selector || Object.keys(selector).length === 0) return; // user-managed Endpoints
    const ports = (svc.spec as { ports?: ServicePort[] }).ports ?? [];
    const selected = this.podEndpoints(namespace, selector, ports);
    this.syncSlices(namespace, name, svc, selected);
    const subsets = selected
      .filter((e) => !e.terminating)
      .map((e) => ({
        ...(e.ready ? { addresses: [address(e.pod)] } : { notReadyAddresses: [address(e.pod)] }),
        ports: e.ports,
      }))
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

  /** The pods a selector picks that have an address: running (or crash-looping, listed not ready). */
  private podEndpoints(
    namespace: string,
    selector: Record<string, string>,
    ports: ServicePort[],
  ): PodEndpoint[] {
    return this.store
      .list(T.pods, namespace)
      .items.filter((pod) => mapSelectorMatches(selector, pod.metadata.labels))
      .flatMap((pod) => {
        const runtime = this.kubelet.runtime(namespace, pod.metadata.name ?? '');
        if (!runtime || runtime.uid !== pod.metadata.uid || !runtime.server?.port) {
          // Crash-looping pods have an IP but no listener: listed as not ready on the nominal port.
          if (!runtime || runtime.phase !== 'crashLoop') return [];
        }
        const realPort = runtime.server?.port ?? 0;
        return [
          {
            pod,
            ready: podHealth(pod, this.kubelet).ready,
            terminating: pod.metadata.deletionTimestamp !== undefined,
            ports: ports.map((p) => ({
              ...(p.name ? { name: p.name } : {}),
              port: realPort || (typeof p.targetPort === 'number' ? p.targetPort : (p.port ?? 0)),
              protocol: p.protocol ?? 'TCP',
            })),
          },
        ];
      });
  }

  /**
   * One EndpointSlice per selected pod (each has its own port), named after the Service and the
   * pod, owned by the Service; slices of pods no longer selected are deleted.
   */
  private syncSlices(
    namespace: string,
    service: string,
    svc: KubeObject | undefined,
    selected: PodEndpoint[],
  ): void {
    const wanted = new Map<string, KubeObject>();
    for (const e of selected) {
      const podName = e.pod.metadata.name ?? '';
      const name = `${service}-${createHash('sha256').update(podName).digest('hex').slice(0, 5)}`;
      wanted.set(name, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name,
          namespace,
          labels: { [SERVICE_NAME_LABEL]: service, [MANAGED_BY_LABEL]: MANAGED_BY },
          ownerReferences: [
            {
              apiVersion: 'v1',
              kind: 'Service',
              name: service,
              uid: svc?.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: ['127.0.0.1'],
            // Per the API: ready is false while terminating; serving tells whether it still answers.
            conditions: { ready: e.ready && !e.terminating, serving: e.ready, terminating: e.terminating },
            nodeName: 'sandbox-node',
            targetRef: { kind: 'Pod', namespace, name: podName, uid: e.pod.metadata.uid },
          },
        ],
        ports: e.ports,
      });
    }
    const existing = this.store
      .list(T.endpointslices, namespace)
      .items.filter(
        (s) =>
          s.metadata.labels?.[SERVICE_NAME_LABEL] === service &&
          s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
      );
    for (const slice of existing) {
      const name = slice.metadata.name ?? '';
      const next = wanted.get(name);
      wanted.delete(name);
      if (!next) {
        this.store.delete(T.endpointslices, namespace, name);
      } else if (stableJson(sliceBody(slice)) !== stableJson(sliceBody(next))) {
        this.store.update(T.endpointslices, { ...next, metadata: { ...slice.metadata, ...next.metadata } });
      }
    }
    if (!svc) return;
    for (const slice of wanted.values()) this.store.create(T.endpointslices, slice);
  }
}

function address(pod: KubeObject): Record<string, unknown> {
  return {
    ip: '127.0.0.1',
    nodeName: 'sandbox-node',
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
    },
  };
}

function sliceBody(slice: KubeObject): unknown {
  return { labels: slice.metadata.labels, endpoints: slice.endpoints, ports: slice.ports };
}
