import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServerCertificates } from '../../../sandbox/src/api/tls.js';
import { createKube, type Kube } from '../kube/kube.js';
import {
  buildKubeconfig,
  sendJson,
  sendStatus,
  startFakeKubeApi,
  type FakeKubeApi,
} from '../testing/fake-kube-api.js';
import { prometheusClientFor } from './checks/prometheus.js';
import type { PrometheusAccess } from './prometheus-access.js';
import {
  createPrometheusClient,
  prometheusApiUrl,
  PrometheusRefusedError,
  QueryRejectedError,
  type PrometheusClient,
} from './prometheus-client.js';
import type { PrometheusCheck } from './types.js';

describe('prometheusApiUrl', () => {
  it.each([
    ['http://prom:9090', 'http://prom:9090/api/v1/query'],
    ['http://prom:9090/', 'http://prom:9090/api/v1/query'],
    ['https://prom.example/prom', 'https://prom.example/prom/api/v1/query'],
    ['https://prom.example/prom//', 'https://prom.example/prom/api/v1/query'],
    ['https://prom.example/prom?token=abc', 'https://prom.example/prom/api/v1/query?token=abc'],
    ['https://prom.example/?a=1&b=2#frag', 'https://prom.example/api/v1/query?a=1&b=2'],
    ['http://user:pass@prom:9090/p/', 'http://user:pass@prom:9090/p/api/v1/query'],
  ])('%s', (base, expected) => {
    expect(prometheusApiUrl(base, 'api/v1/query')).toBe(expected);
  });
});

describe('createPrometheusClient', () => {
  const seen: { url: string; authorization: string | undefined }[] = [];
  let answer: (res: ServerResponse) => void;
  let server: Server;
  let origin: string;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
      answer(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    seen.length = 0;
  });

  const json = (status: number, body: unknown) => (res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  it('queries under the base path, keeping its query parameters and credentials', async () => {
    answer = json(200, { status: 'success', data: { resultType: 'scalar', result: [0, '0.5'] } });
    const client = createPrometheusClient(`http://user:s3cr3tpass@${origin}/prom?token=t0kenvalue`);
    await expect(client.query('up', { deadlineMs: 2000 })).resolves.toEqual([{ labels: {}, value: 0.5 }]);
    expect(seen).toEqual([
      {
        url: '/prom/api/v1/query?token=t0kenvalue&query=up',
        authorization: `Basic ${Buffer.from('user:s3cr3tpass').toString('base64')}`,
      },
    ]);
  });

  it('names Prometheus by its redacted URL when it fails', async () => {
    answer = json(503, { status: 'error', error: 'overloaded' });
    const client = createPrometheusClient(`http://user:s3cr3tpass@${origin}/prom/?token=t0kenvalue`);
    const err = await client.query('up', { deadlineMs: 300 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      new RegExp(`^GET Prometheus http://${origin}/prom/api/v1/query failed after \\d+ attempts: HTTP 503`),
    );
    const dump = inspect(err, { depth: 10 }) + JSON.stringify(err);
    expect(dump).not.toContain('s3cr3tpass');
    expect(dump).not.toContain('t0kenvalue');
  });

  it('fails each query, without the URL, when the base is not a URL', async () => {
    for (const [base, shown] of [
      ['prom:9090', 'prom:9090'],
      ['prom:9090@user:s3cr3tpass', '(a URL without a host, not shown)'],
      ['http//user:s3cr3tpass@prom', '(a URL without a host, not shown)'],
    ]) {
      const err = await createPrometheusClient(base!)
        .query('up', { deadlineMs: 300 })
        .catch((e: unknown) => e);
      expect((err as Error).message).toBe(`Prometheus ${shown}: expected an http or https URL of Prometheus`);
    }
    expect(seen).toEqual([]);
  });
});

describe('createPrometheusClient with an access', () => {
  interface Seen {
    port: number;
    url: string;
    headers: IncomingMessage['headers'];
  }
  const seen: Seen[] = [];
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const servers: Server[] = [];
  let main: string;
  let other: string;

  const vector = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
  };

  async function listen(): Promise<string> {
    const server = createServer((req, res) => {
      seen.push({ port: (server.address() as AddressInfo).port, url: req.url ?? '', headers: req.headers });
      answer(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  beforeAll(async () => {
    [main, other] = await Promise.all([listen(), listen()]);
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  beforeEach(() => {
    seen.length = 0;
    answer = (_req, res) => vector(res);
  });

  const token: PrometheusAccess = {
    bearerToken: 'pr0m-t0ken-value',
    headers: { 'X-Scope-OrgID': 'tenant-1' },
    via: 'direct',
  };

  it('sends the bearer token and the extra headers', async () => {
    await createPrometheusClient(`${main}/prom`, token).query('up', { deadlineMs: 2000 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.url).toBe('/prom/api/v1/query?query=up');
    expect(seen[0]!.headers.authorization).toBe('Bearer pr0m-t0ken-value');
    expect(seen[0]!.headers['x-scope-orgid']).toBe('tenant-1');
  });

  it('sends basic auth', async () => {
    const access: PrometheusAccess = {
      basicAuth: { username: 'gate', password: 'pa55word' },
      headers: {},
      via: 'direct',
    };
    await createPrometheusClient(main, access).query('up', { deadlineMs: 2000 });
    expect(seen[0]!.headers.authorization).toBe(`Basic ${Buffer.from('gate:pa55word').toString('base64')}`);
  });

  it("gives the access to the main Prometheus's origin only, never to a check's own", async () => {
    const cache = new Map<string, PrometheusClient>();
    const gate = { prometheusUrl: `${main}/`, prometheus: token };
    const check = (url: string) => ({ prometheusUrl: url }) as PrometheusCheck;
    await prometheusClientFor(check(`${main}/prom`), cache, gate).query('up', { deadlineMs: 2000 });
    await prometheusClientFor(check(other), cache, gate).query('up', { deadlineMs: 2000 });
    const [toMain, toOther] = seen;
    expect(toMain!.headers.authorization).toBe('Bearer pr0m-t0ken-value');
    expect(toOther!.port).toBe(Number(new URL(other).port));
    expect(toOther!.headers.authorization).toBeUndefined();
    expect(toOther!.headers['x-scope-orgid']).toBeUndefined();
  });

  it('fails at once, without the token, when Prometheus refuses the credentials', async () => {
    answer = (_req, res) => res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized\n');
    const err = await createPrometheusClient(main, token)
      .query('up', { deadlineMs: 2000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusRefusedError);
    expect(err).toBeInstanceOf(QueryRejectedError);
    expect((err as Error).message).toBe(
      `Prometheus ${main}/api/v1/query refused the query (HTTP 401): check prometheus-token and prometheus-headers`,
    );
    expect(seen).toHaveLength(1);
    expect(inspect(err, { depth: 10 }) + JSON.stringify(err)).not.toContain('pr0m-t0ken-value');
  });

  it('says which inputs to give when Prometheus asks for credentials and has none', async () => {
    answer = (_req, res) => res.writeHead(403).end();
    const err = await createPrometheusClient(main)
      .query('up', { deadlineMs: 2000 })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /refused the query \(HTTP 403\): it asks for credentials: give prometheus-token, or prometheus-username and prometheus-password$/,
    );
  });
});

describe('createPrometheusClient over https', () => {
  let server: HttpsServer;
  let url: string;
  let ca: string;

  beforeAll(async () => {
    const certs = await createServerCertificates();
    ca = certs.caCert;
    server = createHttpsServer({ cert: certs.cert, key: certs.key }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [0, '1'] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('trusts the CA bundle of the access, and only then', async () => {
    const withCa = createPrometheusClient(url, { ca, headers: {}, via: 'direct' });
    await expect(withCa.query('up', { deadlineMs: 2000 })).resolves.toEqual([{ labels: {}, value: 1 }]);
    const err = await createPrometheusClient(url)
      .query('up', { deadlineMs: 500 })
      .catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/failed.*(SELF_SIGNED|UNABLE_TO_VERIFY|unable to verify)/i);
  });
});

describe('createPrometheusClient through the Kubernetes API', () => {
  let api: FakeKubeApi;
  let kube: Kube;
  const proxied: PrometheusAccess = { headers: { 'X-Scope-OrgID': 'tenant-1' }, via: 'kubernetes' };

  beforeAll(async () => {
    api = await startFakeKubeApi();
    kube = await createKube(
      { kubeconfig: buildKubeconfig(api.url, { token: 'kube-t0ken-value' }) },
      { setSecret: () => undefined, env: {} },
    );
  });
  afterAll(() => api.close());
  beforeEach(() => {
    api.requests.length = 0;
  });

  it('queries the Service proxy with the kubeconfig, passing the extra headers on', async () => {
    api.handler = (_req, res) =>
      sendJson(res, 200, { status: 'success', data: { resultType: 'scalar', result: [0, '0.25'] } });
    const client = createPrometheusClient('http://prometheus.monitoring.svc:9090/prom/', {
      ...proxied,
      kube,
    });
    await expect(client.query('up', { deadlineMs: 2000 })).resolves.toEqual([{ labels: {}, value: 0.25 }]);
    expect(api.requests).toHaveLength(1);
    const [request] = api.requests;
    expect(request!.path).toBe(
      '/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy/prom/api/v1/query',
    );
    expect(request!.query.get('query')).toBe('up');
    expect(request!.headers.authorization).toBe('Bearer kube-t0ken-value');
    expect(request!.headers['x-scope-orgid']).toBe('tenant-1');
  });

  it('uses https: in the proxy path for an https Prometheus, and the default port', async () => {
    api.handler = (_req, res) =>
      sendJson(res, 200, { status: 'success', data: { resultType: 'vector', result: [] } });
    await createPrometheusClient('https://prometheus.monitoring', { ...proxied, kube }).query('up', {
      deadlineMs: 2000,
    });
    expect(api.requests[0]!.path).toBe(
      '/api/v1/namespaces/monitoring/services/https:prometheus:443/proxy/api/v1/query',
    );
  });

  it('names the missing RBAC rule when the API server refuses the proxy', async () => {
    api.handler = (_req, res) =>
      sendStatus(
        res,
        403,
        'Forbidden',
        'services "http:prometheus:9090" is forbidden: User "robot" cannot get resource "services/proxy" in API group "" in the namespace "monitoring"',
      );
    const err = await createPrometheusClient('http://prometheus.monitoring:9090', { ...proxied, kube })
      .query('up', { deadlineMs: 2000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusRefusedError);
    expect((err as Error).message).toMatch(
      /^Prometheus http:\/\/prometheus\.monitoring:9090\/api\/v1\/query through the Kubernetes API: the Kubernetes API refused the Service proxy \(HTTP 403: .*\); the kubeconfig's user needs "get" on "services\/proxy" in namespace monitoring$/,
    );
    expect(api.requests).toHaveLength(1);
    expect(inspect(err, { depth: 10 })).not.toContain('kube-t0ken-value');
  });

  it('says the Service is missing, and retries a Service with no ready endpoint until the deadline', async () => {
    api.handler = (_req, res) => sendStatus(res, 404, 'NotFound', 'services "prometheus" not found');
    const missing = await createPrometheusClient('http://prometheus.monitoring:9090', { ...proxied, kube })
      .query('up', { deadlineMs: 2000 })
      .catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(
      /found no Service monitoring\/prometheus \(HTTP 404: .*\); check prometheus-url$/,
    );
    api.handler = (_req, res) =>
      sendStatus(res, 503, 'ServiceUnavailable', 'no endpoints available for service "http:prometheus:9090"');
    api.requests.length = 0;
    const down = await createPrometheusClient('http://prometheus.monitoring:9090', { ...proxied, kube })
      .query('up', { deadlineMs: 400 })
      .catch((e: unknown) => e);
    expect(down).not.toBeInstanceOf(QueryRejectedError);
    expect((down as Error).message).toMatch(/HTTP 503.*no endpoints available/);
    expect(api.requests.length).toBeGreaterThan(1);
  });

  it('fails each query without a Kubernetes client or an in-cluster URL', async () => {
    for (const [url, access, reason] of [
      ['http://prometheus.monitoring:9090', proxied, 'no Kubernetes client for prometheus-via: kubernetes'],
      [
        'http://10.0.0.7:9090',
        { ...proxied, kube },
        'the host "10.0.0.7" does not name a Service and its namespace',
      ],
    ] as const) {
      const err = await createPrometheusClient(url, access)
        .query('up', { deadlineMs: 300 })
        .catch((e: unknown) => e);
      expect((err as Error).message).toBe(
        `Prometheus ${url}/api/v1/query through the Kubernetes API: ${reason}`,
      );
    }
    expect(api.requests).toEqual([]);
  });
});
