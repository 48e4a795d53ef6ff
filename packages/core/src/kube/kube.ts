/**
 * Kubernetes client factory and the one way to make API calls (kubeCall: retry policy + errors that
 * name verb, kind, object, status and reason).
 *
 * Start-up speed: client-node (through `#kube-client`, its trimmed form; with undici ~1 MB) is
 * imported dynamically inside createKube, after the action has validated its inputs. Only types
 * are imported statically.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import * as runnerIo from '../runner/io.js';
import type { Configuration, KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeConnectionError, type KubeCallTarget } from './errors.js';
import { classifyError, withRetry, type RetryOptions } from '../net/retry.js';

/** Field manager for server-side apply and every write, so `managedFields` shows who changed what. */
export const FIELD_MANAGER = 'cd-actions';

export interface KubeSettings {
  /** The `kubeconfig` input: kubeconfig YAML, or base64 of it. */
  kubeconfig?: string;
  /** The `context` input. */
  context?: string;
  /** The `namespace` input; wins over the context's namespace. */
  namespace?: string;
}

/** Seams for tests; production uses the process environment and the runner's protocol. */
export interface KubeDeps {
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  setSecret?: (secret: string) => void;
  /** Where API server warnings go (deprecations, dropped fields); each distinct one once. */
  warn?: (message: string) => void;
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** API path, e.g. `/apis/apps/v1/namespaces/shop/deployments`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to application/json when there is a body. */
  contentType?: string;
  signal?: AbortSignal;
}

export interface Kube {
  readonly kc: KubeConfig;
  /** From the `namespace` input, else the context's namespace, else `default`. */
  readonly namespace: string;
  readonly context: string;
  readonly server: string;
  /** A raw JSON call by path (lists by path, subresources); throws client-node's ApiException on non-2xx. */
  request<T>(req: KubeRequest): Promise<T>;
}

/** A bad `kubeconfig` or `context` input, or no usable kubeconfig at all. */
export class KubeConfigError extends Error {
  override readonly name = 'KubeConfigError';
  constructor(
    readonly input: 'kubeconfig' | 'context',
    message: string,
  ) {
    super(message);
  }
}

const KUBECONFIG_FORM =
  'a kubeconfig YAML document (apiVersion: v1, kind: Config, with clusters, users and contexts), or base64 of it';

/**
 * Accepts kubeconfig YAML or base64 of it. YAML always holds a `key: value` colon; base64 never does,
 * which makes the test unambiguous.
 */
export function decodeKubeconfigInput(text: string): string {
  const trimmed = text.trim();
  if (trimmed.includes(':')) return trimmed;
  const compact = trimmed.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(compact)) {
    throw new KubeConfigError(
      'kubeconfig',
      `Input \`kubeconfig\` is not a kubeconfig. Accepted: ${KUBECONFIG_FORM}.`,
    );
  }
  const decoded = Buffer.from(compact, 'base64').toString('utf8');
  if (!decoded.includes(':') || decoded.includes('\uFFFD')) {
    throw new KubeConfigError(
      'kubeconfig',
      `Input \`kubeconfig\` looks like base64 but does not decode to a kubeconfig. Accepted: ${KUBECONFIG_FORM}.`,
    );
  }
  return decoded.trim();
}

const SENSITIVE_KEY =
  /^\s*-?\s*"?(token|client-key-data|client-certificate-data|password|id-token|refresh-token|access-token|client-secret|secret)"?\s*:\s*(.+?)\s*$/i;

/**
 * Values to mask. The runner masks a secret per line, so the whole document alone would not hide a
 * token printed on its own; each sensitive value and its line are registered too.
 */
export function kubeconfigSecrets(yamlText: string): string[] {
  const out = new Set<string>([yamlText.trim()]);
  for (const line of yamlText.split(/\r?\n/)) {
    const match = SENSITIVE_KEY.exec(line);
    const value = match?.[2]?.replace(/^["']|["']$/g, '');
    if (!value || value.length < 6) continue;
    out.add(line.trim());
    out.add(value);
  }
  return [...out].filter((s) => s.length > 0);
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

interface LoadedConfig {
  kc: KubeConfig;
  source: string;
}

type ClientNode = typeof import('#kube-client');

function loadFromText(
  k8s: ClientNode,
  text: string,
  source: string,
  mask: (s: string) => void,
  baseDir?: string,
): LoadedConfig {
  for (const secret of kubeconfigSecrets(text)) mask(secret);
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (err) {
    // js-yaml quotes the offending lines in its message; keep only the first line so no secret leaks.
    const reason = firstLine(err instanceof Error ? err.message : String(err));
    throw new KubeConfigError(
      'kubeconfig',
      `${source} is not a valid kubeconfig (${reason}). Accepted: ${KUBECONFIG_FORM}.`,
    );
  }
  if (kc.getContexts().length === 0) {
    throw new KubeConfigError('kubeconfig', `${source} has no contexts. Accepted: ${KUBECONFIG_FORM}.`);
  }
  if (baseDir) kc.makePathsAbsolute(baseDir);
  return { kc, source };
}

function loadKubeConfig(k8s: ClientNode, settings: KubeSettings, deps: Required<KubeDeps>): LoadedConfig {
  const mask = deps.setSecret;
  if (settings.kubeconfig?.trim()) {
    mask(settings.kubeconfig.trim());
    const text = decodeKubeconfigInput(settings.kubeconfig);
    if (text !== settings.kubeconfig.trim()) {
      // base64 is as secret as what it decodes to, and may be wrapped: mask each line of it too.
      // (Never do this for YAML: lines such as `kind: Config` would be starred out of every log.)
      for (const line of settings.kubeconfig.split(/\r?\n/)) if (line.trim().length >= 8) mask(line.trim());
    }
    const workspace = deps.env.GITHUB_WORKSPACE;
    return loadFromText(k8s, text, 'Input `kubeconfig`', mask, workspace);
  }
  const envPaths = (deps.env.KUBECONFIG ?? '').split(delimiter).filter((p) => p && existsSync(p));
  const defaultPath = join(deps.homeDir, '.kube', 'config');
  const paths = envPaths.length > 0 ? envPaths : existsSync(defaultPath) ? [defaultPath] : [];
  if (paths.length > 0) {
    const [first, ...rest] = paths.map((path) =>
      loadFromText(k8s, readFileSync(path, 'utf8'), `kubeconfig file ${path}`, mask, dirname(path)),
    );
    if (!first) throw new Error('unreachable: no kubeconfig paths');
    for (const other of rest) first.kc.mergeConfig(other.kc, true);
    return { kc: first.kc, source: paths.join(delimiter) };
  }
  const tokenPath = '/var/run/secrets/kubernetes.io/serviceaccount/token';
  if (deps.env.KUBERNETES_SERVICE_HOST && deps.env.KUBERNETES_SERVICE_PORT && existsSync(tokenPath)) {
    const kc = new k8s.KubeConfig();
    kc.loadFromCluster();
    return { kc, source: 'in-cluster service account' };
  }
  throw new KubeConfigError(
    'kubeconfig',
    `No kubeconfig found: the \`kubeconfig\` input is empty, KUBECONFIG is not set, ${defaultPath} does not exist ` +
      `and this is not a pod in a cluster. Set the \`kubeconfig\` input to ${KUBECONFIG_FORM} (e.g. from a secret).`,
  );
}

function selectContext(kc: KubeConfig, wanted: string | undefined, source: string): string {
  const names = kc.getContexts().map((c) => c.name);
  const list = names.map((n) => `"${n}"`).join(', ');
  if (wanted?.trim()) {
    const name = wanted.trim();
    if (!names.includes(name)) {
      throw new KubeConfigError(
        'context',
        `Input \`context\`: "${name}" is not a context in ${source}. Accepted: one of the contexts it defines: ${list}.`,
      );
    }
    kc.setCurrentContext(name);
    return name;
  }
  const current = kc.getCurrentContext();
  if (current && names.includes(current)) return current;
  if (names.length === 1 && names[0]) {
    kc.setCurrentContext(names[0]);
    return names[0];
  }
  throw new KubeConfigError(
    'context',
    `Input \`context\` is empty and ${source} has no usable current-context${current ? ` ("${current}")` : ''}. ` +
      `Accepted: one of the contexts it defines: ${list}.`,
  );
}

/** Whether `command` would start: an absolute path that exists, or a bare name found on PATH. */
function commandExists(command: string, env: NodeJS.ProcessEnv): boolean {
  if (isAbsolute(command)) return existsSync(command);
  if (command.includes('/') || command.includes('\\')) return true; // relative to the kubeconfig: left to the plugin
  const extensions = process.platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : [''];
  return (env.PATH ?? env.Path ?? '')
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => extensions.some((ext) => existsSync(join(dir, command + ext))));
}

/**
 * A user that gets its token from an exec plugin (aws eks get-token, gke-gcloud-auth-plugin,
 * kubelogin) fails on the first API call with a bare `spawn … ENOENT` when the plugin is not
 * installed on the runner; say so before anything runs.
 */
function checkExecPlugin(kc: KubeConfig, context: string, env: NodeJS.ProcessEnv): void {
  const user = kc.getCurrentUser();
  // client-node refreshes a legacy auth-provider's token (gcp, azure) by running its `cmd-path`
  // and `cmd-args` through a shell: input text would reach a shell. kubectl dropped these
  // providers in 1.26; exec plugins run without a shell and do the same job.
  const provider = user?.authProvider as { name?: unknown; config?: Record<string, unknown> } | undefined;
  if (provider?.config?.['cmd-path'] !== undefined) {
    throw new KubeConfigError(
      'kubeconfig',
      `Input \`kubeconfig\`: user "${user!.name}" of context "${context}" uses the legacy auth-provider "${typeof provider.name === 'string' ? provider.name : ''}" with a cmd-path, which would run a command through a shell. Accepted: a token, a client certificate, or an exec credential plugin (users[].user.exec), as kubectl requires since 1.26.`,
    );
  }
  // client-node types `exec` as any; the kubeconfig schema says command is a string.
  const command = (user?.exec as { command?: unknown } | undefined)?.command;
  if (!user || typeof command !== 'string' || !command || commandExists(command, env)) return;
  throw new KubeConfigError(
    'kubeconfig',
    `Input \`kubeconfig\`: user "${user.name}" of context "${context}" gets its credentials by running "${command}", which is not installed on this runner (not on PATH). Install it in an earlier step, or give a kubeconfig whose user has a token or a client certificate.`,
  );
}

export async function createKube(settings: KubeSettings, deps: KubeDeps = {}): Promise<Kube> {
  const k8s = await import('#kube-client');
  const env = deps.env ?? process.env;
  const resolved: Required<KubeDeps> = {
    env,
    homeDir: deps.homeDir ?? env.HOME ?? homedir(),
    setSecret: deps.setSecret ?? ((s: string) => runnerIo.setSecret(s)),
    warn: deps.warn ?? ((m: string) => runnerIo.warning(m)),
  };
  const warned = new Set<string>();
  const { kc, source } = loadKubeConfig(k8s, settings, resolved);
  const context = selectContext(kc, settings.context, source);
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new KubeConfigError(
      'kubeconfig',
      `Context "${context}" in ${source} names no cluster with a server URL.`,
    );
  }
  const server = cluster.server;
  const namespace = settings.namespace?.trim() || kc.getContextObject(context)?.namespace || 'default';
  checkExecPlugin(kc, context, env);

  const configuration: Configuration = k8s.createConfiguration({
    baseServer: new k8s.ServerConfiguration(cluster.server, {}),
    authMethods: { default: kc },
  });

  async function request<T>(req: KubeRequest): Promise<T> {
    const ctx = configuration.baseServer.makeRequestContext(req.path, k8s.HttpMethod[req.method]);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) ctx.setQueryParam(key, String(value));
    }
    ctx.setHeaderParam('Accept', 'application/json');
    if (req.body !== undefined) {
      ctx.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
      ctx.setBody(typeof req.body === 'string' ? req.body : JSON.stringify(req.body));
    }
    if (req.signal) ctx.setSignal(req.signal);
    await kc.applySecurityAuthentication(ctx);
    const response = await configuration.httpApi
      .send(ctx)
      .toPromise()
      .catch((error: unknown) => {
        // A cancel or deadline stays what it is; anything else got no answer from this server.
        throw req.signal?.aborted ? error : new KubeConnectionError(server, error);
      });
    for (const warning of serverWarnings(response.headers.warning)) {
      if (warned.has(warning)) continue;
      warned.add(warning);
      resolved.warn(`Kubernetes API: ${warning}`);
    }
    const text = await response.body.text();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw new k8s.ApiException(
        response.httpStatusCode,
        'Unsuccessful HTTP Request',
        text,
        response.headers,
      );
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  return {
    kc,
    namespace,
    context,
    server: cluster.server,
    request,
  };
}

/**
 * The texts of `Warning` response headers (RFC 7234: `299 - "text"`), as kubectl prints them.
 * Several headers arrive joined with ", ", so the quoted texts are picked out one by one.
 */
export function serverWarnings(header: string | undefined): string[] {
  if (!header) return [];
  return [...header.matchAll(/\d{3} \S+ "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

/**
 * Verbs safe to repeat. Server-side apply is included: applying the same configuration twice
 * converges on the same object. create/update/patch are not (a retried create can see its own
 * first attempt as AlreadyExists; a JSON patch may apply twice).
 */
const IDEMPOTENT_VERBS = new Set(['get', 'read', 'list', 'watch', 'delete', 'apply', 'head']);

export type KubeCallOptions = Omit<RetryOptions, 'idempotent' | 'classify'> & { idempotent?: boolean };

/** Runs one API call through the retry policy; failures become KubeApiError. */
export async function kubeCall<T>(
  what: KubeCallTarget,
  fn: (signal: AbortSignal) => Promise<T>,
  options: KubeCallOptions = {},
): Promise<T> {
  const idempotent = options.idempotent ?? IDEMPOTENT_VERBS.has(what.verb.toLowerCase());
  try {
    return await withRetry((_attempt, signal) => fn(signal), {
      ...options,
      idempotent,
      classify: (err) => classifyError(err, idempotent),
    });
  } catch (err) {
    if (err instanceof KubeApiError || (err instanceof Error && err.name === 'AbortError')) throw err;
    throw new KubeApiError(what, err);
  }
}
