/**
 * The sandbox's kube-apiserver: HTTPS on loopback with a CA made at start, bearer tokens,
 * discovery, every verb on the kinds in resources.ts, faults and an audit entry per request.
 * kubectl and @kubernetes/client-node talk to it unchanged through `kubeconfig()`.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { stringify as toYaml } from 'yaml';
import type { Store } from '../store.js';
import type { AuditLog, FaultRule, Faults, FiredRule } from '../faults.js';
import { applyConnectionFault, faultNote } from '../faults.js';
import type { ClusterHooks } from '../hooks.js';
import { createServerCertificates } from './tls.js';
import { TokenRegistry, authorize, selfSubjectAccessReview, type TokenSpec } from './auth.js';
import { PROTOBUF, decodeProtobufObject } from './protobuf.js';
import { isObject, parseJsonBody } from './patch.js';
import { parseRequestInfo, type RequestInfo } from './request-info.js';
import { ApiError, failure, qualifiedResource, toApiError, toStatus } from './status.js';
import {
  AUTHORIZATION_GROUP,
  SERVER_VERSION,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  openApiV3GroupVersion,
  openApiV3Root,
} from './discovery.js';
import { sendJson, serveResource, type ServeDeps } from './handlers.js';
import { PreviousObjects, type ActiveWatch } from './watch.js';

export type { TokenSpec } from './auth.js';

export interface ApiServerOptions {
  store: Store;
  faults: Faults;
  audit: AuditLog;
  hooks?: ClusterHooks;
  tokens?: TokenSpec[];
  /** Loopback address to bind; 127.0.0.1 by default. */
  host?: string;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK; 1000 ms by default. */
  bookmarkIntervalMs?: number;
}

export interface ApiServer {
  /** https://127.0.0.1:<port> */
  url: string;
  /** Base64 of the CA PEM, as kubeconfig's certificate-authority-data. */
  caData: string;
  adminToken: string;
  /** Registers a token; returns the bearer token (spec.token when given). */
  addToken(spec: TokenSpec): string;
  /** A kubeconfig (YAML) for the admin token or the given one. */
  kubeconfig(options?: { token?: string; namespace?: string; context?: string }): string;
  /** Closes the server and every open watch. */
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;
const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

const FAULT_REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function faultError(rule: FaultRule, info: RequestInfo): ApiError | undefined {
  const headers: Record<string, string> = {};
  if (rule.retryAfterSeconds !== undefined) headers['Retry-After'] = String(rule.retryAfterSeconds);
  if (rule.status !== undefined) {
    const code = rule.status;
    const message =
      code === 429
        ? 'Too many requests, please try again later.'
        : code === 503
          ? 'The server is currently unable to handle the request (injected fault)'
          : `Internal error occurred: injected fault (${code})`;
    return new ApiError(
      code,
      FAULT_REASONS[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest'),
      message,
      rule.retryAfterSeconds !== undefined ? { retryAfterSeconds: rule.retryAfterSeconds } : undefined,
      headers,
    );
  }
  if (rule.conflict && WRITE_VERBS.has(info.verb) && info.kind === 'resource') {
    const name = info.name ?? '';
    return new ApiError(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(info.type, name)}: the object has been modified; please apply your changes to the latest version and try again`,
      { name, ...(info.group ? { group: info.group } : {}), kind: info.type.resource },
    );
  }
  return undefined;
}

function readBodyOnce(req: IncomingMessage): () => Promise<Buffer> {
  let pending: Promise<Buffer> | undefined;
  return () =>
    (pending ??= new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          reject(new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'));
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    }));
}

function dryRunOf(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const value of values) {
    if (value !== 'All')
      throw new ApiError(400, 'BadRequest', `Invalid dryRun value: ${value}; only "All" is supported`);
  }
  return values.length > 0;
}

/** /version, discovery and OpenAPI; undefined when the path is none of them. */
function nonResourceBody(path: string, serverUrl: string): unknown {
  const trimmed = path.replace(/\/+$/, '') || '/';
  if (trimmed === '/version') return SERVER_VERSION;
  if (trimmed === '/api') return apiVersions(serverUrl.replace(/^https:\/\//, ''));
  if (trimmed === '/api/v1') return apiResourceList('', 'v1');
  if (trimmed === '/apis') return apiGroupList();
  if (trimmed === '/openapi/v3') return openApiV3Root();
  if (trimmed.startsWith('/openapi/v3/')) return openApiV3GroupVersion(trimmed.slice('/openapi/v3/'.length));
  if (trimmed === '/healthz' || trimmed === '/readyz' || trimmed === '/livez') return 'ok';
  const group = /^\/apis\/([^/]+)$/.exec(trimmed);
  if (group?.[1]) return apiGroup(group[1]);
  const groupVersion = /^\/apis\/([^/]+)\/([^/]+)$/.exec(trimmed);
  if (groupVersion?.[1] && groupVersion[2]) return apiResourceList(groupVersion[1], groupVersion[2]);
  return undefined;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { store, faults, audit, hooks } = options;
  const host = options.host ?? '127.0.0.1';
  const certificates = await createServerCertificates();
  const tokens = new TokenRegistry();
  const adminToken = tokens.add({ name: 'admin' });
  for (const spec of options.tokens ?? []) tokens.add(spec);

  const previous = new PreviousObjects(store);
  const watches = new Set<ActiveWatch>();
  const deps: ServeDeps = {
    store,
    previous,
    watches,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? 1000,
    ...(hooks ? { hooks } : {}),
  };
  let serverUrl = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://sandbox.invalid');
    let user = 'anonymous';
    let verb = method.toLowerCase();
    let dryRun = false;
    let fault: FiredRule | undefined;
    let recorded = false;
    const fieldSelector = url.searchParams.get('fieldSelector');
    const labelSelector = url.searchParams.get('labelSelector');
    const record = (status: number): void => {
      if (recorded) return;
      recorded = true;
      audit.record({
        target: 'api',
        user,
        verb,
        method,
        path: url.pathname,
        status,
        ...(dryRun ? { dryRun } : {}),
        ...(fieldSelector ? { fieldSelector } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(fault ? { fault: faultNote(fault) } : {}),
      });
      faults.served('api', { verb, method, path: url.pathname, dryRun }, status);
    };
    // Recorded as the status line goes out, before the client can see the answer, so a test
    // that reads the log right after a call finds the entry (and a rule armed by it is armed
    // before the client's next request); 'close' covers requests that got no answer (status 0).
    const writeHead = res.writeHead.bind(res) as (code: number, ...rest: unknown[]) => ServerResponse;
    res.writeHead = (code: number, ...rest: unknown[]) => {
      record(code);
      return writeHead(code, ...rest);
    };
    res.on('close', () => record(res.headersSent ? res.statusCode : 0));
    try {
      const info = parseRequestInfo(method, url.pathname, url.searchParams);
      verb = info.verb;
      const token = tokens.authenticate(req.headers.authorization);
      user = token.name;
      dryRun = dryRunOf(url.searchParams);
      fault = faults.take('api', { verb, method, path: url.pathname, dryRun });
      if (fault && !(await applyConnectionFault(fault, req, res, record))) return;
      const injected = fault ? faultError(fault, info) : undefined;
      if (injected) throw injected;
      const readRawBody = readBodyOnce(req);
      const readBody = async (): Promise<string> => (await readRawBody()).toString('utf8');

      if (
        info.kind === 'unknown' &&
        info.group === AUTHORIZATION_GROUP &&
        info.resource === 'selfsubjectaccessreviews' &&
        method === 'POST'
      ) {
        const raw = await readRawBody();
        const review = (req.headers['content-type'] ?? '').startsWith(PROTOBUF)
          ? decodeProtobufObject(raw)
          : parseJsonBody(raw.toString('utf8'));
        if (!isObject(review))
          throw new ApiError(400, 'BadRequest', 'a SelfSubjectAccessReview object is required');
        sendJson(res, 201, selfSubjectAccessReview(token, review));
        return;
      }
      authorize(token, info);

      if (info.kind === 'nonResource') {
        const body = nonResourceBody(url.pathname, serverUrl);
        if (body === undefined)
          throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        if (typeof body === 'string') {
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(body);
          return;
        }
        sendJson(res, 200, body);
        return;
      }
      if (info.kind === 'unknown') {
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      }
      await serveResource(deps, { req, res, url, info, readBody, readRawBody, dryRun, fault });
    } catch (error) {
      const apiError = toApiError(error);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendJson(res, apiError.code, toStatus(apiError), apiError.headers);
    }
  };

  const server: Server = createServer({ key: certificates.key, cert: certificates.cert }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, failure(500, 'InternalError', String(error)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  serverUrl = `https://${host}:${port}`;
  const caData = Buffer.from(certificates.caCert).toString('base64');

  return {
    url: serverUrl,
    caData,
    adminToken,
    addToken: (spec) => tokens.add(spec),
    kubeconfig: (kc = {}) => {
      const context = kc.context ?? 'sandbox';
      return toYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'sandbox', cluster: { server: serverUrl, 'certificate-authority-data': caData } }],
        users: [{ name: `${context}-user`, user: { token: kc.token ?? adminToken } }],
        contexts: [
          {
            name: context,
            context: {
              cluster: 'sandbox',
              user: `${context}-user`,
              ...(kc.namespace ? { namespace: kc.namespace } : {}),
            },
          },
        ],
        'current-context': context,
        preferences: {},
      });
    },
    stop: async () => {
      for (const watch of [...watches]) watch.close();
      previous.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
