/**
 * Built-in Prometheus templates, so the common gate needs no PromQL: success-rate, error-rate,
 * latency-p95, latency-p99 and throughput of a Service (optionally one version of it), over the
 * standard `http_requests_total` / `http_request_duration_seconds` names (settable).
 *
 * A ratio's numerator filtered on the status code has no series until the first matching
 * request, so it falls back to 0 (`or vector(0)`): otherwise a service without a single error
 * (or one where every request fails) would read as no data (no-data-hint.ts explains it for
 * hand-written queries).
 */
export const TEMPLATE_NAMES = [
  'success-rate',
  'latency-p95',
  'latency-p99',
  'throughput',
  'error-rate',
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

export interface TemplateParams {
  namespace: string;
  service: string;
  version?: string;
  /** Range of rate(), as PromQL duration text (`1m`, `30s`). */
  window: string;
  requestsMetric: string;
  durationMetric: string;
  /** The label holding the HTTP status code. */
  statusLabel: string;
}

export interface TemplateQuery {
  query: string;
  /** Counts the requests the value rests on, for min-requests. */
  requestsQuery: string;
  defaultCondition: string;
  unit: 'ratio' | 'seconds' | 'rps';
}

/** A label value inside double quotes: PromQL escapes like Go strings. */
export function promString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export function selector(params: TemplateParams, extra: readonly string[] = []): string {
  const matchers = [`namespace=${promString(params.namespace)}`, `service=${promString(params.service)}`];
  if (params.version !== undefined) matchers.push(`version=${promString(params.version)}`);
  return `{${[...matchers, ...extra].join(',')}}`;
}

export function templateQuery(name: TemplateName, params: TemplateParams): TemplateQuery {
  const all = selector(params);
  const requestsQuery = `sum(increase(${params.requestsMetric}${all}[${params.window}]))`;
  const total = `sum(rate(${params.requestsMetric}${all}[${params.window}]))`;
  switch (name) {
    case 'success-rate': {
      const good = selector(params, [`${params.statusLabel}!~"5.."`]);
      return {
        query: `(sum(rate(${params.requestsMetric}${good}[${params.window}])) or vector(0)) / ${total}`,
        requestsQuery,
        defaultCondition: '>= 0.99',
        unit: 'ratio',
      };
    }
    case 'error-rate': {
      const failed = selector(params, [`${params.statusLabel}=~"5.."`]);
      return {
        query: `(sum(rate(${params.requestsMetric}${failed}[${params.window}])) or vector(0)) / ${total}`,
        requestsQuery,
        defaultCondition: '<= 0.01',
        unit: 'ratio',
      };
    }
    case 'latency-p95':
    case 'latency-p99': {
      const quantile = name === 'latency-p95' ? '0.95' : '0.99';
      return {
        query: `histogram_quantile(${quantile}, sum by (le) (rate(${params.durationMetric}_bucket${all}[${params.window}])))`,
        requestsQuery,
        defaultCondition: name === 'latency-p95' ? '< 0.5' : '< 1',
        unit: 'seconds',
      };
    }
    case 'throughput':
      return { query: total, requestsQuery, defaultCondition: '> 0', unit: 'rps' };
  }
}

/** Milliseconds as a PromQL duration (`90s`, `1m`, `500ms`). */
export function promDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
