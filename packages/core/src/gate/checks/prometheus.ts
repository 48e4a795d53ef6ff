/** One sample of a prometheus check: the value against its condition, gated by min-requests. */
import { describeCondition, holds } from '../condition.js';
import { noSeriesDetail } from '../no-data-hint.js';
import { accessFor, type PrometheusAccess } from '../prometheus-access.js';
import {
  createPrometheusClient,
  QueryRejectedError,
  type PrometheusClient,
  type SeriesValue,
} from '../prometheus-client.js';
import type { PrometheusCheck, Sample } from '../types.js';
import { sampleComparison } from './compare.js';

export interface PrometheusSampleContext {
  client?: PrometheusClient;
  signal?: AbortSignal;
  /** Budget for the sample including retries: the gate gives it most of an interval. */
  deadlineMs: number;
}

export function formatValue(value: number, unit: PrometheusCheck['unit']): string {
  if (Number.isNaN(value)) return 'NaN';
  switch (unit) {
    case 'ratio':
      return value.toFixed(4);
    case 'seconds':
      return `${(value * 1000).toFixed(1)} ms`;
    case 'rps':
      return `${value.toFixed(2)}/s`;
    case 'number':
      return String(Number(value.toPrecision(6)));
  }
}

function unreachable(error: unknown): Sample {
  const text = error instanceof Error ? error.message : String(error);
  return { outcome: 'no-data', error: true, detail: `Prometheus unreadable: ${text}` };
}

/**
 * The client for a check's Prometheus, one per URL. `main` is the gate's Prometheus and its
 * access: a check at another origin gets a client without the access (prometheus-access.ts).
 */
export function prometheusClientFor(
  check: PrometheusCheck,
  cache: Map<string, PrometheusClient>,
  main: { prometheusUrl?: string | undefined; prometheus?: PrometheusAccess | undefined } = {},
): PrometheusClient {
  const url = check.prometheusUrl ?? '';
  let client = cache.get(url);
  if (!client) {
    client = createPrometheusClient(url, accessFor(url, main));
    cache.set(url, client);
  }
  return client;
}

export async function samplePrometheus(
  check: PrometheusCheck,
  client: PrometheusClient,
  ctx: PrometheusSampleContext,
): Promise<Sample> {
  if (check.compare) return sampleComparison(check, client, ctx);
  const options = { deadlineMs: ctx.deadlineMs, ...(ctx.signal ? { signal: ctx.signal } : {}) };
  let series: SeriesValue[];
  let requests: number | undefined;
  try {
    const [values, counted] = await Promise.all([
      client.query(check.query, options),
      check.requestsQuery !== undefined && check.minRequests > 0
        ? client.query(check.requestsQuery, options)
        : undefined,
    ]);
    series = values;
    if (counted !== undefined)
      requests = Math.round(counted.reduce((sum, s) => sum + (Number.isFinite(s.value) ? s.value : 0), 0));
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    if (error instanceof QueryRejectedError) return { ...unreachable(error), detail: error.message };
    return unreachable(error);
  }
  const size = requests !== undefined ? { sampleSize: requests } : {};
  if (requests !== undefined && requests < check.minRequests) {
    return {
      outcome: 'no-data',
      detail: `${requests} requests in the window, min-requests ${check.minRequests}`,
      ...size,
    };
  }
  const values = series.filter((s) => !Number.isNaN(s.value));
  if (values.length === 0) {
    return {
      outcome: 'no-data',
      detail: series.length === 0 ? noSeriesDetail(check.query) : 'the query returned NaN',
      ...size,
    };
  }
  const failing = values.find((s) => !holds(check.condition, s.value));
  const shownSeries = failing ?? values[0]!;
  const of =
    values.length > 1
      ? ` (${values.length} series${failing ? `, failing: ${JSON.stringify(failing.labels)}` : ''})`
      : '';
  const requestText = requests !== undefined ? `, ${requests} requests` : '';
  const condition = describeCondition(check.condition);
  return {
    outcome: failing ? 'fail' : 'ok',
    value: shownSeries.value,
    detail: `${formatValue(shownSeries.value, check.unit)} ${failing ? 'fails' : 'meets'} ${condition}${requestText}${of}`,
    ...size,
  };
}
