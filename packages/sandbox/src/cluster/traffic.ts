/**
 * The load generator: every entry point the cluster describes (a Service, a VirtualService,
 * an HTTPRoute, a primary Ingress) gets `rps` requests a second, routed as the objects say,
 * answered over real HTTP by a ready pod. No retries, a timeout per request, bounded
 * concurrency; results feed the request metrics. The requests come from the data plane's nodes
 * in equal shares, each routing by what it has been told so far (data-plane.ts), so a change
 * reaches the traffic only as fast as kube-proxy and the mesh propagate it.
 */
import { Agent, request } from 'node:http';
import type { Store, StoreEvent } from '../store.js';
import { DataPlane, type DataPlaneTimings, type NodeRouting } from './data-plane.js';
import type { RequestMetrics } from './metrics.js';
import type { Flow, RoutingObjects } from './routing.js';
import { T } from './util.js';

const TICK_MS = 50;
const REQUEST_TIMEOUT_MS = 5000;
const MAX_IN_FLIGHT = 1000;
export const MAX_RPS = 200;
/** Share of requests that carry the headers some route matches on, like a few opted-in users. */
export const HEADER_SHARE = 0.1;

const ROUTING_RESOURCES = new Set<unknown>([
  T.services,
  T.endpoints,
  T.pods,
  T.virtualservices,
  T.destinationrules,
  T.httproutes,
  T.ingresses,
]);

export class LoadGenerator {
  private readonly plane: DataPlane | undefined;
  private captureScheduled = false;
  private readonly budgets = new Map<string, number>();
  private readonly profileTurn = new Map<string, number>();
  private inFlight = 0;
  private lastTick = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unwatch: () => void = () => undefined;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly metrics: RequestMetrics,
    private readonly rps: number,
    dataPlane: DataPlaneTimings = {},
  ) {
    if (rps <= 0) return; // no traffic: nothing routes, so nothing needs to be propagated
    this.plane = new DataPlane(this.routingObjects(), dataPlane);
    this.unwatch = store.watch(undefined, undefined, undefined, (e: StoreEvent) => {
      if (ROUTING_RESOURCES.has(e.resource)) this.captureSoon();
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unwatch();
    this.agent.destroy();
  }

  private routingObjects(): RoutingObjects {
    return {
      services: this.store.list(T.services).items,
      endpoints: this.store.list(T.endpoints).items,
      pods: this.store.list(T.pods).items,
      virtualServices: this.store.list(T.virtualservices).items,
      destinationRules: this.store.list(T.destinationrules).items,
      httpRoutes: this.store.list(T.httproutes).items,
      ingresses: this.store.list(T.ingresses).items,
    };
  }

  /**
   * One capture of the API's routing objects per burst of changes (a selector write and the
   * Endpoints update it causes), stamped with the first change's time: the nodes' delays count from it.
   */
  private captureSoon(): void {
    if (this.captureScheduled) return;
    this.captureScheduled = true;
    const at = Date.now();
    setImmediate(() => {
      this.captureScheduled = false;
      if (!this.stopped) this.plane?.record(this.routingObjects(), at);
    });
  }

  private tick(): void {
    const plane = this.plane;
    if (!plane) return;
    const now = Date.now();
    const elapsed = Math.min(1000, now - this.lastTick);
    this.lastTick = now;
    // Each node sends its share of every entry point it knows of.
    const rate = Math.min(MAX_RPS, this.rps) / plane.nodeCount;
    for (let node = 0; node < plane.nodeCount; node++) {
      const routing = plane.view(node, now);
      for (const flow of routing.flows) {
        const key = `${node}/${flow.id}`;
        if (!flow.backends.some((b) => routing.readyEndpoints(b, flow.sender).length > 0)) {
          this.budgets.delete(key);
          continue;
        }
        let budget = (this.budgets.get(key) ?? 0) + (rate * elapsed) / 1000;
        while (budget >= 1 && this.inFlight < MAX_IN_FLIGHT) {
          budget -= 1;
          this.send(routing, flow);
        }
        this.budgets.set(key, Math.min(budget, Math.max(1, rate)));
      }
    }
  }

  private headersFor(flow: Flow): Record<string, string> {
    if (flow.headerProfiles.length === 0 || Math.random() >= HEADER_SHARE) return {};
    const turn = this.profileTurn.get(flow.id) ?? 0;
    this.profileTurn.set(flow.id, turn + 1);
    return flow.headerProfiles[turn % flow.headerProfiles.length] ?? {};
  }

  private send(routing: NodeRouting, flow: Flow): void {
    const headers = this.headersFor(flow);
    const decision = flow.route({ path: '/', headers }, Math.random);
    if ('status' in decision) {
      this.metrics.record({
        namespace: flow.namespace,
        service: decision.service ?? flow.entry,
        version: 'none',
        pod: '',
        code: decision.status,
        seconds: 0,
      });
      return;
    }
    const { backend } = decision;
    const endpoint = routing.pick(backend, flow.sender);
    if (!endpoint) {
      // What a proxy answers with nothing healthy behind the route.
      this.metrics.record({
        namespace: backend.namespace,
        service: backend.service,
        version: 'none',
        pod: '',
        code: 503,
        seconds: 0,
      });
      return;
    }
    const started = process.hrtime.bigint();
    this.inFlight += 1;
    let done = false;
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      if (this.stopped) return;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.record({
        namespace: backend.namespace,
        service: backend.service,
        version: endpoint.version,
        pod: endpoint.pod,
        code,
        seconds,
      });
    };
    const req = request(
      {
        host: '127.0.0.1',
        port: endpoint.port,
        path: '/',
        method: 'GET',
        headers,
        agent: this.agent,
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode ?? 0));
        res.on('error', () => finish(502));
      },
    );
    req.on('timeout', () => {
      finish(504);
      req.destroy();
    });
    req.on('error', () => finish(503));
    req.end();
  }
}
