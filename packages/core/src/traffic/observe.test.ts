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
});
