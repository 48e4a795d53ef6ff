import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpClient, HttpError, redactUrl } from './http.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

async function listen(onRequest: () => Handler, seen: Seen[]): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const entry = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(entry);
      onRequest()(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const fast = { baseDelayMs: 1, maxDelayMs: 5 };
const seen: Seen[] = [];
let handler: Handler = (_req, res) => reply(res, 200, {});
let target: { server: Server; url: string };

beforeAll(async () => {
  target = await listen(() => handler, seen);
});
afterAll(async () => {
  target.server.closeAllConnections();
  await new Promise((resolve) => target.server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
});

describe('createHttpClient', () => {
  it('retries a GET on 503 and returns the answer', async () => {
    handler = (_req, res) =>
      seen.length === 1 ? reply(res, 503, { busy: true }) : reply(res, 200, { ok: true });
    const http = createHttpClient({ baseURL: target.url, retry: fast });
    const res = await http.get<{ ok: boolean }>('/api/v1/query', { params: { query: 'up' } });
    expect(res).toMatchObject({ status: 200, data: { ok: true }, attempts: 2 });
    expect(seen.map((s) => s.url)).toEqual(['/api/v1/query?query=up', '/api/v1/query?query=up']);
    expect(seen[0]?.headers['user-agent']).toBe('cd-actions');
  });

  it('does not retry a POST on 503, and says what failed without the query string', async () => {
    handler = (_req, res) => reply(res, 503, { error: 'maintenance' });
    const http = createHttpClient({ retry: fast });
    const err = await http.post(`${target.url}/hook?sig=SECRET`, { text: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as Error).message).toBe(`POST ${target.url}/hook failed: HTTP 503: {"error":"maintenance"}`);
    expect((err as HttpError).status).toBe(503);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.body).toBe('{"text":"hi"}');
  });

  it('retries a POST on 429 after Retry-After', async () => {
    handler = (_req, res) =>
      seen.length === 1
        ? reply(res, 429, { ok: false }, { 'retry-after': '0.1' })
        : reply(res, 200, { ok: true });
    const http = createHttpClient({ retry: fast });
    const started = Date.now();
    const res = await http.post(`${target.url}/api/chat.postMessage`, {});
    expect(res.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(95);
  });

  it('never puts headers or the secret URL into the error', async () => {
    handler = (_req, res) => reply(res, 401, { error: 'invalid_auth' });
    const http = createHttpClient({ headers: { Authorization: 'Bearer xoxb-very-secret' }, retry: fast });
    const err = await http
      .post(`${target.url}/services/T000/B000/XXXXSECRET`, {}, { label: 'Slack webhook' })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('POST Slack webhook failed: HTTP 401: {"error":"invalid_auth"}');
    const dump = inspect(err, { depth: 10 }) + JSON.stringify(err);
    expect(dump).not.toContain('xoxb-very-secret');
    expect(dump).not.toContain('XXXXSECRET');
    expect(seen[0]?.headers.authorization).toBe('Bearer xoxb-very-secret');
  });

  it('times out each attempt', async () => {
    handler = (_req, res) => setTimeout(() => reply(res, 200, {}), 300);
    const http = createHttpClient({ timeoutMs: 30, retry: { ...fast, maxAttempts: 2 } });
    const err = await http.get(`${target.url}/slow`).catch((e: unknown) => e);
    expect((err as HttpError).code).toBe('ECONNABORTED');
    expect((err as Error).message).toBe(`GET ${target.url}/slow failed after 2 attempts: ECONNABORTED`);
  });

  it('hands back statuses the caller accepts', async () => {
    handler = (_req, res) => reply(res, 500, { down: true });
    const http = createHttpClient({ retry: fast });
    const res = await http.get(`${target.url}/healthz`, { acceptStatus: () => true });
    expect(res).toMatchObject({ status: 500, data: { down: true }, attempts: 1 });
  });

  it('redacts query strings', () => {
    expect(redactUrl('https://hooks.example/a/b?token=x#f')).toBe('https://hooks.example/a/b');
    expect(redactUrl('/q?x=1', 'http://prom:9090')).toBe('http://prom:9090/q');
  });

  it.each([
    'token',
    'access_token',
    'api_key',
    'apikey',
    'key',
    'password',
    'secret',
    'sig',
    'signature',
    'auth',
    'X-Amz-Signature',
    'anything',
  ])('leaves out a %s query parameter', (name) => {
    expect(redactUrl(`https://prom.example/prom/api/v1/query?${name}=V4lue&query=up`)).toBe(
      'https://prom.example/prom/api/v1/query',
    );
  });

  it('leaves out userinfo, and keeps the port', () => {
    expect(redactUrl('http://user:s3cr3t@127.0.0.1:9090/prom/?token=t0k#frag')).toBe(
      'http://127.0.0.1:9090/prom/',
    );
    expect(redactUrl('https://only-user@prom.example')).toBe('https://prom.example/');
    expect(redactUrl('/api/v1/query', 'http://user:s3cr3t@prom:9090/base/')).toBe(
      'http://prom:9090/api/v1/query',
    );
  });

  it('shows text without a host only when it has no place for a credential', () => {
    expect(redactUrl('prometheus:9090')).toBe('prometheus:9090');
    expect(redactUrl('not a url')).toBe('not a url');
    for (const text of ['user:s3cr3t@prom.example', 'http//user:s3cr3t@prom', 'prom/x?token=t0k', 'a#s3cr3t'])
      expect(redactUrl(text)).toBe('(a URL without a host, not shown)');
  });

  it('keeps userinfo and query parameters out of the error, while sending them', async () => {
    handler = (_req, res) => reply(res, 503, { error: 'down' });
    const http = createHttpClient({ retry: { ...fast, maxAttempts: 2 } });
    const credentialed = target.url.replace('http://', 'http://user:s3cr3tpass@');
    const err = await http.get(`${credentialed}/prom?token=t0kenvalue`).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      `GET ${target.url}/prom failed after 2 attempts: HTTP 503: {"error":"down"}`,
    );
    const dump = inspect(err, { depth: 10 }) + JSON.stringify(err);
    expect(dump).not.toContain('s3cr3tpass');
    expect(dump).not.toContain('t0kenvalue');
    expect(seen[0]?.url).toBe('/prom?token=t0kenvalue');
    expect(seen[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:s3cr3tpass').toString('base64')}`);
  });
});

describe('proxy from the environment', () => {
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
  const proxied: Seen[] = [];
  let proxy: { server: Server; url: string };

  beforeAll(async () => {
    proxy = await listen(() => (_req, res) => reply(res, 200, { via: 'proxy' }), proxied);
  });
  afterAll(async () => {
    proxy.server.closeAllConnections();
    await new Promise((resolve) => proxy.server.close(resolve));
  });
  afterEach(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  it('sends requests through HTTP_PROXY and bypasses it for NO_PROXY hosts', async () => {
    process.env.HTTP_PROXY = proxy.url;
    process.env.NO_PROXY = '127.0.0.1,localhost';
    handler = (_req, res) => reply(res, 200, { via: 'direct' });
    const http = createHttpClient({ retry: fast });

    const viaProxy = await http.get<{ via: string }>(
      'http://prometheus.internal.test:9090/api/v1/query?query=up',
    );
    expect(viaProxy.data.via).toBe('proxy');
    expect(proxied[0]?.url).toBe('http://prometheus.internal.test:9090/api/v1/query?query=up');

    const direct = await http.get<{ via: string }>(`${target.url}/x`);
    expect(direct.data.via).toBe('direct');
    expect(proxied).toHaveLength(1);
  });
  it('goes direct for a request that says noProxy (the Kubernetes API), whatever HTTP_PROXY says', async () => {
    process.env.HTTP_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    proxied.length = 0;
    handler = (_req, res) => reply(res, 200, { via: 'direct' });
    const http = createHttpClient({ retry: fast });
    expect((await http.get<{ via: string }>(`${target.url}/x`)).data.via).toBe('proxy');
    expect((await http.get<{ via: string }>(`${target.url}/x`, { noProxy: true })).data.via).toBe('direct');
    expect(proxied).toHaveLength(1);
  });
});
