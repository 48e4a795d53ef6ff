/**
 * `checks` input → CheckSpec[]: every field of every check is checked, and every problem names
 * the check (index and name), the field, the value and the accepted form, so one failed run
 * shows all that is wrong. Pure: no network, so it runs in input validation.
 */
import { KUBE_NAME } from '../inputs/names.js';
import { redactUrl } from '../net/redact.js';
import { parseDuration } from '../inputs/duration.js';
import { CONDITION_FORM, parseCondition, type Condition } from './condition.js';
import { DEFAULT_STATUS, parseStatusMatcher, STATUS_FORM } from './http-expect.js';
import { COMPARED_TEMPLATES, comparedSide } from './comparison.js';
import {
  promDuration,
  TEMPLATE_NAMES,
  templateQuery,
  type TemplateName,
  type TemplateParams,
} from './templates.js';
import type { SequentialOptions } from './stats/sequential.js';
import type { CheckDefaults, CheckKind, CheckSpec, Comparison, FailureRules, OnNoData } from './types.js';

export const CHECK_KINDS: readonly CheckKind[] = ['http', 'prometheus', 'pods', 'command'];

export const DEFAULT_CHECK_DEFAULTS: CheckDefaults = {
  namespace: 'default',
  prometheusUrl: undefined,
  minRequests: 10,
  windowMs: 60_000,
  httpTimeoutMs: 5_000,
  commandTimeoutMs: 60_000,
  failureLimit: 1,
};

const COMMON_KEYS = [
  'name',
  'kind',
  'critical',
  'failure-limit',
  'consecutive',
  'm-of-k',
  'min-samples',
  'on-no-data',
];
const KEYS: Record<CheckKind, readonly string[]> = {
  http: [
    'url',
    'method',
    'headers',
    'body',
    'expect-status',
    'body-contains',
    'json-path',
    'equals',
    'max-latency',
    'timeout',
    'insecure-skip-tls-verify',
    'ca',
    'via',
    'service',
    'port',
    'path',
    'namespace',
  ],
  prometheus: [
    'query',
    'template',
    'condition',
    'min-requests',
    'requests-query',
    'prometheus-url',
    'service',
    'namespace',
    'version',
    'window',
    'requests-metric',
    'duration-metric',
    'status-label',
    'compare',
    'measure',
    'test',
    'max-increase',
    'false-alarm-rate',
    'error-rate-floor',
  ],
  pods: ['deployment', 'selector', 'namespace', 'max-restarts'],
  command: ['command', 'timeout', 'cwd', 'env'],
};

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const DURATION_FORM = 'a duration such as 500ms, 5s or 1m';

type Fields = Record<string, unknown>;

function isMapping(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Fields whose values may carry credentials (userinfo, ?token=): shown only through redactUrl.
const URL_KEYS = new Set(['url', 'prometheus-url']);

function shown(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}

/** Reads one check's fields, collecting problems rather than stopping at the first. */
class FieldReader {
  readonly problems: string[] = [];
  constructor(
    readonly where: string,
    readonly fields: Fields,
  ) {}

  has(key: string): boolean {
    return this.fields[key] !== undefined && this.fields[key] !== null;
  }

  problem(key: string, accepted: string, reason?: string): undefined {
    const given = this.fields[key];
    const value = URL_KEYS.has(key) && typeof given === 'string' ? redactUrl(given) : given;
    const what = value === undefined ? 'is missing' : `has value ${shown(value)}`;
    this.problems.push(
      `${this.where}: "${key}" ${what}${reason ? ` (${reason})` : ''}: expected ${accepted}`,
    );
    return undefined;
  }

  string(
    key: string,
    options: { pattern?: RegExp; accepted?: string; required?: boolean } = {},
  ): string | undefined {
    const accepted = options.accepted ?? 'text';
    if (!this.has(key)) return options.required ? this.problem(key, accepted) : undefined;
    const value = this.fields[key];
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string' || text.trim() === '') return this.problem(key, accepted);
    if (options.pattern && !options.pattern.test(text.trim())) return this.problem(key, accepted);
    return text.trim();
  }

  oneOf<V extends string>(key: string, values: readonly V[]): V | undefined {
    if (!this.has(key)) return undefined;
    const value = this.fields[key];
    if (typeof value !== 'string' || !values.includes(value as V))
      return this.problem(key, `one of ${values.join(', ')}`);
    return value as V;
  }

  boolean(key: string): boolean | undefined {
    if (!this.has(key)) return undefined;
    const value = this.fields[key];
    return typeof value === 'boolean' ? value : this.problem(key, 'true or false');
  }

  integer(key: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (!this.has(key)) return undefined;
    const value = this.fields[key];
    const accepted = `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return this.problem(key, accepted);
    }
    return value;
  }

  duration(key: string, options: { allowZero?: boolean } = {}): number | undefined {
    if (!this.has(key)) return undefined;
    const value = this.fields[key];
    if (typeof value !== 'string')
      return this.problem(key, DURATION_FORM, typeof value === 'number' ? 'a unit is required' : undefined);
    const parsed = parseDuration(value.trim());
    if (!parsed.ok) return this.problem(key, DURATION_FORM, parsed.reason);
    if (parsed.ms === 0 && !options.allowZero)
      return this.problem(key, DURATION_FORM, 'a zero duration is not allowed');
    return parsed.ms;
  }

  /** A share written `5%` or `0.05`, within [min, max]. */
  fraction(key: string, min: number, max: number): number | undefined {
    if (!this.has(key)) return undefined;
    const value = this.fields[key];
    const accepted = `a share from ${min * 100}% to ${max * 100}%, written as 5% or 0.05`;
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
    const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
    const share = match ? Number(match[1]) / (match[2] ? 100 : 1) : Number.NaN;
    if (!(share >= min && share <= max)) return this.problem(key, accepted);
    return share;
  }

  stringMap(key: string, accepted: string): Record<string, string> | undefined {
    if (!this.has(key)) return undefined;
    const value = this.fields[key];
    if (!isMapping(value)) return this.problem(key, accepted);
    const out: Record<string, string> = {};
    for (const [name, item] of Object.entries(value)) {
      if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean')
        return this.problem(key, accepted);
      out[name] = String(item);
    }
    return out;
  }

  condition(key: string, fallback?: string): Condition | undefined {
    if (!this.has(key)) {
      if (fallback !== undefined) {
        const parsed = parseCondition(fallback);
        return parsed.ok ? parsed.condition : undefined;
      }
      return this.problem(key, CONDITION_FORM);
    }
    const value = this.fields[key];
    if (typeof value !== 'string')
      return this.problem(
        key,
        CONDITION_FORM,
        typeof value === 'number' ? 'a bare number has no operator' : undefined,
      );
    const parsed = parseCondition(value);
    return parsed.ok ? parsed.condition : this.problem(key, CONDITION_FORM, parsed.reason);
  }
}

function failureRules(reader: FieldReader, defaults: CheckDefaults): FailureRules {
  const rules: FailureRules = { critical: reader.boolean('critical') ?? false };
  const failureLimit = reader.integer('failure-limit', 0);
  // A check that states a consecutive or M-of-K rule chose how failures count: the default total
  // limit would otherwise override it with a stricter one it did not ask for.
  if (failureLimit !== undefined) rules.failureLimit = failureLimit;
  else if (!reader.has('consecutive') && !reader.has('m-of-k')) rules.failureLimit = defaults.failureLimit;
  const consecutive = reader.integer('consecutive', 1);
  if (consecutive !== undefined) rules.consecutive = consecutive;
  if (reader.has('m-of-k')) {
    const raw = reader.fields['m-of-k'];
    const match = typeof raw === 'string' ? /^\s*(\d+)\s*(?:\/|of)\s*(\d+)\s*$/.exec(raw) : null;
    const failures = Number(match?.[1]);
    const of = Number(match?.[2]);
    if (!match || failures < 1 || of < failures) {
      reader.problem(
        'm-of-k',
        '"M of K" such as "2 of 5" (fail when M of the last K samples failed, 1 <= M <= K)',
      );
    } else {
      rules.window = { failures, of };
    }
  }
  const minSamples = reader.integer('min-samples', 1);
  if (minSamples !== undefined) rules.minSamples = minSamples;
  return rules;
}

function parseHttp(reader: FieldReader, base: BaseFields, defaults: CheckDefaults): CheckSpec | undefined {
  const via = reader.oneOf('via', ['direct', 'service-proxy'] as const) ?? 'direct';
  let url: string | undefined;
  let service: { name: string; namespace?: string; port?: string } | undefined;
  if (via === 'service-proxy') {
    if (reader.has('url'))
      reader.problem('url', 'no "url" with via: service-proxy; give "service", "port" and "path"');
    const name = reader.string('service', {
      pattern: KUBE_NAME,
      accepted: 'the name of a Service',
      required: true,
    });
    const path = reader.string('path', { pattern: /^\//, accepted: 'a path starting with /' }) ?? '/';
    const port = reader.string('port', { pattern: /^[a-z0-9-]+$/, accepted: 'a port number or name' });
    const namespace = reader.string('namespace', { pattern: KUBE_NAME, accepted: 'a namespace name' });
    if (name) service = { name, ...(namespace ? { namespace } : {}), ...(port ? { port } : {}) };
    url = path;
  } else {
    for (const key of ['service', 'port', 'path'])
      if (reader.has(key)) reader.problem(key, `no "${key}" unless via: service-proxy`);
    const text = reader.string('url', {
      accepted: 'an http or https URL such as https://example.com/healthz',
      required: true,
    });
    if (text !== undefined) {
      if (!URL.canParse(text) || !['http:', 'https:'].includes(new URL(text).protocol)) {
        reader.problem('url', 'an http or https URL such as https://example.com/healthz');
      } else url = text;
    }
  }
  const methodText = reader.string('method', { accepted: `one of ${METHODS.join(', ')}` });
  const method = methodText?.toUpperCase() ?? 'GET';
  if (!METHODS.includes(method)) reader.problem('method', `one of ${METHODS.join(', ')}`);
  let expectStatus = DEFAULT_STATUS;
  if (reader.has('expect-status')) {
    const parsed = parseStatusMatcher(reader.fields['expect-status']);
    if (parsed) expectStatus = parsed;
    else reader.problem('expect-status', STATUS_FORM);
  }
  const jsonPathText = reader.string('json-path', {
    pattern: /^\$(\.[A-Za-z_][\w-]*|\[\d+\])*$/,
    accepted: 'a JSONPath such as $.status or $.items[0].ready',
  });
  const fields = reader.fields;
  if (jsonPathText !== undefined && !('equals' in fields))
    reader.problem('equals', 'the value the json-path must equal');
  if ('equals' in fields && !reader.has('json-path'))
    reader.problem('json-path', 'a JSONPath, since "equals" is given');
  const headers = reader.stringMap('headers', 'a mapping of header names to values') ?? {};
  const body = reader.string('body');
  const bodyContains = reader.string('body-contains');
  const maxLatencyMs = reader.duration('max-latency');
  const timeoutMs = reader.duration('timeout') ?? defaults.httpTimeoutMs;
  const insecureSkipVerify = reader.boolean('insecure-skip-tls-verify') ?? false;
  const ca = reader.string('ca', {
    pattern: /-----BEGIN CERTIFICATE-----/,
    accepted: 'PEM certificates (-----BEGIN CERTIFICATE-----...)',
  });
  if (url === undefined || (via === 'service-proxy' && !service)) return undefined;
  return {
    ...base,
    kind: 'http',
    method,
    url,
    via,
    ...(service ? { service } : {}),
    headers,
    ...(body !== undefined ? { body } : {}),
    expectStatus,
    ...(bodyContains !== undefined ? { bodyContains } : {}),
    ...(jsonPathText !== undefined ? { jsonPath: { path: jsonPathText, equals: fields.equals } } : {}),
    ...(maxLatencyMs !== undefined ? { maxLatencyMs } : {}),
    timeoutMs,
    tls: { insecureSkipVerify, ...(ca ? { ca } : {}) },
  };
}

function parsePrometheus(
  reader: FieldReader,
  base: BaseFields,
  defaults: CheckDefaults,
): CheckSpec | undefined {
  const fields = reader.fields;
  const template = reader.oneOf('template', TEMPLATE_NAMES);
  const explicitUrl = reader.string('prometheus-url', { accepted: 'an http or https URL of Prometheus' });
  if (explicitUrl !== undefined && !/^https?:\/\/[^/]/.test(explicitUrl))
    reader.problem('prometheus-url', 'an http or https URL of Prometheus');
  const prometheusUrl = explicitUrl ?? defaults.prometheusUrl;
  if (prometheusUrl === undefined) {
    reader.problems.push(
      `${reader.where}: no Prometheus URL: expected the "prometheus-url" input (or gate.prometheus-url in the config file, or "prometheus-url" on the check)`,
    );
  }
  const minRequests = reader.integer('min-requests', 0) ?? defaults.minRequests;
  let query: string | undefined;
  let requestsQuery = reader.string('requests-query');
  let condition: Condition | undefined;
  let unit: 'ratio' | 'seconds' | 'rps' | 'number' = 'number';
  let target: { namespace: string; service: string; version?: string } | undefined;
  let compare: Comparison | undefined;
  if (!reader.has('compare'))
    for (const key of COMPARISON_KEYS)
      if (reader.has(key))
        reader.problem(key, `no "${key}" without "compare" (the baseline to compare with)`);
  if (template !== undefined) {
    if (reader.has('query')) reader.problem('query', 'either "query" or "template", not both');
    const service = reader.string('service', {
      pattern: KUBE_NAME,
      accepted: 'the name of the Service whose metrics to read',
      required: true,
    });
    const namespace =
      reader.string('namespace', { pattern: KUBE_NAME, accepted: 'a namespace name' }) ?? defaults.namespace;
    const version = reader.string('version', {
      pattern: /^[A-Za-z0-9._-]+$/,
      accepted: 'a version label value such as v2',
    });
    const windowMs = reader.duration('window') ?? defaults.windowMs;
    const requestsMetric =
      reader.string('requests-metric', { pattern: METRIC_NAME, accepted: 'a metric name' }) ??
      'http_requests_total';
    const durationMetric =
      reader.string('duration-metric', {
        pattern: METRIC_NAME,
        accepted: 'a histogram metric name without _bucket',
      }) ?? 'http_request_duration_seconds';
    const statusLabel =
      reader.string('status-label', { pattern: LABEL_NAME, accepted: 'a label name' }) ?? 'code';
    if (service !== undefined) {
      const params: TemplateParams = {
        namespace,
        service,
        ...(version !== undefined ? { version } : {}),
        window: promDuration(windowMs),
        requestsMetric,
        durationMetric,
        statusLabel,
      };
      const built = templateQuery(template, params);
      query = built.query;
      target = { namespace, service, ...(version !== undefined ? { version } : {}) };
      requestsQuery ??= built.requestsQuery;
      unit = built.unit;
      if (reader.has('compare')) {
        const compared = templateComparison(reader, template, params, windowMs);
        compare = compared?.compare;
        condition = compared?.condition;
        if (compare) {
          query = compare.canary.value.replaceAll('$window', params.window);
          requestsQuery = compare.canary.requests.replaceAll('$window', params.window);
          unit = 'ratio';
        }
      } else condition = reader.condition('condition', built.defaultCondition);
    }
  } else {
    for (const key of ['service', 'version', 'window', 'requests-metric', 'duration-metric', 'status-label'])
      if (reader.has(key))
        reader.problem(key, `no "${key}" without a "template" (one of ${TEMPLATE_NAMES.join(', ')})`);
    query = reader.string('query', {
      accepted: `a PromQL query, or a "template" (one of ${TEMPLATE_NAMES.join(', ')})`,
      required: true,
    });
    if (reader.has('compare')) {
      const compared = queryComparison(reader, query, requestsQuery, defaults.windowMs);
      compare = compared?.compare;
      condition = compared?.condition;
      // What preflight and the table show: the queries as one window would run them.
      const window = promDuration(defaults.windowMs);
      query = query?.replaceAll('$window', window);
      requestsQuery = requestsQuery?.replaceAll('$window', window);
    } else condition = reader.condition('condition');
    if ('min-requests' in fields && requestsQuery === undefined)
      reader.problem('requests-query', 'a PromQL query counting the requests, since "min-requests" is given');
  }
  if (query === undefined || condition === undefined || prometheusUrl === undefined) return undefined;
  return {
    ...base,
    kind: 'prometheus',
    query,
    condition,
    ...(template !== undefined ? { template } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(requestsQuery !== undefined ? { requestsQuery } : {}),
    minRequests: requestsQuery === undefined ? 0 : minRequests,
    prometheusUrl,
    ...(compare ? { compare } : {}),
    unit,
  };
}

const COMPARISON_KEYS = ['measure', 'test', 'max-increase', 'false-alarm-rate', 'error-rate-floor'];
const SEQUENTIAL_KEYS = ['max-increase', 'false-alarm-rate', 'error-rate-floor'];
/**
 * Windows of a sequential comparison: since the gate began (but at least the check's `window`),
 * which this bounds only as a last resort.
 */
const SEQUENTIAL_WINDOW_MS = 24 * 3_600_000;
const DEFAULT_CONDITION: Record<Comparison['measure'], string> = {
  'error-rate': '<= 0.01',
  latency: '<= 0.2',
};

/**
 * The test and its bound: sequential (the default for error rates) takes max-increase,
 * false-alarm-rate and error-rate-floor; fixed takes a condition on the increase.
 */
function comparisonTest(
  reader: FieldReader,
  measure: Comparison['measure'],
): { sequential?: SequentialOptions; condition?: Condition } {
  const test =
    reader.oneOf('test', ['sequential', 'fixed'] as const) ??
    (measure === 'error-rate' ? 'sequential' : 'fixed');
  if (test === 'sequential' && measure === 'latency') {
    reader.problem('test', 'fixed for a latency comparison (only error counts are tested sequentially)');
    return {};
  }
  if (test === 'fixed') {
    for (const key of SEQUENTIAL_KEYS)
      if (reader.has(key)) reader.problem(key, `no "${key}" with test: fixed (it sets the sequential test)`);
    return { condition: reader.condition('condition', DEFAULT_CONDITION[measure]) };
  }
  if (reader.has('condition'))
    reader.problem(
      'condition',
      'no "condition" with test: sequential: "max-increase" bounds how much worse the canary may be',
    );
  const sequential: SequentialOptions = {
    maxIncrease: reader.fraction('max-increase', 0.05, 10) ?? 1,
    alpha: reader.fraction('false-alarm-rate', 0.001, 0.2) ?? 0.05,
    floor: reader.fraction('error-rate-floor', 0, 0.5) ?? 0.001,
  };
  // Shown as the bound in the table; the test itself reads `sequential`.
  return { sequential, condition: { op: '<=', value: sequential.maxIncrease } };
}

function comparisonOf(
  reader: FieldReader,
  measure: Comparison['measure'],
  sides: Pick<Comparison, 'canary' | 'baseline' | 'baselineName'>,
  windowMs: number,
): { compare: Comparison; condition: Condition } | undefined {
  const { sequential, condition } = comparisonTest(reader, measure);
  if (!condition) return undefined;
  const window = sequential ? { maxMs: SEQUENTIAL_WINDOW_MS, minMs: windowMs } : { maxMs: windowMs };
  return { compare: { measure, ...sides, window, ...(sequential ? { sequential } : {}) }, condition };
}

/** `compare: <version>` on a template: the same template for the baseline's version. */
function templateComparison(
  reader: FieldReader,
  template: TemplateName,
  params: TemplateParams,
  windowMs: number,
): { compare: Comparison; condition: Condition } | undefined {
  const measure = COMPARED_TEMPLATES[template];
  if (reader.has('measure')) reader.problem('measure', `no "measure" with a template: ${template} sets it`);
  if (!measure) {
    reader.problem(
      'compare',
      `a template that can be compared: ${Object.keys(COMPARED_TEMPLATES).join(', ')}`,
      `template ${template}`,
    );
    return undefined;
  }
  const baseline = reader.string('compare', {
    pattern: /^[A-Za-z0-9._-]+$/,
    accepted: "the baseline's version label value, such as stable",
  });
  if (params.version === undefined) {
    reader.problem('version', 'the canary\'s version label value, since "compare" is given');
    return undefined;
  }
  if (baseline === undefined) return undefined;
  return comparisonOf(
    reader,
    measure,
    {
      canary: comparedSide(template, params, params.version),
      baseline: comparedSide(template, params, baseline),
      baselineName: baseline,
    },
    windowMs,
  );
}

/** `compare: { query, requests-query }` with the check's own queries: each side's counts over `$window`. */
function queryComparison(
  reader: FieldReader,
  query: string | undefined,
  requestsQuery: string | undefined,
  windowMs: number,
): { compare: Comparison; condition: Condition } | undefined {
  const measure = reader.oneOf('measure', ['error-rate', 'latency'] as const) ?? 'error-rate';
  const raw = reader.fields.compare;
  const form =
    'a mapping with "query" and "requests-query" for the baseline, over [$window] like the check\'s own (or, with a template, the baseline\'s version)';
  const baseline = isMapping(raw) ? raw : undefined;
  const baselineQuery = typeof baseline?.query === 'string' ? baseline.query.trim() : '';
  const baselineRequests =
    typeof baseline?.['requests-query'] === 'string' ? baseline['requests-query'].trim() : '';
  if (
    !baseline ||
    !baselineQuery ||
    !baselineRequests ||
    Object.keys(baseline).some((k) => k !== 'query' && k !== 'requests-query')
  ) {
    reader.problem('compare', form);
    return undefined;
  }
  if (requestsQuery === undefined)
    reader.problem(
      'requests-query',
      'the PromQL counting the canary\'s requests over [$window], since "compare" is given',
    );
  const queries = [query, requestsQuery, baselineQuery, baselineRequests];
  if (query === undefined || requestsQuery === undefined) return undefined;
  if (queries.some((q) => !q?.includes('$window'))) {
    reader.problem(
      'compare',
      form,
      'every query of a comparison reads its range as $window, so both sides cover the same time',
    );
    return undefined;
  }
  return comparisonOf(
    reader,
    measure,
    {
      canary: { value: query, requests: requestsQuery },
      baseline: { value: baselineQuery, requests: baselineRequests },
      baselineName: 'baseline',
    },
    windowMs,
  );
}

function parsePods(reader: FieldReader, base: BaseFields): CheckSpec | undefined {
  const deployment = reader.string('deployment', {
    pattern: KUBE_NAME,
    accepted: 'the name of a Deployment',
  });
  const selector = reader.string('selector', {
    pattern:
      /^[A-Za-z0-9./_-]+(\s*(=|==|!=)\s*[A-Za-z0-9._-]*)?(\s*,\s*[A-Za-z0-9./_-]+(\s*(=|==|!=)\s*[A-Za-z0-9._-]*)?)*$/,
    accepted: 'a label selector such as app=web,version=v2',
  });
  const namespace = reader.string('namespace', { pattern: KUBE_NAME, accepted: 'a namespace name' });
  const maxRestarts = reader.integer('max-restarts', 0) ?? 0;
  const fields = reader.fields;
  if (
    (deployment === undefined) === (selector === undefined) &&
    !(reader.problems.length > 0 && ('deployment' in fields || 'selector' in fields))
  ) {
    reader.problem(
      reader.has('deployment') ? 'selector' : 'deployment',
      'exactly one of "deployment" and "selector"',
    );
    return undefined;
  }
  if (deployment === undefined && selector === undefined) return undefined;
  return {
    ...base,
    kind: 'pods',
    ...(deployment !== undefined ? { deployment } : {}),
    ...(selector !== undefined ? { selector } : {}),
    ...(namespace !== undefined ? { namespace } : {}),
    maxRestarts,
  };
}

function parseCommand(reader: FieldReader, base: BaseFields, defaults: CheckDefaults): CheckSpec | undefined {
  const fields = reader.fields;
  const raw = fields.command;
  const accepted = 'a list of program and arguments such as [npm, run, smoke] (never a shell string)';
  let command: string[] | undefined;
  if (
    !Array.isArray(raw) ||
    raw.length === 0 ||
    raw.some((item) => typeof item !== 'string' && typeof item !== 'number') ||
    String(raw[0]).trim() === ''
  ) {
    reader.problem('command', accepted, typeof raw === 'string' ? 'a shell string is not run' : undefined);
  } else command = raw.map(String);
  const timeoutMs = reader.duration('timeout') ?? defaults.commandTimeoutMs;
  const cwd = reader.string('cwd');
  const env = reader.stringMap('env', 'a mapping of variable names to values') ?? {};
  if (!command) return undefined;
  return { ...base, kind: 'command', command, timeoutMs, ...(cwd !== undefined ? { cwd } : {}), env };
}

interface BaseFields {
  name: string;
  rules: FailureRules;
  onNoData?: OnNoData;
}

function defaultName(kind: CheckKind, fields: Fields, index: number): string {
  if (kind === 'prometheus' && typeof fields.template === 'string') return fields.template;
  if (kind === 'pods' && typeof fields.deployment === 'string') return `pods-${fields.deployment}`;
  return `${kind}-${index + 1}`;
}

/**
 * Parses the `checks` document. `problems` name check index and name, field, value and accepted
 * form; `checks` holds the checks that parsed (all of them when there are no problems).
 */
export function parseChecks(
  doc: unknown,
  defaults: Partial<CheckDefaults> = {},
): { checks: CheckSpec[]; problems: string[] } {
  const settings: CheckDefaults = {
    ...DEFAULT_CHECK_DEFAULTS,
    ...Object.fromEntries(Object.entries(defaults).filter(([, v]) => v !== undefined)),
  };
  const problems: string[] = [];
  const checks: CheckSpec[] = [];
  if (doc === undefined || doc === null) return { checks, problems };
  if (!Array.isArray(doc)) {
    return {
      checks,
      problems: [
        `the checks are ${isMapping(doc) ? 'a mapping' : shown(doc)}: expected a YAML list of checks, each a mapping with "kind" (one of ${CHECK_KINDS.join(', ')})`,
      ],
    };
  }
  const names = new Set<string>();
  doc.forEach((item: unknown, index) => {
    const label = `check ${index + 1}`;
    if (!isMapping(item)) {
      problems.push(
        `${label}: ${shown(item)} is not a mapping: expected a mapping with "kind" (one of ${CHECK_KINDS.join(', ')})`,
      );
      return;
    }
    const where = typeof item.name === 'string' ? `${label} ("${item.name}")` : label;
    const reader = new FieldReader(where, item);
    const kind = reader.oneOf('kind', CHECK_KINDS);
    if (kind === undefined) {
      if (!reader.has('kind')) reader.problem('kind', `one of ${CHECK_KINDS.join(', ')}`);
      problems.push(...reader.problems);
      return;
    }
    for (const key of Object.keys(item)) {
      if (!COMMON_KEYS.includes(key) && !KEYS[kind].includes(key)) {
        reader.problem(
          key,
          `a known key of a ${kind} check: ${[...COMMON_KEYS, ...KEYS[kind]].join(', ')}`,
          'unknown key',
        );
      }
    }
    const name =
      reader.string('name', {
        pattern: NAME,
        accepted: 'a name of letters, digits, ".", "_" and "-" (at most 63)',
      }) ?? defaultName(kind, item, index);
    if (names.has(name)) reader.problem('name', 'a name no other check has', 'duplicate name');
    names.add(name);
    const onNoData = reader.oneOf('on-no-data', ['hold', 'pass', 'fail'] as const);
    const base: BaseFields = {
      name,
      rules: failureRules(reader, settings),
      ...(onNoData ? { onNoData } : {}),
    };
    const parsed =
      kind === 'http'
        ? parseHttp(reader, base, settings)
        : kind === 'prometheus'
          ? parsePrometheus(reader, base, settings)
          : kind === 'pods'
            ? parsePods(reader, base)
            : parseCommand(reader, base, settings);
    problems.push(...reader.problems);
    if (parsed && reader.problems.length === 0) checks.push(parsed);
  });
  return { checks, problems };
}

/** Replaces `${name}` with its value, for every name given, in every string of a checks document. */
export function fillChecks(doc: unknown, values: Record<string, string>): unknown {
  if (typeof doc === 'string')
    return Object.entries(values).reduce((text, [k, v]) => text.replaceAll(`\${${k}}`, v), doc);
  if (Array.isArray(doc)) return doc.map((d) => fillChecks(d, values));
  if (doc && typeof doc === 'object')
    return Object.fromEntries(Object.entries(doc).map(([k, v]) => [k, fillChecks(v, values)]));
  return doc;
}
