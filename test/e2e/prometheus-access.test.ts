/**
 * Prometheus access end to end: the committed bundles, run as the runner runs them, against the
 * real Prometheus of the sandbox behind what production puts in front of it — a bearer-token
 * proxy, Prometheus's own TLS and basic auth, and the API server's Service proxy to an in-cluster
 * Prometheus reached with nothing but the kubeconfig. Every run is also checked for its secrets:
 * none may reach the log, an output, the summary or the report.
 */
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerCertificates } from '../../packages/sandbox/src/api/tls.js';
import { startPrometheus, type RunningPrometheus } from '../../packages/sandbox/src/cluster/prometheus.js';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import {
  BLUE_GREEN_ROLE,
  deploymentManifest,
  kind,
  live,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

const TOKEN = 'prom-t0ken-5f8c2a91d7';
const WRONG_TOKEN = 'wrong-t0ken-0b3e77c4aa';
const API_KEY = 'tenant-k3y-93c1e0d2';
// bcrypt (cost 4, computed once with Python's crypt) of PASSWORD, for Prometheus's web config.
const PASSWORD = 'gate-pass-7Qx';
const PASSWORD_HASH = '$2b$04$.cbNIY2JxkX0zxGG1BoEFemzr./AjPeY.eu.NxlKVDwufVI45VABi';
const SECRETS = [TOKEN, WRONG_TOKEN, API_KEY, PASSWORD, Buffer.from(`gate:${PASSWORD}`).toString('base64')];

/** What reached a front of Prometheus: the headers a test asserts on. */
interface Seen {
  path: string;
  authorization?: string;
  tenant?: string;
  apiKey?: string;
}

/**
 * A test instrument in front of the sandbox's plain Prometheus: records each request and, with a
 * token, answers 401 to any other Authorization, as an authenticating reverse proxy does. Written
 * here on its own, sharing nothing with the client it checks.
 */
interface Front {
  url: string;
  seen: Seen[];
  server: Server;
}

async function front(upstream: string, token?: string): Promise<Front> {
  const target = new URL(upstream);
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const header = (name: string): string | undefined => req.headers[name] as string | undefined;
    seen.push({
      path: (req.url ?? '').split('?')[0]!,
      ...(header('authorization') ? { authorization: header('authorization') } : {}),
      ...(header('x-scope-orgid') ? { tenant: header('x-scope-orgid') } : {}),
      ...(header('x-api-key') ? { apiKey: header('x-api-key') } : {}),
    });
    if (token !== undefined && header('authorization') !== `Bearer ${token}`) {
      res
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
        .end('Unauthorized\n');
      return;
    }
    const { authorization: _dropped, host: _host, ...headers } = req.headers;
    const upstreamRequest = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstreamRequest.on('error', () => res.writeHead(502).end());
    req.pipe(upstreamRequest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

let sandbox: Sandbox;
let plain: string;
let tokenFront: Front;
let otherFront: Front;
let clusterFront: Front;
let secured: RunningPrometheus;
/** The workspace of the runs: the CA file lies here, reports are written here. */
let dir: string;
/** A token allowed nothing but `get` on services/proxy in monitoring. */
let proxyOnly: string;

function createApp(name: string): void {
  const labels = { app: name, version: 'v1' };
  sandbox.store.create(kind('Deployment'), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name, image: `ghcr.io/acme/${name}:1.0.0`, ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  });
  sandbox.store.create(kind('Service'), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  });
}

/**
 * The in-cluster Prometheus, as a cluster would have one the runner cannot reach: a Service
 * `monitoring/prometheus:9090` without a selector, whose Endpoints lead to the recording front.
 */
function inClusterPrometheus(port: number): void {
  sandbox.store.create(kind('Service'), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'prometheus', namespace: 'monitoring' },
    spec: { ports: [{ name: 'web', port: 9090 }] },
  });
  sandbox.store.create(kind('Endpoints'), {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'prometheus', namespace: 'monitoring' },
    subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'web', port }] }],
  });
}

async function waitForTraffic(service: string, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const query = `sum(increase(http_requests_total{namespace="shop",service="${service}"}[5s]))`;
  for (;;) {
    const response = await fetch(`${plain}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
    const seen = Number(body.data?.result?.[0]?.value[1] ?? 0);
    if (seen >= count) return;
    if (Date.now() > deadline)
      throw new Error(`Prometheus saw ${seen} requests of ${service}, wanted ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const successRate = (extra = '') =>
  `- kind: prometheus\n  template: success-rate\n  service: web\n  version: v1\n  window: 5s\n  min-requests: 20\n  condition: ">= 0.95"\n${extra}`;

let runs = 0;
function gate(inputs: Record<string, string | undefined>, kubeconfig?: string): Promise<ActionResult> {
  runs += 1;
  return runAction({
    action: 'health-gate',
    inputs: {
      namespace: 'shop',
      checks: successRate(),
      duration: '3s',
      interval: '1s',
      // In the workspace, which outlives the run: the test reads the record for secrets.
      'report-path': join(dir, `report-${runs}.json`),
      ...inputs,
      kubeconfig,
    },
    timeoutMs: 45_000,
    cwd: dir,
  });
}

/** No secret in anything the run left: log, outputs, summary, the decision record. */
async function expectNoSecrets(result: ActionResult): Promise<void> {
  const report = result.outputs.report ? await readFile(result.outputs.report, 'utf8') : '';
  for (const [where, text] of Object.entries({
    log: result.log,
    outputs: JSON.stringify(result.outputs),
    summary: result.summary,
    report,
  })) {
    for (const secret of SECRETS) expect(text, `${where} holds a secret`).not.toContain(secret);
  }
}

beforeAll(async () => {
  sandbox = await startTestSandbox({ prometheus: true, rps: 60, namespaces: ['shop', 'monitoring'] });
  plain = sandbox.prometheus!;
  dir = await mkdtemp(join(tmpdir(), 'prometheus-access-'));
  const certs = await createServerCertificates();
  await mkdir(join(dir, 'certs'));
  await writeFile(join(dir, 'certs', 'prometheus-ca.pem'), certs.caCert);
  [tokenFront, otherFront, clusterFront, secured] = await Promise.all([
    front(plain, TOKEN),
    front(plain),
    front(plain),
    startPrometheus({
      targets: [new URL(sandbox.cluster.metricsUrl).host],
      web: {
        tls: { cert: certs.cert, key: certs.key },
        basicAuthUsers: { gate: PASSWORD_HASH },
        probeAuthorization: `Basic ${Buffer.from(`gate:${PASSWORD}`).toString('base64')}`,
      },
    }),
  ]);
  inClusterPrometheus(Number(new URL(clusterFront.url).port));
  proxyOnly = sandbox.kubeconfigFor({
    name: 'prometheus-proxy',
    namespaces: ['monitoring'],
    verbs: ['get'],
    resources: ['services/proxy'],
  });
  createApp('web');
  await waitForTraffic('web', 150);
}, 60_000);

afterAll(async () => {
  await secured?.stop();
  for (const f of [tokenFront, otherFront, clusterFront]) {
    f?.server.closeAllConnections();
    await new Promise((resolve) => f?.server.close(resolve));
  }
  await sandbox?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('health-gate reaching a Prometheus behind authentication', () => {
  it('passes with a bearer token and headers, sent to prometheus-url only, never to a check of its own', async () => {
    tokenFront.seen.length = 0;
    otherFront.seen.length = 0;
    const result = await gate({
      'prometheus-url': tokenFront.url,
      'prometheus-token': TOKEN,
      'prometheus-headers': `X-Scope-OrgID: tenant-1\nX-Api-Key: ${API_KEY}`,
      checks: successRate(
        `- kind: prometheus\n  name: elsewhere\n  prometheus-url: ${otherFront.url}\n  query: vector(1)\n  condition: "== 1"\n`,
      ),
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    // Every query of the gate, its preflight and the monitoring section carried the credentials.
    expect(tokenFront.seen.length).toBeGreaterThanOrEqual(8);
    expect(
      tokenFront.seen.every(
        (s) => s.authorization === `Bearer ${TOKEN}` && s.tenant === 'tenant-1' && s.apiKey === API_KEY,
      ),
    ).toBe(true);
    // The check at another origin was queried, with none of it.
    expect(otherFront.seen.length).toBeGreaterThanOrEqual(4);
    expect(otherFront.seen.every((s) => !s.authorization && !s.tenant && !s.apiKey)).toBe(true);
    expect(result.masks).toEqual(expect.arrayContaining([TOKEN, API_KEY]));
    expect(result.summary).toMatch(/\| Error rate \| 0\.00% \|/);
    await expectNoSecrets(result);
  });

  it('fails before the gate, saying what to check and not showing the token, when the token is wrong', async () => {
    tokenFront.seen.length = 0;
    const result = await gate({
      'prometheus-url': tokenFront.url,
      'prometheus-token': WRONG_TOKEN,
      duration: '10m',
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBeUndefined();
    expect(result.errors.join('\n')).toContain(
      `check "success-rate": Prometheus ${tokenFront.url}/api/v1/query refused the query (HTTP 401): check prometheus-token`,
    );
    // Refused at once, not retried: at most one preflight query for each of the check's two queries.
    expect(tokenFront.seen.length).toBeGreaterThanOrEqual(1);
    expect(tokenFront.seen.length).toBeLessThanOrEqual(2);
    expect(tokenFront.seen.every((s) => s.authorization === `Bearer ${WRONG_TOKEN}`)).toBe(true);
    // Refused at once, not after the 10 min duration (a wide bound for a busy machine).
    expect(result.durationMs).toBeLessThan(120_000);
    await expectNoSecrets(result);
  });

  it('passes with basic auth over TLS verified by prometheus-ca, a file in the workspace', async () => {
    const result = await gate({
      'prometheus-url': secured.url,
      'prometheus-username': 'gate',
      'prometheus-password': PASSWORD,
      'prometheus-ca': 'certs/prometheus-ca.pem',
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    expect(result.summary).toMatch(/\| Error rate \| 0\.00% \|/);
    await expectNoSecrets(result);
  });

  it('refuses a bad access input before anything runs, naming the input and hiding the secret', async () => {
    const result = await gate({
      'prometheus-url': secured.url,
      'prometheus-username': 'gate',
      'prometheus-password': PASSWORD,
      'prometheus-token': TOKEN,
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain(
      'Input "prometheus-token" and "prometheus-username" each set the Authorization header: expected one of them',
    );
    await expectNoSecrets(result);
  });
});

describe('health-gate reaching an in-cluster Prometheus through the Kubernetes API', () => {
  it('passes with prometheus-via: kubernetes and a token allowed only get on services/proxy', async () => {
    clusterFront.seen.length = 0;
    const auditBefore = sandbox.audit.entries.length;
    const result = await gate(
      {
        'prometheus-url': 'http://prometheus.monitoring.svc:9090',
        'prometheus-via': 'kubernetes',
        'prometheus-headers': 'X-Scope-OrgID: tenant-1',
      },
      proxyOnly,
    );
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    expect(result.summary).toMatch(/\| Error rate \| 0\.00% \|/);
    // Through the API server: every query audited as services/proxy, answered by Prometheus.
    const proxied = sandbox.audit.entries
      .slice(auditBefore)
      .filter((e) =>
        e.path.startsWith('/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy/api/v1/query'),
      );
    expect(proxied.length).toBeGreaterThanOrEqual(8);
    expect(proxied.every((e) => e.verb === 'get' && e.status === 200)).toBe(true);
    // The tenant header went on to Prometheus; the kubeconfig's token stayed with the API server.
    expect(clusterFront.seen.length).toBe(proxied.length);
    expect(clusterFront.seen.every((s) => s.tenant === 'tenant-1' && s.authorization === undefined)).toBe(
      true,
    );
    await expectNoSecrets(result);
  });

  it('names the RBAC rule it needs when the token may not use the Service proxy', async () => {
    const servicesOnly = sandbox.kubeconfigFor({
      name: 'services-reader',
      namespaces: ['monitoring'],
      verbs: ['get'],
      resources: ['services'],
    });
    const result = await gate(
      {
        'prometheus-url': 'http://prometheus.monitoring:9090',
        'prometheus-via': 'kubernetes',
        duration: '10m',
      },
      servicesOnly,
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      /the Kubernetes API refused the Service proxy \(HTTP 403: .*\); the kubeconfig's user needs "get" on "services\/proxy" in namespace monitoring/,
    );
    // Refused at once, not after the 10 min duration (a wide bound for a busy machine).
    expect(result.durationMs).toBeLessThan(120_000);
  });
});

describe('deploy-blue-green confirming its switch through the Kubernetes API', () => {
  it('observes the switch in the in-cluster Prometheus with the deploy kubeconfig', async () => {
    createApp('shopfront');
    await waitForTraffic('shopfront', 50);
    clusterFront.seen.length = 0;
    const kubeconfig = sandbox.kubeconfigFor({
      ...BLUE_GREEN_ROLE,
      name: 'blue-green-prometheus',
      namespaces: ['shop', 'monitoring'],
    });
    const result = await runAction({
      action: 'deploy-blue-green',
      cwd: await workspace({
        'k8s/app.yaml': `${deploymentManifest({ name: 'shopfront', image: 'ghcr.io/acme/shopfront:2.0.0', replicas: 2 })}---\n${serviceManifest('shopfront')}`,
      }),
      inputs: {
        kubeconfig,
        namespace: 'shop',
        manifests: 'k8s/app.yaml',
        timeout: '45s',
        'verify-duration': '1s',
        'check-interval': '250ms',
        'prometheus-url': 'http://prometheus.monitoring:9090',
        'prometheus-via': 'kubernetes',
        'prometheus-headers': `X-Api-Key: ${API_KEY}`,
      },
      timeoutMs: 90_000,
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.log).toMatch(
      /observed traffic: \d+ request\(s\) between two scrapes, all answered by green/,
    );
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      switched: 'true',
      'rolled-back': 'false',
    });
    expect(
      (live(sandbox, 'Service', 'shop', 'shopfront') as { spec?: { selector?: Record<string, string> } }).spec
        ?.selector?.version,
    ).toBe('green');
    expect(clusterFront.seen.length).toBeGreaterThan(1);
    expect(clusterFront.seen.every((s) => s.apiKey === API_KEY && s.authorization === undefined)).toBe(true);
    await expectNoSecrets(result);
  });
});
