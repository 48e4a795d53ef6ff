import { describe, expect, it } from 'vitest';
import { collectMonitoring, gradeAlerts, monitoringQueries, type MonitoringRead } from './monitoring.js';
import { parseMonitoring } from './monitoring-spec.js';
import { noDataHint } from './no-data-hint.js';
import type { PrometheusClient } from './prometheus-client.js';

const { spec } = parseMonitoring({ service: 'web', version: 'v2', deployment: 'web-v2' });

/** A Prometheus that answers each of the section's queries as given: a number, nothing, NaN or an error. */
function prometheus(answers: Partial<Record<MonitoringRead, number | null | Error>>): {
  client: PrometheusClient;
  asked: string[];
} {
  const queries = monitoringQueries(spec, 'shop', '1m');
  const asked: string[] = [];
  const client: PrometheusClient = {
    query(query) {
      asked.push(query);
      const read = (Object.keys(queries) as MonitoringRead[]).find((k) => queries[k] === query);
      const answer = read === undefined ? null : answers[read];
      if (answer instanceof Error) return Promise.reject(answer);
      return Promise.resolve(answer === null || answer === undefined ? [] : [{ labels: {}, value: answer }]);
    },
  };
  return { client, asked };
}

describe('monitoringQueries', () => {
  const queries = monitoringQueries(spec, 'shop', '1m');

  it('reads every metric of the report, replicas included, from standard metric names', () => {
    expect(Object.keys(queries).sort()).toEqual(
      [
        'throughput',
        'error-rate',
        'errors-per-second',
        'latency-avg',
        'latency-p50',
        'latency-p95',
        'latency-p99',
        'cpu',
        'memory',
        'disk',
        'replicas-desired',
        'replicas-available',
        'replicas-ready',
      ].sort(),
    );
    const sel = '{namespace="shop",service="web",version="v2"}';
    expect(queries['errors-per-second']).toBe(
      `(sum(rate(http_requests_total{namespace="shop",service="web",version="v2",code=~"5.."}[1m])) or vector(0)) and on() sum(rate(http_requests_total${sel}[1m]))`,
    );
    expect(queries['latency-avg']).toBe(
      `sum(rate(http_request_duration_seconds_sum${sel}[1m])) / sum(rate(http_request_duration_seconds_count${sel}[1m]))`,
    );
    expect(queries.disk).toBe(
      'sum(container_fs_usage_bytes{namespace="shop",pod=~"web-v2-[a-z0-9]+-[a-z0-9]+",container!="",container!="POD"})',
    );
    expect(queries['replicas-ready']).toBe(
      'sum(kube_deployment_status_replicas_ready{namespace="shop",deployment="web-v2"})',
    );
  });

  it('never falls into the no-data trap: no errors reads 0, not nothing', () => {
    for (const [read, query] of Object.entries(queries))
      expect([read, noDataHint(query)]).toEqual([read, undefined]);
  });

  it('escapes the dots of a Deployment name in the pod pattern', () => {
    const dotted = monitoringQueries({ ...spec, service: undefined, deployment: 'web.v2' }, 'shop', '1m');
    expect(dotted.memory).toContain('pod=~"web\\\\.v2-[a-z0-9]+-[a-z0-9]+"');
    expect(dotted['latency-p95']).toBeUndefined();
  });
});

describe('collectMonitoring', () => {
  it('reads every value, derives health from ready / desired and grades the alerts', async () => {
    const { client, asked } = prometheus({
      throughput: 40,
      'error-rate': 0.1,
      'errors-per-second': 4,
      'latency-avg': 0.05,
      'latency-p50': 0.04,
      'latency-p95': 0.6,
      'latency-p99': 0.9,
      cpu: 0.2,
      memory: 50e6,
      disk: 9e6,
      'replicas-desired': 4,
      'replicas-available': 3,
      'replicas-ready': 3,
    });
    const snapshot = await collectMonitoring({ spec, namespace: 'shop', windowMs: 60_000, client });
    expect(asked).toHaveLength(13);
    expect(snapshot.target).toBe('Service shop/web (version v2), Deployment shop/web-v2');
    expect(snapshot.replicas).toEqual({ desired: 4, available: 3, ready: 3 });
    expect(snapshot.values).toMatchObject({ 'ready-ratio': 0.75, 'errors-per-second': 4, disk: 9e6 });
    expect(snapshot.alerts.map((a) => [a.metric, a.level, a.shownValue, a.shownThreshold])).toEqual([
      ['ready-ratio', 'warning', '75.00%', '100.00%'],
      ['latency-p95', 'warning', '600.0 ms', '500.0 ms'],
      ['error-rate', 'critical', '10.00%', '5.00%'],
    ]);
    expect(snapshot.unknown).toEqual([]);
  });

  it('shows what Prometheus cannot give as unknown, with why, and never grades it', async () => {
    const { client } = prometheus({
      throughput: 0,
      'error-rate': Number.NaN,
      'latency-p99': new Error('Prometheus http://p: HTTP 503'),
      'replicas-desired': 2,
      'replicas-ready': 2,
    });
    const snapshot = await collectMonitoring({ spec, namespace: 'shop', windowMs: 60_000, client });
    expect(snapshot.values).toEqual({ throughput: 0, 'ready-ratio': 1 });
    expect(snapshot.replicas).toEqual({ desired: 2, ready: 2 });
    expect(snapshot.alerts).toEqual([]);
    expect(snapshot.unknown).toEqual([
      'Error rate: no data (no requests in the window)',
      'Errors: no data (the query returned no series)',
      'Latency avg: no data (the query returned no series)',
      'Latency p50: no data (the query returned no series)',
      'Latency p95: no data (the query returned no series)',
      'Latency p99: Prometheus http://p: HTTP 503',
      'CPU: no data (the query returned no series)',
      'Memory: no data (the query returned no series)',
      'Disk: no data (the query returned no series)',
      'available replicas: no data (the query returned no series)',
    ]);
  });

  it('without a Prometheus URL says so instead of reading zeros', async () => {
    const snapshot = await collectMonitoring({ spec, namespace: 'shop', windowMs: 30_000 });
    expect(snapshot.values).toEqual({});
    expect(snapshot.alerts).toEqual([]);
    expect(snapshot.unknown).toEqual(['request metrics, CPU, memory and disk: no Prometheus URL']);
  });
});

describe('gradeAlerts', () => {
  it('grades "below" metrics (health, throughput) under their thresholds, the worse level first', () => {
    const { spec: strict } = parseMonitoring({ thresholds: { throughput: { warning: 50, critical: 5 } } });
    expect(gradeAlerts({ throughput: 4, 'ready-ratio': 1 }, strict.thresholds)).toEqual([
      {
        metric: 'throughput',
        level: 'critical',
        value: 4,
        threshold: 5,
        direction: 'below',
        shownValue: '4.00 requests/s',
        shownThreshold: '5.00 requests/s',
        text: 'throughput 4.00 requests/s is below the critical threshold 5.00 requests/s',
      },
    ]);
    expect(gradeAlerts({ throughput: 50, 'latency-avg': 0.5 }, strict.thresholds)).toEqual([
      expect.objectContaining({ metric: 'latency-avg', level: 'warning', threshold: 0.25 }),
    ]);
  });
});
