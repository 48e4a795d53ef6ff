import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPrometheusClient, prometheusApiUrl } from './prometheus-client.js';

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
