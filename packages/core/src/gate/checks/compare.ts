/**
 * One sample of a comparison: the canary against the baseline (stable) over the same window.
 * Error rates are compared as counts, so a handful of requests cannot fail a healthy canary: it
 * is worse only when even the low end of its 99% interval is above the high end of the
 * baseline's plus the allowed increase (Wilson score intervals). Latency quantiles have no
 * counts to test, so they are compared by ratio once enough requests were seen, above a floor.
 */
import { describeCondition, holds } from '../condition.js';
import { QueryRejectedError, type PrometheusClient } from '../prometheus-client.js';
import type { Comparison, PrometheusCheck, Sample } from '../types.js';
import type { PrometheusSampleContext } from './prometheus.js';

/** Two-sided 99%. */
const Z = 2.576;

/**
 * Latency differences smaller than this are not judged: quantiles interpolated inside histogram
 * buckets, over a window of a few hundred requests, move by this much on their own.
 */
export const LATENCY_FLOOR_S = 0.025;

/** The Wilson score interval of `k` successes out of `n`. */
export function wilson(k: number, n: number, z = Z): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** A count as Prometheus's increase() gives it (extrapolated, so often fractional). */
function fixed(count: number): string {
  return String(Math.round(count * 10) / 10);
}

function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio < 0.01 ? 2 : 1)}%`;
}

/**
 * The `$window` of the queries now: the window, shortened to what came after `since` but never
 * below `minMs`; whole seconds, at least 2.
 */
export function windowNow(window: Comparison['window'], now = Date.now()): string {
  const ms =
    window.since === undefined
      ? window.maxMs
      : Math.min(window.maxMs, Math.max(window.minMs ?? 0, now - window.since));
  return `${Math.max(2, Math.ceil(ms / 1000))}s`;
}

async function scalar(
  client: PrometheusClient,
  query: string,
  ctx: PrometheusSampleContext,
): Promise<number> {
  const series = await client.query(query, {
    deadlineMs: ctx.deadlineMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  // NaN (a quantile over empty buckets) is no value: it must never read as 0 ms.
  const finite = series.filter((s) => Number.isFinite(s.value));
  return finite.length === 0 ? Number.NaN : finite.reduce((sum, s) => sum + s.value, 0);
}

export async function sampleComparison(
  check: PrometheusCheck,
  client: PrometheusClient,
  ctx: PrometheusSampleContext,
): Promise<Sample> {
  const c = check.compare!;
  const range = windowNow(c.window);
  let values: number[];
  try {
    values = await Promise.all(
      [c.canary.value, c.canary.requests, c.baseline.value, c.baseline.requests].map((q) =>
        scalar(client, q.replaceAll('$window', range), ctx),
      ),
    );
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    const text = error instanceof Error ? error.message : String(error);
    return {
      outcome: 'no-data',
      error: true,
      detail: error instanceof QueryRejectedError ? text : `Prometheus unreadable: ${text}`,
    };
  }
  const [canaryValue, canaryRequests, baselineValue, baselineRequests] = values.map((v) =>
    Number.isNaN(v) ? 0 : v,
  ) as [number, number, number, number];
  if (c.sequential) {
    // The test weighs every look's counts, few or many: min-requests does not apply.
    return {
      outcome: 'ok',
      sampleSize: Math.round(canaryRequests),
      counts: {
        canary: { errors: canaryValue, requests: canaryRequests },
        baseline: { errors: baselineValue, requests: baselineRequests },
      },
      detail: `${fixed(canaryValue)}/${fixed(canaryRequests)} errors vs ${c.baselineName} ${fixed(baselineValue)}/${fixed(baselineRequests)} since the gate began (${range})`,
    };
  }
  const n = Math.round(canaryRequests);
  if (n < check.minRequests) {
    return {
      outcome: 'no-data',
      detail: `${n} canary requests in the window, min-requests ${check.minRequests}`,
      sampleSize: n,
    };
  }
  const bound = describeCondition(check.condition);
  if (c.measure === 'error-rate') {
    const k = Math.min(n, Math.round(canaryValue));
    const nb = Math.round(baselineRequests);
    const kb = Math.min(nb, Math.round(baselineValue));
    const canary = wilson(k, n);
    const baseline = nb > 0 ? wilson(kb, nb) : { low: 0, high: 0 };
    const increase = k / n - (nb > 0 ? kb / nb : 0);
    // The least the canary can be worse by, at 99% on both sides: what the condition bounds.
    const surely = canary.low - baseline.high;
    const worse = !holds(check.condition, surely);
    return {
      outcome: worse ? 'fail' : 'ok',
      value: increase,
      sampleSize: n,
      detail: `${percent(k / n)} errors (${k}/${n}) vs ${c.baselineName} ${percent(nb > 0 ? kb / nb : 0)} (${kb}/${nb}): ${worse ? `worse beyond ${bound} at 99% confidence` : `not worse beyond ${bound}`}`,
    };
  }
  if (Number.isNaN(values[0]!) || Number.isNaN(values[2]!) || baselineValue <= 0) {
    return { outcome: 'no-data', detail: 'no latency for one of the versions yet', sampleSize: n };
  }
  const increase = canaryValue / baselineValue - 1;
  const beyond = !holds(check.condition, increase);
  const worse = beyond && canaryValue - baselineValue > LATENCY_FLOOR_S;
  const verdict = worse
    ? `fails ${bound}`
    : beyond
      ? `within ${LATENCY_FLOOR_S * 1000} ms, below what is judged`
      : `meets ${bound}`;
  return {
    outcome: worse ? 'fail' : 'ok',
    value: increase,
    sampleSize: n,
    detail: `${(canaryValue * 1000).toFixed(1)} ms vs ${c.baselineName} ${(baselineValue * 1000).toFixed(1)} ms (${increase >= 0 ? '+' : ''}${(increase * 100).toFixed(0)}%, ${n} requests): ${verdict}`,
  };
}
