import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { PrometheusClient } from '../gate/prometheus-client.js';
import { confirmObservedTraffic, trafficQuery } from './observe.js';

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
