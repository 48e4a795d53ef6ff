/**
 * The Service proxy to something that is not a pod of the sandbox, the way a real cluster reaches
 * an endpoint it does not schedule: a Service without a selector and Endpoints written by hand.
 * The e2e tests put the real Prometheus behind the proxy this way.
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerCertificates } from '../src/api/tls.js';
import type { TokenSpec } from '../src/api/server.js';
import { startTestApi, type TestApi } from './api-helpers.js';
import { startWorld, T, type World } from './cluster-helpers.js';

let world: World;
let t: TestApi;
const servers: Server[] = [];
const seen: { scheme: string; url: string; headers: IncomingMessage['headers'] }[] = [];
let plainPort: number;
let tlsPort: number;

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function externalService(name: string, port: number, targetPort: number): void {
  world.store.create(T.services, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'monitoring' },
    spec: { ports: [{ name: 'web', port }] },
  });
  world.store.create(T.endpoints, {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'monitoring' },
    subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'web', port: targetPort }] }],
  });
}

beforeAll(async () => {
  world = await startWorld({ namespaces: ['monitoring'] });
  t = await startTestApi({ store: world.store, hooks: world.cluster });
  const answer = (scheme: string) => (req: IncomingMessage, res: ServerResponse) => {
    seen.push({ scheme, url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${scheme} ${req.url}`);
  };
  const certs = await createServerCertificates();
  plainPort = await listen(createHttpServer(answer('http')));
  tlsPort = await listen(createHttpsServer({ cert: certs.cert, key: certs.key }, answer('https')));
  externalService('prometheus', 9090, plainPort);
  externalService('prometheus-tls', 9443, tlsPort);
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await t?.stop();
  await world?.stop();
});

describe('services/proxy to hand-written Endpoints', () => {
  it('keeps the Endpoints of a Service without a selector as they were written', async () => {
    // Long enough for the endpoints controller to have looked at both Services.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(world.store.get(T.endpoints, 'monitoring', 'prometheus')).toMatchObject({
      subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'web', port: plainPort }] }],
    });
  });

  it('forwards to the endpoint by scheme, name and port, with headers but without our credentials', async () => {
    const answer = await t.raw(
      'GET',
      '/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy/prom/api/v1/query?query=up',
      { headers: { 'X-Scope-OrgID': 'tenant-1' } },
    );
    expect(answer).toMatchObject({ status: 200, text: 'http /prom/api/v1/query?query=up' });
    expect(seen.at(-1)!.headers['x-scope-orgid']).toBe('tenant-1');
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
    expect((await t.raw('GET', '/api/v1/namespaces/monitoring/services/prometheus:web/proxy/x')).text).toBe(
      'http /x',
    );
  });

  it('speaks TLS to the endpoint for the https: scheme', async () => {
    const answer = await t.raw(
      'GET',
      '/api/v1/namespaces/monitoring/services/https:prometheus-tls:9443/proxy/-/ready',
    );
    expect(answer).toMatchObject({ status: 200, text: 'https /-/ready' });
  });

  it('answers 503 for a port the Service does not have, and needs get on services/proxy', async () => {
    expect((await t.raw('GET', '/api/v1/namespaces/monitoring/services/prometheus:9091/proxy/')).status).toBe(
      503,
    );
    const reader: TokenSpec = {
      name: 'reader',
      namespaces: ['monitoring'],
      verbs: ['get'],
      resources: ['services/proxy'],
    };
    const token = t.api.addToken(reader);
    const allowed = await t.raw(
      'GET',
      '/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy/q',
      { token },
    );
    expect(allowed.status).toBe(200);
    const other = t.api.addToken({ ...reader, name: 'services-only', resources: ['services'] });
    const refused = await t.raw(
      'GET',
      '/api/v1/namespaces/monitoring/services/http:prometheus:9090/proxy/q',
      {
        token: other,
      },
    );
    expect(refused.status).toBe(403);
  });
});
