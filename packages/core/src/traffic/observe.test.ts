import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { PrometheusClient } from '../gate/prometheus-client.js';
import { confirmObservedTraffic, confirmSplit, splitRequestsNeeded, trafficQuery } from './observe.js';

/** Answers the given counter readings in turn (the last one repeats). */
function scripted(readings: Record<string, number>[]): PrometheusClient {
  let i = 0;
  return {
    query: () => {
      const reading = readings[Math.min(i++, readings.length - 1)]!;
      return Promise.resolve(
        Object.entries(reading).map(([version, value]) => ({ labels: { version }, value })),
      );
    },
  };
}

describe('confirmObservedTraffic', () => {
  it('builds the per-colour counters query', () => {
    expect(trafficQuery('http_requests_total', 'version', 'shop', ['web'])).toBe(
      'sum by (version) (http_requests_total{namespace="shop",service=~"web"})',
    );
  });

  it('ignores the first post-write interval and confirms on one answered by the target alone', async () => {
    const result = await confirmObservedTraffic({
      client: scripted([
        { blue: 100 },
        { blue: 150, green: 5 }, // first scrape after the write: may hold pre-switch traffic
        { blue: 150, green: 60 },
      ]),
      query: 'q',
      versionLabel: 'version',
      target: 'green',
      deadline: Date.now() + 2000,
      pollMs: 1,
    });
    expect(result).toMatchObject({ ok: true, requests: { blue: 0, green: 55 } });
  });

  it('fails when the old colour keeps answering until the deadline', async () => {
    let blue = 0;
    const client: PrometheusClient = {
      query: () => Promise.resolve([{ labels: { version: 'blue' }, value: (blue += 10) }]),
    };
    const result = await confirmObservedTraffic({
      client,
      query: 'q',
      versionLabel: 'version',
      target: 'green',
      deadline: Date.now() + 100,
      pollMs: 5,
    });
    expect(result.ok).toBe(false);
    expect(result.detail).toContain('blue: 10');
  });

  it('leaves no abort listener behind, however many times it polls', async () => {
    const cancel = new AbortController();
    const listenersAtEachRead: number[] = [];
    let reads = 0;
    const client: PrometheusClient = {
      query: () => {
        listenersAtEachRead.push(getEventListeners(cancel.signal, 'abort').length);
        reads += 1;
        // No new scrape for 20 polls, then one after the write, then one answered by green alone.
        const green = reads <= 20 ? 0 : reads === 21 ? 1 : 50;
        return Promise.resolve([{ labels: { version: 'green' }, value: green }]);
      },
    };
    const result = await confirmObservedTraffic({
      client,
      query: 'q',
      versionLabel: 'version',
      target: 'green',
      deadline: Date.now() + 10_000,
      pollMs: 1,
      signal: cancel.signal,
    });
    expect(result.ok).toBe(true);
    expect(reads).toBe(22);
    expect(listenersAtEachRead.every((n) => n === 0)).toBe(true);
    expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0);
  });

  it('stops polling when cancelled, with the reason', async () => {
    const cancel = new AbortController();
    const client: PrometheusClient = {
      query: () => Promise.resolve([{ labels: { version: 'blue' }, value: 1 }]),
    };
    setTimeout(() => cancel.abort(new Error('cancelled by SIGINT')), 50);
    await expect(
      confirmObservedTraffic({
        client,
        query: 'q',
        versionLabel: 'version',
        target: 'green',
        deadline: Date.now() + 10_000,
        pollMs: 5,
        signal: cancel.signal,
      }),
    ).rejects.toThrow('cancelled by SIGINT');
    expect(getEventListeners(cancel.signal, 'abort')).toHaveLength(0);
  });
});

/**
 * Counters that advance by `perScrape` on every read, as if each query came after a new scrape;
 * `before` is what they held before the write (the first read).
 */
function advancing(
  perScrape: Record<string, number>,
  before: Record<string, number> = {},
): PrometheusClient & { reads: () => number } {
  const totals = { ...before };
  let reads = 0;
  return {
    reads: () => reads,
    query: () => {
      if (reads++ > 0)
        for (const [version, n] of Object.entries(perScrape)) totals[version] = (totals[version] ?? 0) + n;
      return Promise.resolve(
        Object.entries(totals).map(([version, value]) => ({ labels: { version }, value })),
      );
    },
  };
}

/**
 * Counters that advance by each phase's `perScrape` for its number of scrapes (the last phase
 * repeats), as a data plane that follows the route late: the first read is before the write.
 */
function phased(phases: { perScrape: Record<string, number>; scrapes: number }[]): PrometheusClient {
  const totals: Record<string, number> = {};
  let reads = 0;
  return {
    query: () => {
      if (reads++ > 0) {
        let left = reads - 2; // this scrape's index, from 0
        const phase = phases.find((p) => (left -= p.scrapes) < 0) ?? phases.at(-1)!;
        for (const [version, n] of Object.entries(phase.perScrape))
          totals[version] = (totals[version] ?? 0) + n;
      }
      return Promise.resolve(
        Object.entries(totals).map(([version, value]) => ({ labels: { version }, value })),
      );
    },
  };
}

const split = { query: 'q', versionLabel: 'version', version: 'canary', tolerance: 2, pollMs: 1 };

describe('confirmSplit', () => {
  it('needs enough requests for the smaller side to be seen about 30 times', () => {
    // 3.29² · p(1−p) / band², band = a quarter of the smaller side within 2.5..5 points.
    expect(splitRequestsNeeded(5)).toBe(823);
    expect(splitRequestsNeeded(95)).toBe(823);
    expect(splitRequestsNeeded(1)).toBe(172);
    expect(splitRequestsNeeded(25)).toBe(812);
    expect(splitRequestsNeeded(50)).toBe(1083);
    expect(splitRequestsNeeded(100)).toBe(100);
    expect(splitRequestsNeeded(0)).toBe(100);
  });

  it('confirms a correct 5% split once enough requests came after the change', async () => {
    // Before the write, and in the first scrape after it, only stable answered: not counted.
    const client = advancing({ stable: 95, canary: 5 }, { stable: 10_000 });
    const result = await confirmSplit({ ...split, client, weight: 5, deadline: Date.now() + 5000 });
    expect(result).toMatchObject({ ok: true, share: 5, requests: { stable: 855, canary: 45 } });
    expect(result.detail).toMatch(
      /^canary answered 5\.0% of 900 requests after the change \(target 5%, allowed ±\d+\.\d\)$/,
    );
    // The read before the write, the first scrape after it, then nine of 100 requests: judged at 900 (823 needed).
    expect(client.reads()).toBe(11);
  });

  it('confirms a split that is off by no more than chance', async () => {
    const client = advancing({ stable: 94, canary: 6 });
    const result = await confirmSplit({
      ...split,
      client,
      weight: 5,
      tolerance: 0,
      deadline: Date.now() + 5000,
    });
    expect(result).toMatchObject({ ok: true, share: 6 });
  });

  it.each([1, 2, 5, 25])('fails a router stuck at 0 percent when %i percent was written', async (weight) => {
    const client = advancing({ stable: 500 });
    const result = await confirmSplit({ ...split, client, weight, deadline: Date.now() + 5000 });
    expect(result.ok).toBe(false);
    expect(result.share).toBe(0);
    expect(result.detail).toMatch(
      new RegExp(
        `^off in the first window \\(canary answered 0\\.0% of \\d+ requests after the change \\(target ${weight}%.*\\)\\), judged again on a fresh one: canary answered 0\\.0% of \\d+ requests`,
      ),
    );
  });

  it('judges a fresh window when the first was routed late by the data plane, and confirms it', async () => {
    // The mesh kept the previous weight (0%) for the first window's nine scrapes, then did 5%.
    const client = phased([
      { perScrape: { stable: 100 }, scrapes: 10 },
      { perScrape: { stable: 95, canary: 5 }, scrapes: 1 },
    ]);
    const result = await confirmSplit({ ...split, client, weight: 5, deadline: Date.now() + 5000 });
    // Only the fresh window counts: none of the lagged window's 900 stable requests.
    expect(result).toMatchObject({ ok: true, share: 5, requests: { stable: 855, canary: 45 } });
    expect(result.detail).toMatch(
      /^off in the first window \(canary answered 0\.0% of 900 requests after the change \(target 5%, allowed ±\d+\.\d\)\), judged again on a fresh one: canary answered 5\.0% of 900 requests after the change \(target 5%, allowed ±\d+\.\d\)$/,
    );
  });

  it('fails when the fresh window is off too, naming both', async () => {
    const client = phased([
      { perScrape: { stable: 70, canary: 30 }, scrapes: 10 },
      { perScrape: { stable: 60, canary: 40 }, scrapes: 1 },
    ]);
    const result = await confirmSplit({ ...split, client, weight: 5, deadline: Date.now() + 5000 });
    expect(result).toMatchObject({ ok: false, share: 40, requests: { stable: 540, canary: 360 } });
    expect(result.detail).toMatch(
      /^off in the first window \(canary answered 30\.0% of 900 requests .*\), judged again on a fresh one: canary answered 40\.0% of 900 requests after the change \(target 5%, allowed ±\d+\.\d\)$/,
    );
  });

  it('fails a silent canary after the second window, having read both', async () => {
    const client = advancing({ stable: 100 });
    const result = await confirmSplit({ ...split, client, weight: 5, deadline: Date.now() + 5000 });
    expect(result).toMatchObject({ ok: false, share: 0, requests: { stable: 900 } });
    expect(result.detail).toContain('off in the first window (canary answered 0.0% of 900 requests');
    expect(result.detail).toContain('judged again on a fresh one: canary answered 0.0% of 900 requests');
    // Before the write, the base, nine scrapes for the first window, nine for the fresh one.
    expect(client.reads()).toBe(20);
  });

  it('fails when the deadline comes before the fresh window has enough requests, with the first window', async () => {
    const client = phased([
      { perScrape: { stable: 100 }, scrapes: 10 },
      { perScrape: { stable: 2, canary: 1 }, scrapes: 1 },
    ]);
    const result = await confirmSplit({ ...split, client, weight: 5, pollMs: 5, deadline: Date.now() + 300 });
    expect(result).toMatchObject({ ok: false, share: 0, requests: { stable: 900 } });
    expect(result.detail).toMatch(
      /^off in the first window \(canary answered 0\.0% of 900 requests .*\), judged again on a fresh one: Prometheus showed \d+ request\(s\) after the change in time, 823 are needed to judge a 5% share$/,
    );
  });

  it('fails a router that sends far more than it was told', async () => {
    const client = advancing({ stable: 70, canary: 30 });
    const result = await confirmSplit({ ...split, client, weight: 5, deadline: Date.now() + 5000 });
    expect(result).toMatchObject({ ok: false, share: 30 });
  });

  it('accepts a higher share with atLeast (a header route adds to it), never a lower one', async () => {
    const more = await confirmSplit({
      ...split,
      client: advancing({ stable: 80, canary: 20 }),
      weight: 5,
      atLeast: true,
      deadline: Date.now() + 5000,
    });
    expect(more).toMatchObject({ ok: true, share: 20 });
    expect(more.detail).toContain('target 5% or more, a header route adds to it');
    const less = await confirmSplit({
      ...split,
      client: advancing({ stable: 100 }),
      weight: 10,
      atLeast: true,
      deadline: Date.now() + 5000,
    });
    expect(less).toMatchObject({ ok: false, share: 0 });
  });

  it('does not count the versions it is told to ignore', async () => {
    const result = await confirmSplit({
      ...split,
      client: advancing({ stable: 90, canary: 10, none: 400 }),
      weight: 10,
      tolerance: 0,
      ignore: ['none'],
      deadline: Date.now() + 5000,
    });
    expect(result).toMatchObject({ ok: true, share: 10 });
    expect(result.requests).not.toHaveProperty('none');
  });

  it('fails when too few requests came before the deadline, saying how many are needed', async () => {
    const client = advancing({ stable: 2, canary: 1 });
    const result = await confirmSplit({ ...split, client, weight: 5, pollMs: 5, deadline: Date.now() + 150 });
    expect(result.ok).toBe(false);
    expect(result.share).toBeUndefined();
    expect(result.detail).toMatch(
      /^Prometheus showed \d+ request\(s\) after the change in time, 823 are needed to judge a 5% share$/,
    );
    const counted = Object.values(result.requests).reduce((a, b) => a + b, 0);
    expect(counted).toBeGreaterThan(0);
    expect(counted).toBeLessThan(823);
  });
});
