/**
 * services/[<scheme>:]<name>[:port]/proxy/<path>: forwards method, headers and body to a ready
 * endpoint of the Service, the way kube-apiserver's service proxy does, and answers 503 when
 * none is ready. Plain HTTP, or TLS for the `https:` scheme, without verifying the endpoint's
 * certificate (kube-apiserver's proxy transport does not verify it either).
 */
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as tlsRequest } from 'node:https';
import type { KubeObject } from '../store.js';
import type { ClusterHooks } from '../hooks.js';
import { ApiError } from './status.js';

/** Hop-by-hop headers and our own credentials never reach the workload. */
const DROPPED_REQUEST_HEADERS = new Set([
  'authorization',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'te',
  'trailer',
]);
const DROPPED_RESPONSE_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding']);

export function proxyToService(
  req: IncomingMessage,
  res: ServerResponse,
  hooks: ClusterHooks | undefined,
  service: KubeObject,
  nameWithPort: string,
  path: string,
  search: string,
): Promise<void> {
  const parts = nameWithPort.split(':');
  const port = parts.length === 3 ? parts[2] : parts[1];
  const secure = parts.length === 3 && parts[0] === 'https';
  const name = service.metadata.name ?? '';
  const target = hooks?.resolveServiceProxy(service.metadata.namespace ?? '', name, port || undefined);
  if (!target)
    throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${nameWithPort}"`);

  const headers: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined && !DROPPED_REQUEST_HEADERS.has(key.toLowerCase())) headers[key] = value;
  }
  headers.host = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const options = {
      host: target.host,
      port: target.port,
      method: req.method,
      path: `${path}${search}`,
      headers,
    };
    const upstream = (secure ? tlsRequest : request)(
      secure ? { ...options, rejectUnauthorized: false } : options,
      (answer) => {
        const outHeaders: Record<string, string | string[]> = {};
        for (const [key, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !DROPPED_RESPONSE_HEADERS.has(key.toLowerCase()))
            outHeaders[key] = value;
        }
        res.writeHead(answer.statusCode ?? 502, outHeaders);
        answer.pipe(res);
        answer.on('end', () => resolve());
        answer.on('error', () => resolve());
      },
    );
    upstream.on('error', (error) =>
      reject(new ApiError(503, 'ServiceUnavailable', `error trying to reach service: ${error.message}`)),
    );
    req.pipe(upstream);
  });
}
