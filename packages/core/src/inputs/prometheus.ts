/**
 * The inputs that say how an action reaches Prometheus, shared by every action that queries it:
 * spread `prometheusAccessInputs` into the spec, `prometheusAccessRules` into the rules, and build
 * the access with `prometheusAccess(settings, kube)` once the step starts.
 *
 * Where each may come from: `prometheus-token`, `prometheus-username` and `prometheus-password`
 * are inputs only (a workflow passes them from secrets; a file in the repository is no place for
 * a credential, and a username is no use without its password). `prometheus-headers`,
 * `prometheus-ca` (a path in the repository) and `prometheus-via` may also come from the
 * environment's `gate` entry in the deploy config; headers there are for tenant headers such as
 * `X-Scope-OrgID`, and are masked like any other header value.
 *
 * Loaded on the validation path: imports stay light (no client, no network).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { Kube } from '../kube/kube.js';
import * as core from '../runner/io.js';
import { IN_CLUSTER_FORM, inClusterPrometheus, type PrometheusAccess } from '../gate/prometheus-access.js';
import { input, type RuleProblem, type Settings } from './inputs.js';
import type { InputSpec, ParseContext, Parsed } from './kinds.js';
import { pathRoots, resolveInWorkspace } from './workspace-path.js';
import { toPlain } from './yaml-errors.js';

export const HEADERS_FORM =
  'a YAML mapping of header names to values, or "Name: value" lines, e.g. "X-Scope-OrgID: tenant-1"';

/** RFC 9110 token characters. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the HTTP client sets itself, and hop-by-hop headers a proxy would drop anyway. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

function headerPairs(raw: string): [string, string][] | string {
  const doc = parseDocument(raw);
  const plain = doc.errors.length === 0 ? toPlain(doc) : undefined;
  const value = plain?.ok ? plain.value : undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const pairs: [string, string][] = [];
    for (const [name, item] of Object.entries(value)) {
      if (!['string', 'number', 'boolean'].includes(typeof item))
        return `the value of header "${name}" is not text`;
      pairs.push([name, String(item as string)]);
    }
    return pairs;
  }
  // Not a mapping to YAML: a value such as `Bearer a:b` or one starting with `*` is fine as a line.
  const pairs: [string, string][] = [];
  for (const [index, line] of raw.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const match = /^\s*([^:\s]+)\s*:\s?(.*)$/.exec(line);
    // The line is not shown: it may hold a credential.
    if (!match) return `line ${index + 1} is not "Name: value"`;
    pairs.push([match[1]!, match[2]!.trim()]);
  }
  return pairs;
}

/** Parses `prometheus-headers`; reasons name headers and lines, never a value. */
export function parseHeaders(raw: string): Parsed<Readonly<Record<string, string>>> {
  const pairs = headerPairs(raw);
  if (typeof pairs === 'string') return { ok: false, reason: pairs };
  if (pairs.length === 0) return { ok: false, reason: 'no header is given' };
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [name, value] of pairs) {
    if (!HEADER_NAME.test(name)) return { ok: false, reason: `"${name}" is not a header name` };
    if (RESERVED_HEADERS.has(name.toLowerCase()))
      return { ok: false, reason: `header "${name}" is set by the HTTP client itself` };
    if (seen.has(name.toLowerCase())) return { ok: false, reason: `header "${name}" is given twice` };
    // eslint-disable-next-line no-control-regex
    if (value === '' || /[\x00-\x1f\x7f]/.test(value))
      return { ok: false, reason: `the value of header "${name}" is empty or holds control characters` };
    seen.add(name.toLowerCase());
    headers[name] = value;
  }
  return { ok: true, value: Object.freeze(headers) };
}

export const CA_FORM =
  'a PEM CA bundle (-----BEGIN CERTIFICATE-----), or the path of one relative to the workspace and inside it';

/** Reads `prometheus-ca`: PEM text, or a file in the workspace holding it; every certificate must parse. */
export function parseCa(raw: string, context: ParseContext): Parsed<string> {
  let pem = raw;
  if (!raw.includes('-----BEGIN')) {
    const checked = resolveInWorkspace(raw, context.roots);
    if (!checked.ok) return { ok: false, reason: checked.reason };
    try {
      pem = readFileSync(checked.path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      return { ok: false, reason: `cannot read ${checked.path} (${code})` };
    }
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) return { ok: false, reason: 'it holds no PEM certificate' };
  for (const [index, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch {
      return { ok: false, reason: `certificate ${index + 1} of ${blocks.length} does not parse` };
    }
  }
  return { ok: true, value: `${blocks.join('\n')}\n` };
}

function spec<T>(
  kind: InputSpec['kind'],
  accepted: string,
  secret: boolean,
  parse: (raw: string, context: ParseContext) => Parsed<T>,
): InputSpec<T, false> {
  return Object.freeze({
    kind,
    accepted,
    required: false,
    default: undefined,
    secret,
    config: undefined,
    parse: (raw: string, context?: ParseContext) => parse(raw, context ?? { roots: pathRoots() }),
  });
}

export const prometheusAccessInputs = {
  'prometheus-url': input.url(),
  'prometheus-token': input.secret({ config: false }),
  'prometheus-username': input.string({ config: false }),
  'prometheus-password': input.secret({ config: false }),
  // Secret: a header may carry an API key. Its parse reasons never quote a value.
  'prometheus-headers': spec('document', HEADERS_FORM, true, (raw) => parseHeaders(raw)),
  'prometheus-ca': spec('string', CA_FORM, false, parseCa),
  'prometheus-via': input.enum(['direct', 'kubernetes'], { default: 'direct' }),
} as const;

export type PrometheusAccessSettings = Settings<typeof prometheusAccessInputs>;

type Rule = (s: PrometheusAccessSettings) => RuleProblem | undefined;

function hasAuthorizationHeader(s: PrometheusAccessSettings): boolean {
  return Object.keys(s.prometheusHeaders ?? {}).some((name) => name.toLowerCase() === 'authorization');
}

function urlHasCredentials(url: string | undefined): boolean {
  return url !== undefined && URL.canParse(url) && new URL(url).username !== '';
}

/** Inputs given, in the order a message names them. */
function credentialInputs(s: PrometheusAccessSettings): string[] {
  return [
    ...(s.prometheusToken !== undefined ? ['prometheus-token'] : []),
    ...(s.prometheusUsername !== undefined ? ['prometheus-username'] : []),
    ...(s.prometheusPassword !== undefined ? ['prometheus-password'] : []),
  ];
}

const THROUGH_API =
  'the API server takes the Authorization header for its own authentication and does not pass it on';

export const prometheusAccessRules: readonly Rule[] = [
  (s) => {
    const given = [
      ...credentialInputs(s),
      ...(s.prometheusHeaders !== undefined ? ['prometheus-headers'] : []),
      ...(s.prometheusCa !== undefined ? ['prometheus-ca'] : []),
      ...(s.prometheusVia === 'kubernetes' ? ['prometheus-via'] : []),
    ];
    if (s.prometheusUrl !== undefined || given.length === 0) return undefined;
    return {
      input: given[0]!,
      accepted: 'with "prometheus-url"',
      message: `Input "${given[0]}" is given without "prometheus-url": it applies to that Prometheus only; expected "prometheus-url" as well`,
    };
  },
  (s) => {
    if ((s.prometheusUsername === undefined) === (s.prometheusPassword === undefined)) return undefined;
    const missing = s.prometheusUsername === undefined ? 'prometheus-username' : 'prometheus-password';
    const given = s.prometheusUsername === undefined ? 'prometheus-password' : 'prometheus-username';
    return {
      input: missing,
      accepted: `given with "${given}" (basic auth takes both)`,
      message: `Input "${missing}" is required with "${given}": basic auth takes both`,
    };
  },
  (s) => {
    const given = [
      ...credentialInputs(s).filter((name) => name !== 'prometheus-password'),
      ...(hasAuthorizationHeader(s) ? ['prometheus-headers'] : []),
      ...(urlHasCredentials(s.prometheusUrl) ? ['prometheus-url'] : []),
    ];
    if (given.length <= 1) return undefined;
    const what = (name: string): string =>
      name === 'prometheus-headers'
        ? '"prometheus-headers" (Authorization)'
        : name === 'prometheus-url'
          ? '"prometheus-url" (user:password@)'
          : `"${name}"`;
    return {
      input: given[1]!,
      accepted: 'one way of authenticating to Prometheus',
      message: `Input ${given.map(what).join(' and ')} each set the Authorization header: expected one of them`,
    };
  },
  (s) => {
    if (s.prometheusVia !== 'kubernetes' || s.prometheusUrl === undefined) return undefined;
    const found = inClusterPrometheus(s.prometheusUrl);
    if ('reason' in found)
      return {
        input: 'prometheus-url',
        accepted: IN_CLUSTER_FORM,
        message: `Input "prometheus-url" with prometheus-via: kubernetes: ${found.reason}; expected ${IN_CLUSTER_FORM}`,
      };
    const auth = [
      ...credentialInputs(s),
      ...(hasAuthorizationHeader(s) ? ['prometheus-headers'] : []),
      ...(urlHasCredentials(s.prometheusUrl) ? ['prometheus-url'] : []),
    ];
    if (auth.length > 0)
      return {
        input: auth[0]!,
        accepted: 'no Prometheus credentials with prometheus-via: kubernetes',
        message: `Input "${auth[0]}" cannot reach Prometheus through the Kubernetes API: ${THROUGH_API}; expected prometheus-via: direct, or a Prometheus that needs no Authorization header`,
      };
    if (s.prometheusCa !== undefined)
      return {
        input: 'prometheus-ca',
        accepted: 'no CA bundle with prometheus-via: kubernetes',
        message:
          'Input "prometheus-ca" has no use with prometheus-via: kubernetes: the API server makes the connection to Prometheus; expected prometheus-via: direct, or no prometheus-ca',
      };
    return undefined;
  },
];

/**
 * Values of 6 characters or more are masked: shorter ones are no credential, and masking a
 * tenant id such as `1` would star out every 1 in the log. (The whole input is masked as read.)
 */
const MASKED_LENGTH = 6;

/**
 * The access the settings describe, with every header value masked before the step logs anything.
 * `kube` is the action's client, used when prometheus-via is kubernetes.
 */
export function prometheusAccess(
  settings: PrometheusAccessSettings,
  kube?: Kube,
  mask: (secret: string) => void = core.setSecret,
): PrometheusAccess {
  const headers = { ...settings.prometheusHeaders };
  for (const value of Object.values(headers)) if (value.length >= MASKED_LENGTH) mask(value);
  const basicAuth =
    settings.prometheusUsername !== undefined && settings.prometheusPassword !== undefined
      ? { username: settings.prometheusUsername, password: settings.prometheusPassword }
      : undefined;
  if (basicAuth) mask(Buffer.from(`${basicAuth.username}:${basicAuth.password}`).toString('base64'));
  return {
    headers,
    via: settings.prometheusVia,
    ...(settings.prometheusToken !== undefined ? { bearerToken: settings.prometheusToken } : {}),
    ...(basicAuth ? { basicAuth } : {}),
    ...(settings.prometheusCa !== undefined ? { ca: settings.prometheusCa } : {}),
    ...(settings.prometheusVia === 'kubernetes' && kube ? { kube } : {}),
  };
}
