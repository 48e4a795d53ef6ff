import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpPost } from './transport.js';

/** A proxy that records each request line and refuses the tunnel, so nothing leaves the machine. */
let proxy: Server;
let proxyUrl: string;
const seen: string[] = [];

beforeAll(async () => {
  proxy = createServer((socket) => {
    socket.once('data', (chunk) => {
      seen.push(chunk.toString().split('\r\n')[0]!);
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((done) => proxy.close(() => done())));

const post = (env: NodeJS.ProcessEnv, url: string) =>
  createHttpPost(env)(url, '{}', { 'content-type': 'application/json' }, AbortSignal.timeout(5000));

describe('createHttpPost proxies', () => {
  it('tunnels HTTPS through HTTPS_PROXY with CONNECT', async () => {
    seen.length = 0;
    await expect(
      post({ HTTPS_PROXY: proxyUrl }, 'https://hooks.slack.example/services/a/b/c'),
    ).rejects.toThrow();
    expect(seen).toEqual(['CONNECT hooks.slack.example:443 HTTP/1.1']);
  });

  it('reads the lower-case https_proxy too', async () => {
    seen.length = 0;
    await expect(
      post({ https_proxy: proxyUrl }, 'https://slack.example/api/chat.postMessage'),
    ).rejects.toThrow();
    expect(seen).toEqual(['CONNECT slack.example:443 HTTP/1.1']);
  });

  it('goes around the proxy for hosts in NO_PROXY', async () => {
    seen.length = 0;
    const error = await post(
      { HTTPS_PROXY: proxyUrl, NO_PROXY: '.internal.example,127.0.0.1' },
      'https://127.0.0.1:1/x',
    ).catch((e: unknown) => e);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(seen).toEqual([]);
  });
});
