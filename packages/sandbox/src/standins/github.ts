/**
 * A GitHub REST stand-in for what the actions use: deployments, deployment statuses, the
 * repository and the rate limit. Every request is checked against GitHub's published OpenAPI
 * description (path, query and body), answered in GitHub's shapes, recorded, and can be made to
 * fail or be rate limited through `Faults`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AuditLog,
  type FaultRule,
  type Faults,
  type FiredRule,
  applyConnectionFault,
  faultNote,
} from '../faults.js';
import {
  type DeploymentRecord,
  type DeploymentStatusRecord,
  type Repository,
  deploymentJson,
  rateLimitJson,
  repositoryJson,
  shaFor,
  statusJson,
} from './github-objects.js';
import {
  type CompiledOperation,
  compiledOperations,
  describeSchemaErrors,
  type FieldError,
} from './github-schemas.js';
import { BodyTooLargeError, headerValue, listenOnLoopback, readBody, sendJson } from './http.js';

export interface GitHubRequest {
  method: string;
  /** Path and query string. */
  path: string;
  /** The OpenAPI operationId served, or 'unknown'. */
  operationId: string;
  body: unknown;
  /** 0 when a fault dropped or stalled the request before it was served. */
  status: number;
  at: string;
}

export interface GitHubDeploymentStatus {
  id: number;
  state: string;
  log_url?: string;
  environment_url?: string;
  description?: string;
  environment?: string;
}

export interface GitHubDeployment {
  id: number;
  ref: string;
  sha: string;
  environment: string;
  task: string;
  payload: unknown;
  description: string | null;
  /** Oldest first (the API lists them newest first). */
  statuses: GitHubDeploymentStatus[];
}

export interface GitHubStandIn {
  /** Base for GITHUB_API_URL, e.g. http://127.0.0.1:<port> */
  url: string;
  /** A valid token (sent as `token <t>` or `Bearer <t>`). */
  token: string;
  requests: GitHubRequest[];
  deployments: GitHubDeployment[];
  stop(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';
const RATE_LIMIT = 5000;
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An answer with what the log and audit need to know about the request. */
interface Served extends Answer {
  operationId: string;
  requestBody: unknown;
  user: string;
  fault?: FiredRule;
}

/** A connection fault ended the exchange before anything was served or answered. */
const NO_ANSWER: Answer = { status: 0, body: undefined };

interface Call {
  operation: CompiledOperation;
  params: Record<string, unknown>;
  body: Record<string, unknown>;
  base: string;
  query: URLSearchParams;
  pathname: string;
}

function error(status: number, message: string, documentationUrl = DOCS, extra: object = {}): Answer {
  return { status, body: { message, ...extra, documentation_url: documentationUrl, status: String(status) } };
}

function validationFailed(operation: CompiledOperation, errors: FieldError[]): Answer {
  return error(422, 'Validation Failed', operation.documentationUrl, { errors });
}

export async function startGitHub(options: {
  faults: Faults;
  audit: AuditLog;
  repository?: string;
}): Promise<GitHubStandIn> {
  const { faults, audit } = options;
  const [owner = '', name = ''] = (options.repository ?? 'octo-org/octo-repo').split('/');
  if (!owner || !name) throw new Error(`repository must read owner/repo, got ${options.repository}`);
  const repo: Repository = { owner, name, id: 700000001, createdAt: new Date().toISOString() };
  const token = `ghs_${randomBytes(18).toString('base64url')}`;
  const operations = compiledOperations();
  const requests: GitHubRequest[] = [];
  const deployments: DeploymentRecord[] = [];
  const rate = { used: 0, reset: Math.floor(Date.now() / 1000) + 3600 };
  let nextStatusId = 1;

  const deploymentOf = (params: Record<string, unknown>) =>
    deployments.find((d) => d.id === params.deployment_id);

  const handlers: Record<string, (call: Call) => Answer> = {
    'repos/get': ({ base }) => ({ status: 200, body: repositoryJson(base, repo) }),

    'rate-limit/get': () => ({ status: 200, body: rateLimitJson(coreRate()) }),

    'repos/create-deployment': ({ body, base }) => {
      const environment = typeof body.environment === 'string' ? body.environment : 'production';
      const now = new Date().toISOString();
      const ref = String(body.ref);
      const record: DeploymentRecord = {
        id: deployments.length + 1,
        ref,
        sha: shaFor(ref),
        task: typeof body.task === 'string' ? body.task : 'deploy',
        payload: payloadOf(body.payload),
        environment,
        original_environment: environment,
        description: typeof body.description === 'string' ? body.description : null,
        transient_environment: body.transient_environment === true,
        production_environment:
          typeof body.production_environment === 'boolean'
            ? body.production_environment
            : environment === 'production',
        created_at: now,
        updated_at: now,
        statuses: [],
      };
      deployments.push(record);
      return { status: 201, body: deploymentJson(base, repo, record) };
    },

    'repos/list-deployments': ({ query, base, pathname }) => {
      const filters = (['sha', 'ref', 'task', 'environment'] as const).flatMap((field) => {
        const value = query.get(field);
        return value === null || value === 'none' ? [] : [[field, value] as const];
      });
      const matching = deployments.filter((d) => filters.every(([field, value]) => d[field] === value));
      return page(
        matching.toReversed().map((d) => deploymentJson(base, repo, d)),
        query,
        `${base}${pathname}`,
      );
    },

    'repos/get-deployment': ({ params, base, operation }) => {
      const deployment = deploymentOf(params);
      if (!deployment) return error(404, 'Not Found', operation.documentationUrl);
      return { status: 200, body: deploymentJson(base, repo, deployment) };
    },

    'repos/list-deployment-statuses': ({ params, base, query, pathname, operation }) => {
      const deployment = deploymentOf(params);
      if (!deployment) return error(404, 'Not Found', operation.documentationUrl);
      const statuses = deployment.statuses.toReversed().map((s) => statusJson(base, repo, deployment, s));
      return page(statuses, query, `${base}${pathname}`);
    },

    'repos/create-deployment-status': ({ params, body, base, operation }) => {
      const deployment = deploymentOf(params);
      if (!deployment) return error(404, 'Not Found', operation.documentationUrl);
      const description = typeof body.description === 'string' ? body.description : '';
      if (Array.from(description).length > 140)
        return validationFailed(operation, [
          {
            resource: 'DeploymentStatus',
            field: 'description',
            code: 'invalid',
            message: 'description is too long (maximum is 140 characters)',
          },
        ]);
      const now = new Date().toISOString();
      const environment =
        typeof body.environment === 'string'
          ? body.environment
          : (deployment.statuses.at(-1)?.environment ?? deployment.environment);
      // log_url replaces target_url: setting either sets both, as GitHub documents.
      const logUrl = str(body.log_url) || str(body.target_url);
      const status: DeploymentStatusRecord = {
        id: nextStatusId++,
        state: String(body.state),
        description,
        environment,
        target_url: str(body.target_url) || logUrl,
        log_url: logUrl,
        environment_url: str(body.environment_url),
        created_at: now,
        updated_at: now,
      };
      deployment.statuses.push(status);
      deployment.environment = environment;
      deployment.updated_at = now;
      if (status.state === 'success' && body.auto_inactive !== false) deactivatePrior(deployment, now);
      return { status: 201, body: statusJson(base, repo, deployment, status) };
    },
  };

  /** GitHub's auto_inactive: earlier successful non-transient, non-production deploys of the environment go inactive. */
  const deactivatePrior = (current: DeploymentRecord, now: string): void => {
    for (const other of deployments) {
      const latest = other.statuses.at(-1);
      if (other === current || other.environment !== current.environment) continue;
      if (other.transient_environment || other.production_environment || latest?.state !== 'success')
        continue;
      other.statuses.push({
        ...latest,
        id: nextStatusId++,
        state: 'inactive',
        created_at: now,
        updated_at: now,
      });
      other.updated_at = now;
    }
  };

  const coreRate = () => ({
    limit: RATE_LIMIT,
    remaining: Math.max(0, RATE_LIMIT - rate.used),
    reset: rate.reset,
    used: rate.used,
  });

  const serve = async (
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    base: string,
  ): Promise<Served> => {
    const method = req.method ?? 'GET';
    const found = route(operations, method, url.pathname);
    const operationId = found?.operation.operationId ?? 'unknown';
    const text = await readBody(req);
    const requestBody = parseJson(text);
    const fault = faults.take('github', { verb: operationId, method, path: url.pathname });
    const done = (answer: Answer, user: string): Served => ({
      ...answer,
      operationId,
      requestBody,
      user,
      ...(fault ? { fault } : {}),
    });

    if (fault && !(await applyConnectionFault(fault, req, res))) return done(NO_ANSWER, 'github');
    if (fault && (fault.status !== undefined || fault.body !== undefined))
      return done(faultAnswer(fault), 'github');

    const given = /^(?:token|bearer)\s+(\S+)$/i.exec(headerValue(req, 'authorization') ?? '')?.[1];
    if (given === undefined && operationId !== 'rate-limit/get')
      return done(error(401, 'Requires authentication'), 'anonymous');
    if (given !== undefined && given !== token) return done(error(401, 'Bad credentials'), 'anonymous');
    const user = given ? 'github' : 'anonymous';
    if (given) rate.used += 1;

    if (!found) return done(error(404, 'Not Found'), user);
    const { operation, pathParams } = found;
    if (
      'owner' in pathParams &&
      (pathParams.owner?.toLowerCase() !== repo.owner.toLowerCase() ||
        pathParams.repo?.toLowerCase() !== repo.name.toLowerCase())
    )
      return done(error(404, 'Not Found', operation.documentationUrl), user);

    const params: Record<string, unknown> = { ...Object.fromEntries(url.searchParams), ...pathParams };
    if (!operation.validateParams(params)) {
      const inPath = (operation.validateParams.errors ?? []).some((e) =>
        operation.parameters.some((p) => p.in === 'path' && e.instancePath === `/${p.name}`),
      );
      // GitHub answers a malformed id in the path as a route it does not know.
      if (inPath) return done(error(404, 'Not Found', operation.documentationUrl), user);
      return done(
        validationFailed(operation, describeSchemaErrors('Query', operation.validateParams.errors ?? [])),
        user,
      );
    }

    let body: Record<string, unknown> = {};
    if (operation.validateBody) {
      if (requestBody === PARSE_ERROR)
        return done(error(400, 'Problems parsing JSON', operation.documentationUrl), user);
      const candidate = requestBody ?? {};
      if (!operation.validateBody(candidate))
        return done(
          validationFailed(
            operation,
            describeSchemaErrors(resourceOf(operation), operation.validateBody.errors ?? []),
          ),
          user,
        );
      body = candidate as Record<string, unknown>;
    }
    const handler = handlers[operation.operationId];
    if (!handler) return done(error(404, 'Not Found'), user);
    return done(
      handler({ operation, params, body, base, query: url.searchParams, pathname: url.pathname }),
      user,
    );
  };

  const server = await listenOnLoopback(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const base = `http://${headerValue(req, 'host') ?? '127.0.0.1'}`;
    const method = req.method ?? 'GET';
    let result: Served;
    try {
      result = await serve(req, res, url, base);
    } catch (caught) {
      if (!(caught instanceof BodyTooLargeError)) throw caught;
      result = {
        ...error(413, 'Payload Too Large'),
        operationId: 'unknown',
        requestBody: undefined,
        user: 'anonymous',
      };
    }
    if (result.status !== NO_ANSWER.status) respond(res, result, coreRate());
    const body = result.requestBody === PARSE_ERROR ? undefined : result.requestBody;
    requests.push({
      method,
      path: url.pathname + url.search,
      operationId: result.operationId,
      body,
      status: result.status,
      at: new Date().toISOString(),
    });
    audit.record({
      target: 'github',
      user: result.user,
      verb: result.operationId,
      method,
      path: url.pathname,
      status: result.status,
      ...(result.fault ? { fault: faultNote(result.fault) } : {}),
    });
    faults.served('github', { verb: result.operationId, method, path: url.pathname }, result.status);
  });

  return {
    url: server.url,
    token,
    requests,
    deployments,
    stop: () => server.stop(),
  };
}

function route(
  operations: CompiledOperation[],
  method: string,
  pathname: string,
): { operation: CompiledOperation; pathParams: Record<string, string> } | undefined {
  for (const operation of operations) {
    if (operation.method !== method) continue;
    const pathParams = operation.matchPath(pathname);
    if (pathParams) return { operation, pathParams };
  }
  return undefined;
}

function respond(res: ServerResponse, answer: Answer, core: ReturnType<typeof rateLimitJson>['rate']): void {
  sendJson(res, answer.status, answer.body, {
    'x-github-api-version-selected': '2022-11-28',
    'x-github-media-type': 'github.v3; format=json',
    'x-github-request-id': randomUUID().toUpperCase(),
    'x-ratelimit-limit': String(core.limit),
    'x-ratelimit-remaining': String(core.remaining),
    'x-ratelimit-reset': String(core.reset),
    'x-ratelimit-used': String(core.used),
    'x-ratelimit-resource': 'core',
    ...answer.headers,
  });
}

/** An injected fault as GitHub would send it; 403 and 429 are rate limits with their headers. */
function faultAnswer(fault: FaultRule): Answer {
  const status = fault.status ?? 200;
  const headers: Record<string, string> = {};
  if (status === 403 || status === 429) {
    const retryAfter = fault.retryAfterSeconds ?? 1;
    Object.assign(headers, {
      'retry-after': String(retryAfter),
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + retryAfter),
    });
  } else if (fault.retryAfterSeconds !== undefined) {
    headers['retry-after'] = String(fault.retryAfterSeconds);
  }
  if (fault.body !== undefined) return { status, body: fault.body, headers };
  if (status === 403 || status === 429)
    return {
      ...error(
        status,
        'API rate limit exceeded for installation.',
        `${DOCS}/overview/rate-limits-for-the-rest-api`,
      ),
      headers,
    };
  return { ...error(status, status >= 500 ? 'Server Error' : 'Injected fault'), headers };
}

/** A page of a list with GitHub's Link header, so octokit's paginate walks it. */
function page(items: unknown[], query: URLSearchParams, selfUrl: string): Answer {
  const perPage = Math.min(MAX_PER_PAGE, Math.max(1, Number(query.get('per_page') ?? DEFAULT_PER_PAGE)));
  const pageNumber = Math.max(1, Number(query.get('page') ?? 1));
  const last = Math.max(1, Math.ceil(items.length / perPage));
  const link = (n: number, rel: string) => {
    const q = new URLSearchParams(query);
    q.set('per_page', String(perPage));
    q.set('page', String(n));
    return `<${selfUrl}?${q.toString()}>; rel="${rel}"`;
  };
  const links = [];
  if (pageNumber > 1) links.push(link(pageNumber - 1, 'prev'), link(1, 'first'));
  if (pageNumber < last) links.push(link(pageNumber + 1, 'next'), link(last, 'last'));
  return {
    status: 200,
    body: items.slice((pageNumber - 1) * perPage, pageNumber * perPage),
    headers: links.length > 0 ? { link: links.join(', ') } : {},
  };
}

const PARSE_ERROR = Symbol('unparseable JSON');

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return PARSE_ERROR;
  }
}

/** GitHub keeps a JSON-text payload as the object it encodes. */
function payloadOf(payload: unknown): unknown {
  if (payload === undefined || payload === '') return {};
  if (typeof payload !== 'string') return payload;
  try {
    return JSON.parse(payload) as unknown;
  } catch {
    return payload;
  }
}

function resourceOf(operation: CompiledOperation): string {
  return operation.operationId === 'repos/create-deployment-status' ? 'DeploymentStatus' : 'Deployment';
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
