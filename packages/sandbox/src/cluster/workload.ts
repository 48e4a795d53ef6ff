/**
 * What runs inside a simulated container: a real HTTP server on a loopback port whose
 * behaviour (error rate, latency, readiness, crashes) comes from the container's env.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Faults } from '../faults.js';
import { parseDuration } from './util.js';

export interface WorkloadBehaviour {
  errorRate: number;
  latencyMs: number;
  /** Readiness delay after start; undefined means the cluster default. */
  readyAfterMs: number | undefined;
  neverReady: boolean;
  crash: boolean;
  imagePullFails: boolean;
}

interface ContainerLike {
  image?: string;
  env?: { name?: string; value?: string }[];
}

export function behaviourOf(containers: ContainerLike[] | undefined): WorkloadBehaviour {
  const first = containers?.[0];
  const env = new Map<string, string>();
  for (const entry of first?.env ?? [])
    if (entry.name && entry.value !== undefined) env.set(entry.name, entry.value);
  const number = (name: string): number => {
    const value = Number(env.get(name));
    return Number.isFinite(value) && value > 0 ? value : 0;
  };
  return {
    errorRate: Math.min(1, number('SANDBOX_ERROR_RATE')),
    latencyMs: number('SANDBOX_LATENCY_MS'),
    readyAfterMs: parseDuration(env.get('SANDBOX_READY_AFTER')),
    neverReady: env.get('SANDBOX_NEVER_READY')?.toLowerCase() === 'true',
    crash: env.get('SANDBOX_CRASH')?.toLowerCase() === 'true',
    imagePullFails: (containers ?? []).some((c) => (c.image ?? '').includes('does-not-exist')),
  };
}

export interface PodIdentity {
  namespace: string;
  name: string;
  version: string;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One pod's HTTP server and its log. */
export class PodServer {
  ready = false;
  requests = 0;
  readonly startedAt = Date.now();
  private readonly server: Server;
  private portNumber = 0;

  constructor(
    readonly identity: PodIdentity,
    private readonly behaviour: WorkloadBehaviour,
    private readonly faults: Faults,
    /** Where the pod's log lines go (the kubelet keeps them, so they outlive a crash). */
    readonly write: (line: string) => void,
  ) {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    this.server.keepAliveTimeout = 5000;
  }

  get port(): number {
    return this.portNumber;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.portNumber = (this.server.address() as AddressInfo).port;
    this.write(`listening on 127.0.0.1:${this.portNumber} (version ${this.identity.version})`);
    return this.portNumber;
  }

  close(): void {
    this.server.close();
    this.server.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const headers = {
      'content-type': 'application/json',
      'x-sandbox-pod': this.identity.name,
      'x-sandbox-version': this.identity.version,
    };
    if (path === '/health' || path === '/healthz') {
      res.writeHead(200, headers).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (path === '/ready' || path === '/readyz') {
      res.writeHead(this.ready ? 200 : 503, headers).end(JSON.stringify({ ready: this.ready }));
      return;
    }
    this.requests += 1;
    const started = Date.now();
    const fault = this.faults.take('workload', { version: this.identity.version, path, method: req.method });
    if (fault?.latencyMs) await sleep(fault.latencyMs);
    let status: number;
    let body: unknown;
    const extra: Record<string, string> = {};
    if (fault?.status) {
      status = fault.status;
      body = fault.body ?? {
        error: 'injected fault',
        version: this.identity.version,
        pod: this.identity.name,
      };
      if (fault.retryAfterSeconds !== undefined) extra['retry-after'] = String(fault.retryAfterSeconds);
    } else {
      // Mean latency with ±50% uniform jitter, so histograms have some spread.
      if (this.behaviour.latencyMs > 0) await sleep(this.behaviour.latencyMs * (0.5 + Math.random()));
      if (Math.random() < this.behaviour.errorRate) {
        status = 500;
        body = { error: 'simulated failure', version: this.identity.version, pod: this.identity.name };
      } else {
        status = 200;
        body = { version: this.identity.version, pod: this.identity.name };
      }
    }
    if (status >= 500 || this.requests % 50 === 1) {
      this.write(`${req.method ?? 'GET'} ${path} ${status} ${Date.now() - started}ms`);
    }
    res.writeHead(status, { ...headers, ...extra }).end(JSON.stringify(body));
  }
}
