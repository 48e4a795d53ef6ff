/**
 * The one HTTP call Slack needs: a POST with a body, answered with status, headers and text.
 * Built on node:http(s) with an Agent made from HTTPS_PROXY / HTTP_PROXY / NO_PROXY (Node 24's
 * `proxyEnv`, which tunnels HTTPS through CONNECT), so the bundle carries no HTTP library and
 * starts fast. Retries are not here: see deliver.ts and core's withRetry.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A non-2xx answer, shaped for core's classifyError (`status`, `headers`). */
export class SlackHttpError extends Error {
  override readonly name = 'SlackHttpError';
  constructor(
    readonly status: number,
    readonly headers: Record<string, string>,
    readonly body: string,
  ) {
    super(`HTTP ${status}${body ? ` ${body.slice(0, 200)}` : ''}`);
  }
}

export type HttpPost = (
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
) => Promise<HttpAnswer>;

function proxyEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Runners set either case; Node reads the upper-case names first.
  return {
    HTTPS_PROXY: env.HTTPS_PROXY ?? env.https_proxy,
    HTTP_PROXY: env.HTTP_PROXY ?? env.http_proxy,
    NO_PROXY: env.NO_PROXY ?? env.no_proxy,
  };
}

/** An HttpPost through the proxy the environment names, if any. */
export function createHttpPost(env: NodeJS.ProcessEnv = process.env): HttpPost {
  const agents = {
    'https:': new https.Agent({ proxyEnv: proxyEnv(env) }),
    'http:': new http.Agent({ proxyEnv: proxyEnv(env) }),
  };
  return (url, body, headers, signal) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const target = new URL(url);
      const protocol = target.protocol === 'https:' ? 'https:' : 'http:';
      const send = protocol === 'https:' ? https.request : http.request;
      const request = send(
        target,
        {
          method: 'POST',
          agent: agents[protocol],
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const answer: HttpAnswer = {
              status: response.statusCode ?? 0,
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([k, v]) => [
                  k,
                  Array.isArray(v) ? v.join(', ') : (v ?? ''),
                ]),
              ),
              body: Buffer.concat(chunks).toString('utf8'),
            };
            if (answer.status >= 200 && answer.status < 300) resolve(answer);
            else reject(new SlackHttpError(answer.status, answer.headers, answer.body));
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
}
