import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseChecks } from '../parse.js';
import type { HttpCheck } from '../types.js';
import { readJsonPath, sampleHttp, serviceProxyPath } from './http.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/slow') {
      setTimeout(() => res.writeHead(200).end('late'), 300);
      return;
    }
    if (req.url === '/down') return void res.writeHead(503).end('unavailable');
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'ok', items: [{ ready: true }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function check(fields: string): HttpCheck {
  const { checks, problems } = parseChecks(parse(`- { kind: http, ${fields} }`));
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return checks[0] as HttpCheck;
}

describe('sampleHttp', () => {
  it('passes a 2xx answer whose JSONPath matches', async () => {
    const sample = await sampleHttp(check(`url: "${base}/", json-path: "$.items[0].ready", equals: true`), {
      namespace: 'shop',
    });
    expect(sample).toMatchObject({ outcome: 'ok' });
    expect(sample.detail).toMatch(/^HTTP 200 in \d+ ms$/);
  });

  it.each([
    ['url: "BASE/down"', /HTTP 503 in \d+ ms: status not 2xx/],
    ['url: "BASE/", body-contains: healthy', /body lacks "healthy"/],
    ['url: "BASE/", json-path: $.status, equals: down', /\$\.status is "ok", not "down"/],
    ['url: "BASE/slow", max-latency: 100ms', /slower than 100 ms/],
    ['url: "BASE/slow", timeout: 100ms', /^request failed: ECONNABORTED/],
    ['url: "http://127.0.0.1:1/"', /^request failed: ECONNREFUSED/],
  ])('fails %s', async (fields, detail) => {
    const sample = await sampleHttp(check(fields.replace('BASE', base)), { namespace: 'shop' });
    expect(sample.outcome).toBe('fail');
    expect(sample.detail).toMatch(detail);
  });

  it('accepts the statuses it is told to', async () => {
    expect(
      (await sampleHttp(check(`url: "${base}/down", expect-status: [503]`), { namespace: 'shop' })).outcome,
    ).toBe('ok');
  });

  it('has no data without a Kubernetes client for via: service-proxy', async () => {
    const sample = await sampleHttp(check('via: service-proxy, service: web, port: http, path: /healthz'), {
      namespace: 'shop',
    });
    expect(sample).toMatchObject({ outcome: 'no-data', error: true });
  });

  it('builds the Service proxy path', () => {
    expect(
      serviceProxyPath(check('via: service-proxy, service: web, port: http, path: /healthz?full=1'), 'shop'),
    ).toBe('/api/v1/namespaces/shop/services/web:http/proxy/healthz?full=1');
  });

  it('reads JSONPaths', () => {
    expect(readJsonPath({ a: { b: [1, { c: 'x' }] } }, '$.a.b[1].c')).toBe('x');
    expect(readJsonPath({ a: 1 }, '$.a.b')).toBeUndefined();
  });
});
