/**
 * The load generator: every entry point the cluster describes (a Service, a VirtualService,
 * an HTTPRoute, a primary Ingress) gets `rps` requests a second, routed as the objects say,
 * answered over real HTTP by a ready pod. No retries, a timeout per request, bounded
 * concurrency; results feed the request metrics.
 */
import { Agent, request } from 'node:http';
import type { Store, StoreEvent } from '../store.js';
import type { RequestMetrics } from './metrics.js';
import { RoutingSnapshot, type Flow } from './routing.js';
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
  private snapshot: RoutingSnapshot | undefined;
  private dirty = true;
  private readonly budgets = new Map<string, number>();
  private readonly profileTurn = new Map<string, number>();
  private inFlight = 0;
  private lastTick = Date.now();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unwatch: () => void;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly metrics: RequestMetrics,
    private readonly rps: number,
  ) {
    this.unwatch = store.watch(undefined, undefined, undefined, (e: StoreEvent) => {
      if (ROUTING_RESOURCES.has(e.resource)) this.dirty = true;
    });
    if (rps > 0) this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** The current routing view (rebuilt lazily after relevant store changes). */
  routing(): RoutingSnapshot {
    if (!this.snapshot || this.dirty) {
      this.dirty = false;
      this.snapshot = new RoutingSnapshot({
        services: this.store.list(T.services).items,
        endpoints: this.store.list(T.endpoints).items,
        pods: this.store.list(T.pods).items,
        virtualServices: this.store.list(T.virtualservices).items,
        destinationRules: this.store.list(T.destinationrules).items,
        httpRoutes: this.store.list(T.httproutes).items,
        ingresses: this.store.list(T.ingresses).items,
      });
    }
    return this.snapshot;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.unwatch();
    this.agent.destroy();
  }

  private tick(): void {
    const now = Date.now();
    const elapsed = Math.min(1000, now - this.lastTick);
    this.lastTick = now;
    const routing = this.routing();
    const rate = Math.min(MAX_RPS, this.rps);
    for (const flow of routing.flows) {
      if (!flow.backends.some((b) => routing.readyEndpoints(b).length > 0)) {
        this.budgets.delete(flow.id);
        continue;
      }
      let budget = (this.budgets.get(flow.id) ?? 0) + (rate * elapsed) / 1000;
      while (budget >= 1 && this.inFlight < MAX_IN_FLIGHT) {
        budget -= 1;
        this.send(routing, flow);
      }
      this.budgets.set(flow.id, Math.min(budget, rate));
    }
  }

  private headersFor(flow: Flow): Record<string, string> {
    if (flow.headerProfiles.length === 0 || Math.random() >= HEADER_SHARE) return {};
    const turn = this.profileTurn.get(flow.id) ?? 0;
    this.profileTurn.set(flow.id, turn + 1);
    return flow.headerProfiles[turn % flow.headerProfiles.length] ?? {};
  }

  private send(routing: RoutingSnapshot, flow: Flow): void {
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
    const endpoint = routing.pick(backend);
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
