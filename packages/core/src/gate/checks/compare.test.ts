import { describe, expect, it } from 'vitest';
import { QueryRejectedError, type PrometheusClient } from '../prometheus-client.js';
import type { Comparison, PrometheusCheck } from '../types.js';
import { sampleComparison, wilson, windowNow } from './compare.js';

/**
 * Prometheus answering each query string with one value: a number is one series, NaN a series
 * whose value is NaN, a missing query no series at all, an Error a failed read.
 */
function prometheus(answers: Record<string, number | Error>): PrometheusClient & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    query: (query) => {
      asked.push(query);
      const answer = answers[query];
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(answer === undefined ? [] : [{ labels: {}, value: answer }]);
    },
  };
}

const Q = {
  canaryValue: 'canary_value',
  canaryRequests: 'canary_requests',
  stableValue: 'stable_value',
  stableRequests: 'stable_requests',
};

function comparison(measure: Comparison['measure'], bound: number, minRequests = 20): PrometheusCheck {
  return {
    name: `${measure}-vs-stable`,
    kind: 'prometheus',
    rules: { critical: true },
    query: Q.canaryValue,
    requestsQuery: Q.canaryRequests,
    minRequests,
    condition: { op: '<=', value: bound },
    unit: 'ratio',
    compare: {
      measure,
      canary: { value: Q.canaryValue, requests: Q.canaryRequests },
      baseline: { value: Q.stableValue, requests: Q.stableRequests },
      baselineName: 'stable',
      window: { maxMs: 60_000 },
    },
  };
}

const errors = (canary: [number, number], stable: [number, number]): Record<string, number> => ({
  [Q.canaryValue]: canary[0],
  [Q.canaryRequests]: canary[1],
  [Q.stableValue]: stable[0],
  [Q.stableRequests]: stable[1],
});

const ctx = { deadlineMs: 1000 };

describe('windowNow', () => {
  it('is the window, shortened to what came after the canary began, in whole seconds of at least 2', () => {
    const now = 1_000_000;
    expect(windowNow({ maxMs: 60_000 }, now)).toBe('60s');
    expect(windowNow({ maxMs: 60_000, since: now - 12_300 }, now)).toBe('13s');
    expect(windowNow({ maxMs: 60_000, since: now - 600_000 }, now)).toBe('60s');
    expect(windowNow({ maxMs: 60_000, since: now - 100 }, now)).toBe('2s');
  });

  it('fills $window in every query of the sample', async () => {
    const asked: string[] = [];
    const client = {
      query: (q: string) => {
        asked.push(q);
        return Promise.resolve([{ labels: {}, value: q.startsWith('canary_requests') ? 100 : 0 }]);
      },
    } as unknown as PrometheusClient;
    const check = comparison('error-rate', 0.01);
    check.compare = {
      ...check.compare!,
      canary: { value: 'canary_value[$window]', requests: 'canary_requests[$window]' },
      baseline: { value: 'stable_value[$window]', requests: 'stable_requests[$window]' },
      window: { maxMs: 60_000, since: Date.now() - 5_000 },
    };
    await sampleComparison(check, client, ctx);
    expect(asked).toHaveLength(4);
    for (const q of asked) expect(q).toMatch(/\[[5-6]s\]$/);
  });
});

describe('wilson', () => {
  // Newcombe (1998), "Two-sided confidence intervals for the single proportion", table I (95%).
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0, 0.1611],
    [1, 29, 0.0061, 0.1718],
  ])('gives the published 95 percent interval for %i of %i', (k, n, low, high) => {
    const interval = wilson(k, n, 1.96);
    expect(interval.low).toBeCloseTo(low, 4);
    expect(interval.high).toBeCloseTo(high, 4);
  });

  it('is 99% by default, with the closed forms at the edges', () => {
    const z2 = 2.576 ** 2;
    // No failures: from 0 to z²/(n+z²). All failures: from n/(n+z²) to 1.
    expect(wilson(0, 100).low).toBe(0);
    expect(wilson(0, 100).high).toBeCloseTo(z2 / (100 + z2), 12);
    expect(wilson(100, 100).low).toBeCloseTo(100 / (100 + z2), 12);
    expect(wilson(100, 100).high).toBeCloseTo(1, 12);
    // Nothing seen: anything is possible.
    expect(wilson(0, 0)).toEqual({ low: 0, high: 1 });
  });
});

describe('sampleComparison: error rate', () => {
  it('passes a healthy canary and asks for both sides', async () => {
    const client = prometheus(errors([1, 1000], [10, 10_000]));
    const sample = await sampleComparison(comparison('error-rate', 0.01), client, ctx);
    expect(sample).toEqual({
      outcome: 'ok',
      value: 0,
      sampleSize: 1000,
      detail: '0.10% errors (1/1000) vs stable 0.10% (10/10000): not worse beyond <= 0.01',
    });
    expect(client.asked.sort()).toEqual(Object.values(Q).sort());
  });

  it('does not fail a canary on one error in a few requests', async () => {
    // 4% against 0.1% is well over one point more, but 1 in 25 says little.
    const sample = await sampleComparison(
      comparison('error-rate', 0.01),
      prometheus(errors([1, 25], [1, 1000])),
      ctx,
    );
    expect(sample.outcome).toBe('ok');
    expect(sample.value).toBeCloseTo(0.039, 6);
  });

  it('fails a canary with 20% errors against a stable with none', async () => {
    const sample = await sampleComparison(
      comparison('error-rate', 0.01),
      prometheus(errors([200, 1000], [0, 10_000])),
      ctx,
    );
    expect(sample).toEqual({
      outcome: 'fail',
      value: 0.2,
      sampleSize: 1000,
      detail: '20.0% errors (200/1000) vs stable 0.00% (0/10000): worse beyond <= 0.01 at 99% confidence',
    });
  });

  it('fails a canary with errors when the stable has no requests to compare with', async () => {
    // No stable errors query answer and no requests: the canary is held to the bound alone.
    const sample = await sampleComparison(
      comparison('error-rate', 0.01),
      prometheus({ [Q.canaryValue]: 100, [Q.canaryRequests]: 1000 }),
      ctx,
    );
    expect(sample.outcome).toBe('fail');
    expect(sample.detail).toContain('vs stable 0.00% (0/0)');
  });

  it('has no data below min-requests, whatever the errors', async () => {
    const sample = await sampleComparison(
      comparison('error-rate', 0.01, 20),
      prometheus(errors([5, 5], [0, 10_000])),
      ctx,
    );
    expect(sample).toEqual({
      outcome: 'no-data',
      detail: '5 canary requests in the window, min-requests 20',
      sampleSize: 5,
    });
  });
});

describe('sampleComparison: latency', () => {
  const latency = (canary: number | undefined, stable: number | undefined): Record<string, number> => ({
    ...(canary !== undefined ? { [Q.canaryValue]: canary } : {}),
    ...(stable !== undefined ? { [Q.stableValue]: stable } : {}),
    [Q.canaryRequests]: 1000,
    [Q.stableRequests]: 20_000,
  });

  it('fails a canary 50% slower than the stable against a 0.2 bound', async () => {
    const sample = await sampleComparison(comparison('latency', 0.2), prometheus(latency(0.3, 0.2)), ctx);
    expect(sample.outcome).toBe('fail');
    expect(sample.value).toBeCloseTo(0.5, 10);
    expect(sample.detail).toBe('300.0 ms vs stable 200.0 ms (+50%, 1000 requests): fails <= 0.2');
  });

  it('passes a canary 10% slower, and one that is faster', async () => {
    const slower = await sampleComparison(comparison('latency', 0.2), prometheus(latency(0.22, 0.2)), ctx);
    expect(slower.outcome).toBe('ok');
    expect(slower.detail).toBe('220.0 ms vs stable 200.0 ms (+10%, 1000 requests): meets <= 0.2');
    const faster = await sampleComparison(comparison('latency', 0.2), prometheus(latency(0.1, 0.2)), ctx);
    expect(faster).toMatchObject({ outcome: 'ok', value: -0.5 });
  });

  it.each([
    ['the stable', latency(0.3, undefined)],
    ['the canary', latency(undefined, 0.2)],
    ['the canary (NaN: a quantile over empty buckets)', latency(Number.NaN, 0.2)],
    ['the stable (NaN)', latency(0.3, Number.NaN)],
  ])('has no data while %s has no latency', async (_who, answers) => {
    const sample = await sampleComparison(comparison('latency', 0.2), prometheus(answers), ctx);
    expect(sample).toEqual({
      outcome: 'no-data',
      detail: 'no latency for one of the versions yet',
      sampleSize: 1000,
    });
  });
});

describe('sampleComparison: Prometheus failing', () => {
  it('is no data with error: true when Prometheus cannot be read', async () => {
    const client = prometheus({
      ...errors([1, 1000], [1, 1000]),
      [Q.stableRequests]: new Error('ECONNREFUSED'),
    });
    const sample = await sampleComparison(comparison('error-rate', 0.01), client, ctx);
    expect(sample).toEqual({
      outcome: 'no-data',
      error: true,
      detail: 'Prometheus unreadable: ECONNREFUSED',
    });
  });

  it('says why when Prometheus rejects a query', async () => {
    const rejected = new QueryRejectedError(Q.canaryValue, 'bad_data: parse error');
    const sample = await sampleComparison(
      comparison('latency', 0.2),
      prometheus({ ...errors([1, 1000], [1, 1000]), [Q.canaryValue]: rejected }),
      ctx,
    );
    expect(sample).toEqual({ outcome: 'no-data', error: true, detail: rejected.message });
  });

  it('rethrows when the gate was cancelled', async () => {
    const cancel = new AbortController();
    cancel.abort(new Error('cancelled'));
    const client = prometheus({ [Q.canaryValue]: new Error('aborted') });
    await expect(
      sampleComparison(comparison('error-rate', 0.01), client, { ...ctx, signal: cancel.signal }),
    ).rejects.toThrow('aborted');
  });
});
