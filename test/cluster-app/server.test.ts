/**
 * The test app's contract (test/cluster-app/server.mjs), checked on the script itself run as a
 * child process: the workload env of packages/sandbox/src/cluster/README.md, the metrics'
 * names and labels, and the load generator. The real-cluster e2e run trusts these.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SERVER = join(import.meta.dirname, 'server.mjs');

interface Run {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** The exit code (a signal counts as null). */
  exited: Promise<number | null>;
}

const running: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const server of servers.splice(0)) server.close();
});

/** server.mjs with only the given env (and PATH), so the runner's own VERSION or SERVICE cannot leak in. */
function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [SERVER, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Starts the app on a free port (PORT=0) and returns its base URL once it listens. */
async function startApp(env: Record<string, string> = {}): Promise<{ base: string; app: Run }> {
  const app = run([], { PORT: '0', ...env });
  const port = await until('listening line', () => /listening on :(\d+)/.exec(app.output())?.[1]);
  return { base: `http://127.0.0.1:${port}`, app };
}

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 10 s`)));
    req.on('error', reject);
    req.end();
  });
}

/** The value of one series in Prometheus text, or undefined when it is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('test app: workload env', () => {
  it('answers SANDBOX_ERROR_RATE=0.5 of / with 500, and /metrics counts every answer under the sandbox names and labels', async () => {
    const { base } = await startApp({
      SANDBOX_ERROR_RATE: '0.5',
      VERSION: 'v2',
      POD_NAME: 'web-5d4f7b9c8-x2x7q',
      POD_NAMESPACE: 'shop',
    });
    const seen = new Map<number, number>();
    // 400 requests, 20 at a time, addressed to the Service as a client in the cluster would.
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => get(`${base}/`, { host: 'web.shop.svc.cluster.local' })),
      );
      for (const a of answers) seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
    }
    const ok = seen.get(200) ?? 0;
    const failed = seen.get(500) ?? 0;
    expect(ok + failed).toBe(400);
    // Binomial(400, 0.5): sd 10 requests; ±40 is four sd, so a correct app fails this 1 time in 16,000.
    expect(failed).toBeGreaterThanOrEqual(160);
    expect(failed).toBeLessThanOrEqual(240);

    const metrics = (await get(`${base}/metrics`)).body;
    const labels = 'namespace="shop",service="web",version="v2"';
    expect(sample(metrics, `http_requests_total{${labels},pod="web-5d4f7b9c8-x2x7q",code="200"}`)).toBe(ok);
    expect(sample(metrics, `http_requests_total{${labels},pod="web-5d4f7b9c8-x2x7q",code="500"}`)).toBe(
      failed,
    );
    expect(sample(metrics, `http_request_duration_seconds_count{${labels}}`)).toBe(400);
    expect(sample(metrics, `http_request_duration_seconds_bucket{${labels},le="+Inf"}`)).toBe(400);
    // The sandbox's buckets (packages/sandbox/src/cluster/metrics.ts), each cumulative.
    const buckets = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10'].map(
      (le) => sample(metrics, `http_request_duration_seconds_bucket{${labels},le="${le}"}`),
    );
    expect(buckets.every((n) => n !== undefined)).toBe(true);
    expect([...(buckets as number[])].sort((a, b) => a - b)).toEqual(buckets);
    expect(metrics).toContain('# TYPE http_requests_total counter');
    expect(metrics).toContain('# TYPE http_request_duration_seconds histogram');
    // Probes and scrapes are not requests.
    await get(`${base}/ready`);
    const again = (await get(`${base}/metrics`)).body;
    expect(sample(again, `http_request_duration_seconds_count{${labels}}`)).toBe(400);
  });

  it('labels the version as the sandbox does: VERSION, else the pod-template-hash', async () => {
    const fromName = await startApp({ POD_NAME: 'web-5d4f7b9c8-x2x7q', SERVICE: 'web' });
    const answer = await get(`${fromName.base}/`);
    expect(answer.headers['x-sandbox-version']).toBe('5d4f7b9c8');
    expect(JSON.parse(answer.body)).toEqual({ version: '5d4f7b9c8', pod: 'web-5d4f7b9c8-x2x7q' });
    expect((await get(`${fromName.base}/metrics`)).body).toContain(
      'http_requests_total{namespace="default",service="web",version="5d4f7b9c8",pod="web-5d4f7b9c8-x2x7q",code="200"} 1',
    );

    // An empty VERSION is what the downward API gives for a pod without the label.
    const fromLabel = await startApp({
      VERSION: '',
      POD_TEMPLATE_HASH: '7c9d',
      POD_NAME: 'web-5d4f7b9c8-x2x7q',
    });
    expect((await get(`${fromLabel.base}/`)).headers['x-sandbox-version']).toBe('7c9d');
  });

  it('answers /ready 503 until SANDBOX_READY_AFTER has passed, then 200', async () => {
    const spawnedAt = Date.now();
    const { base } = await startApp({ SANDBOX_READY_AFTER: '3s' });
    expect((await get(`${base}/ready`)).status).toBe(503);
    // It serves while not ready, as a pod outside the endpoints would.
    expect((await get(`${base}/`)).status).toBe(200);
    await until('ready', async () => ((await get(`${base}/ready`)).status === 200 ? true : undefined));
    // The app starts after the spawn, so a correct one cannot be ready sooner than this.
    expect(Date.now() - spawnedAt).toBeGreaterThanOrEqual(3000);
  });

  it('keeps /ready at 503 with SANDBOX_NEVER_READY=true while it runs', async () => {
    const { base, app } = await startApp({ SANDBOX_NEVER_READY: 'true' });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await get(`${base}/ready`)).status);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(new Set(statuses)).toEqual(new Set([503]));
    expect((await get(`${base}/`)).status).toBe(200);
    expect(app.child.exitCode).toBeNull();
  });

  it('exits non-zero at once with SANDBOX_CRASH=true, so the kubelet restarts it', async () => {
    const app = run([], { PORT: '0', SANDBOX_CRASH: 'true' });
    expect(await app.exited).toBe(1);
    expect(app.output()).toContain('fatal: SANDBOX_CRASH=true, exiting with code 1');
    expect(app.output()).not.toContain('listening');
  });
});

describe('test app: load generator', () => {
  it('sends --rps requests a second to each URL for --duration, then stops by itself', async () => {
    const { base } = await startApp({ VERSION: 'v1', SERVICE: 'web' });
    const load = run(['load', `${base}/`, '--rps', '40', '--duration', '1']);
    expect(await load.exited).toBe(0);
    const tally = new RegExp(`^${base}/ 200=(\\d+)$`, 'm').exec(load.output());
    expect(tally, load.output()).not.toBeNull();
    const sent = Number(tally![1]);
    expect(sent).toBeGreaterThan(0);
    const metrics = (await get(`${base}/metrics`)).body;
    expect(
      sample(metrics, `http_request_duration_seconds_count{namespace="default",service="web",version="v1"}`),
    ).toBe(sent);
  });

  it('discovers the entry points of namespaces as the sandbox picks them: not a route-only backend, not headless, not selectorless', async () => {
    const lists: Record<string, object> = {
      '/api/v1/namespaces/shop/services': {
        items: [
          { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80 }] } },
          {
            metadata: { name: 'web-canary' },
            spec: { selector: { app: 'web-canary' }, ports: [{ port: 80 }] },
          },
          { metadata: { name: 'api' }, spec: { selector: { app: 'api' }, ports: [{ port: 8080 }] } },
          {
            metadata: { name: 'api-headless' },
            spec: { selector: { app: 'api' }, clusterIP: 'None', ports: [{ port: 8080 }] },
          },
          { metadata: { name: 'external' }, spec: { ports: [{ port: 80 }] } },
        ],
      },
      '/apis/gateway.networking.k8s.io/v1/namespaces/shop/httproutes': {
        items: [
          {
            spec: {
              parentRefs: [{ group: '', kind: 'Service', name: 'web' }],
              rules: [
                {
                  backendRefs: [
                    { name: 'web', weight: 90 },
                    { name: 'web-canary', weight: 10 },
                  ],
                },
              ],
            },
          },
        ],
      },
      '/api/v1/namespaces/other/services': {
        items: [
          { metadata: { name: 'pay' }, spec: { selector: { app: 'pay' }, ports: [{ port: 80 }] } },
          { metadata: { name: 'pay-canary' }, spec: { selector: { app: 'pay' }, ports: [{ port: 80 }] } },
        ],
      },
      '/apis/networking.istio.io/v1/namespaces/other/virtualservices': {
        items: [
          {
            spec: {
              hosts: ['pay'],
              http: [
                {
                  route: [
                    { destination: { host: 'pay', subset: 'stable' }, weight: 80 },
                    { destination: { host: 'pay-canary.other.svc.cluster.local' }, weight: 20 },
                  ],
                },
              ],
            },
          },
        ],
      },
    };
    const asked: string[] = [];
    const api = createServer((req, res) => {
      asked.push(req.url ?? '');
      const list = lists[req.url ?? ''];
      // The kinds not listed answer 404, as for a CRD that is not installed.
      res.writeHead(list ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(list ?? {}));
    });
    servers.push(api);
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;

    const listed = run(['load', '--discover', 'shop,other', '--list'], { KUBERNETES_API: apiUrl });
    expect(await listed.exited).toBe(0);
    expect(listed.output().trim().split('\n')).toEqual([
      'http://api.shop.svc.cluster.local:8080/',
      'http://pay.other.svc.cluster.local:80/',
      'http://web.shop.svc.cluster.local:80/',
    ]);
    expect(asked).toContain('/apis/networking.istio.io/v1/namespaces/shop/virtualservices');

    // An API that refuses is an error, not an empty target list.
    api.removeAllListeners('request');
    api.on('request', (_req, res) => res.writeHead(403).end('forbidden'));
    const refused = run(['load', '--discover', 'shop', '--list'], { KUBERNETES_API: apiUrl });
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/discovery: GET \/\S+\/namespaces\/shop\/\S+: HTTP 403 forbidden/);
  });

  it('refuses a bad --rps before sending anything, naming the option and the value', async () => {
    const bad = run(['load', 'http://127.0.0.1:9/', '--rps', '0']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('--rps must be a number in (0, 1000], got 0');
  });
});
