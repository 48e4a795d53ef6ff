/**
 * A tiny scriptable stand-in for the Kubernetes API, for unit tests of kube.ts and watch.ts.
 * Each test sets `handler`; helpers answer JSON, Status errors and newline-delimited watch streams.
 * (The full sandbox API server lives in packages/sandbox; this one only needs to be predictable.)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}

export type FakeHandler = (req: RecordedRequest, res: ServerResponse) => void | Promise<void>;

export interface WatchStream {
  send(type: string, object: unknown): void;
  /** Ends the response cleanly, as an API server does when its watch timeout ends. */
  end(): void;
  /** Cuts the connection mid-stream, as a dropped network path would. */
  destroy(): void;
}

export interface FakeKubeApi {
  url: string;
  requests: RecordedRequest[];
  handler: FakeHandler;
  close(): Promise<void>;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export function sendStatus(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    res,
    code,
    { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message },
    headers,
  );
}

export function startWatch(res: ServerResponse): WatchStream {
  res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  return {
    send: (type, object) => {
      res.write(`${JSON.stringify({ type, object })}\n`);
    },
    end: () => res.end(),
    destroy: () => res.destroy(),
  };
}

export async function startFakeKubeApi(): Promise<FakeKubeApi> {
  const api: FakeKubeApi = {
    url: '',
    requests: [],
    handler: (_req, res) => sendStatus(res, 404, 'NotFound', 'no handler'),
    close: () => Promise.resolve(),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      api.requests.push(recorded);
      Promise.resolve(api.handler(recorded, res)).catch((err: unknown) => {
        if (!res.headersSent) sendStatus(res, 500, 'InternalError', String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  api.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return api;
}

/** A kubeconfig with one context per entry; the first is current unless `current` says otherwise. */
export function buildKubeconfig(
  server: string,
  options: { contexts?: { name: string; namespace?: string }[]; token?: string; current?: string } = {},
): string {
  const contexts = options.contexts ?? [{ name: 'test', namespace: 'shop' }];
  const token = options.token ?? 'sekret-token-0123456789';
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: fake',
    '  cluster:',
    `    server: ${server}`,
    // client-node refuses plain HTTP unless TLS verification is explicitly off.
    ...(server.startsWith('http:') ? ['    insecure-skip-tls-verify: true'] : []),
    'users:',
    '- name: robot',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    ...contexts.flatMap((c) => [
      `- name: ${c.name}`,
      '  context:',
      '    cluster: fake',
      '    user: robot',
      ...(c.namespace ? [`    namespace: ${c.namespace}`] : []),
    ]),
    `current-context: ${options.current ?? contexts[0]?.name ?? ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
