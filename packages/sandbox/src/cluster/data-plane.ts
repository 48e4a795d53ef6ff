/**
 * The data plane lags the API, as on a real cluster: what requests reach follows a Service or
 * Endpoints change only once each node's kube-proxy has synced, and a route change (VirtualService,
 * DestinationRule, HTTPRoute, NGINX canary Ingress) only once the mesh or ingress controller has
 * pushed it to its proxies. The API server's state changes at once; each simulated node applies
 * every change after its own delay, so different request sources see it at different times.
 *
 * Defaults, from what the real components do:
 * - kube-proxy (iptables mode) syncs its rules at most once per `minSyncPeriod`, 1 s by default:
 *   a change waits for the next sync slot, then for iptables-restore
 *   (https://kubernetes.io/docs/reference/networking/virtual-ips/#minsyncperiod). Up to 1 s.
 * - istiod debounces config and endpoint events for `PILOT_DEBOUNCE_AFTER`, 100 ms by default
 *   (up to PILOT_DEBOUNCE_MAX, 10 s, while changes keep coming), then pushes xDS to every proxy,
 *   which applies it (pilot_proxy_convergence_time: a few hundred ms in a small mesh). Up to 500 ms.
 *   Envoy-based Gateway API implementations and ingress-nginx's dynamic reconfiguration are of
 *   the same order; the sandbox uses one figure for all of them.
 */
import {
  RoutingSnapshot,
  type Backend,
  type Flow,
  type ReadyEndpoint,
  type RoutingObjects,
  type Sender,
} from './routing.js';

export interface DataPlaneTimings {
  /** Service selector / Endpoints change → what kube-proxy on the slowest node sends. Default 1000. */
  kubeProxyMs?: number;
  /** Route object change (and the endpoints behind it) → what the slowest mesh proxy routes by. Default 500. */
  meshPushMs?: number;
  /** Nodes requests come from; each applies a change after its own delay. Default 3. */
  nodes?: number;
  /**
   * Share of a delay that varies per node and change: 0.5 puts each node between half the delay
   * and all of it; 0 makes every node take exactly the delay. Default 0.5.
   */
  jitter?: number;
}

export const DATA_PLANE_DEFAULTS: Required<DataPlaneTimings> = {
  kubeProxyMs: 1000,
  meshPushMs: 500,
  nodes: 3,
  jitter: 0.5,
};

/** The routing objects as the API held them at one moment. */
interface Capture {
  seq: number;
  objects: RoutingObjects;
}

/** One node's copy of one plane: what it routes by now, and the changes on their way to it. */
class Plane {
  private pending: { capture: Capture; due: number }[] = [];

  constructor(public applied: Capture) {}

  schedule(capture: Capture, due: number): void {
    this.pending.push({ capture, due });
  }

  /** Applies what is due; a sync takes the newest state it has heard of, so older pending changes go with it. */
  advance(now: number): void {
    for (const p of this.pending) {
      if (p.due <= now && p.capture.seq > this.applied.seq) this.applied = p.capture;
    }
    this.pending = this.pending.filter((p) => p.due > now && p.capture.seq > this.applied.seq);
  }
}

/**
 * How one node routes: the routes as its mesh proxies hold them, the Services entered directly as
 * its kube-proxy holds them, each sending to the endpoints its own copy lists. A Service becomes
 * an entry point of its own (no route in front of it) only once kube-proxy's copy says so.
 */
export class NodeRouting {
  readonly flows: Flow[];

  constructor(
    private readonly mesh: RoutingSnapshot,
    private readonly kubeProxy: RoutingSnapshot,
  ) {
    this.flows = [
      ...mesh.flows.filter((f) => f.sender === 'mesh'),
      ...kubeProxy.flows.filter((f) => f.sender === 'kube-proxy'),
    ];
  }

  builtFrom(mesh: RoutingSnapshot, kubeProxy: RoutingSnapshot): boolean {
    return this.mesh === mesh && this.kubeProxy === kubeProxy;
  }

  readyEndpoints(backend: Backend, sender: Sender): ReadyEndpoint[] {
    return this.of(sender).readyEndpoints(backend);
  }

  pick(backend: Backend, sender: Sender): ReadyEndpoint | undefined {
    return this.of(sender).pick(backend);
  }

  private of(sender: Sender): RoutingSnapshot {
    return sender === 'mesh' ? this.mesh : this.kubeProxy;
  }
}

/** A snapshot of one plane's applied state, rebuilt only when that state changes. */
class PlaneSnapshot {
  private seq = -1;
  private snapshot: RoutingSnapshot | undefined;

  of(plane: Plane): RoutingSnapshot {
    if (!this.snapshot || this.seq !== plane.applied.seq) {
      this.seq = plane.applied.seq;
      this.snapshot = new RoutingSnapshot(plane.applied.objects);
    }
    return this.snapshot;
  }
}

class Node {
  private readonly meshSnapshot = new PlaneSnapshot();
  private readonly kubeProxySnapshot = new PlaneSnapshot();
  private routing: NodeRouting | undefined;

  constructor(
    readonly kubeProxy: Plane,
    readonly mesh: Plane,
  ) {}

  view(now: number): NodeRouting {
    this.kubeProxy.advance(now);
    this.mesh.advance(now);
    const mesh = this.meshSnapshot.of(this.mesh);
    const kubeProxy = this.kubeProxySnapshot.of(this.kubeProxy);
    if (!this.routing?.builtFrom(mesh, kubeProxy)) this.routing = new NodeRouting(mesh, kubeProxy);
    return this.routing;
  }
}

export class DataPlane {
  readonly timings: Required<DataPlaneTimings>;
  private readonly nodes: Node[];
  private seq = 0;

  constructor(
    initial: RoutingObjects,
    timings: DataPlaneTimings = {},
    private readonly random: () => number = Math.random,
  ) {
    this.timings = {
      kubeProxyMs: Math.max(0, timings.kubeProxyMs ?? DATA_PLANE_DEFAULTS.kubeProxyMs),
      meshPushMs: Math.max(0, timings.meshPushMs ?? DATA_PLANE_DEFAULTS.meshPushMs),
      nodes: Math.max(1, Math.floor(timings.nodes ?? DATA_PLANE_DEFAULTS.nodes)),
      jitter: Math.min(1, Math.max(0, timings.jitter ?? DATA_PLANE_DEFAULTS.jitter)),
    };
    // What exists when the cluster starts is already programmed everywhere.
    const first: Capture = { seq: 0, objects: initial };
    this.nodes = Array.from(
      { length: this.timings.nodes },
      () => new Node(new Plane(first), new Plane(first)),
    );
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  /** The API's routing objects changed at `at`: each node's planes apply them after their delays. */
  record(objects: RoutingObjects, at: number): void {
    const capture = { seq: ++this.seq, objects };
    for (const node of this.nodes) {
      node.kubeProxy.schedule(capture, at + this.delay(this.timings.kubeProxyMs));
      node.mesh.schedule(capture, at + this.delay(this.timings.meshPushMs));
    }
  }

  /** How node `index` routes at `now`. */
  view(index: number, now: number): NodeRouting {
    return this.nodes[index % this.nodes.length]!.view(now);
  }

  private delay(ms: number): number {
    return ms * (1 - this.timings.jitter * this.random());
  }
}
