import { describe, expect, it } from 'vitest';
import { gradeAlerts, type MonitoringSnapshot } from './monitoring.js';
import { parseMonitoring } from './monitoring-spec.js';
import { gateSummary } from './summary.js';
import type { GateDecision } from './types.js';

const decision: GateDecision = {
  verdict: 'fail',
  passed: false,
  reason: 'check "success-rate" failed: 2 failed samples, more than failure-limit 1',
  startedAt: '2026-01-01T10:00:00.000Z',
  endedAt: '2026-01-01T10:00:02.000Z',
  checks: [
    {
      name: 'success-rate',
      kind: 'prometheus',
      threshold: '>= 0.99, min-requests 10',
      query: 'sum(rate(x[1m]))',
      verdict: 'fail',
      reason: '2 failed samples',
      critical: false,
      counts: { ok: 1, fail: 2, noData: 1 },
      samples: [
        {
          at: '',
          elapsedMs: 0,
          threshold: '>= 0.99',
          outcome: 'ok',
          value: 0.995,
          sampleSize: 120,
          detail: 'ok',
        },
        {
          at: '',
          elapsedMs: 1000,
          threshold: '>= 0.99',
          outcome: 'no-data',
          sampleSize: 3,
          detail: '3 requests',
        },
        {
          at: '',
          elapsedMs: 2000,
          threshold: '>= 0.99',
          outcome: 'fail',
          value: 0.8,
          sampleSize: 130,
          detail: '0.8 | low',
        },
        {
          at: '',
          elapsedMs: 3000,
          threshold: '>= 0.99',
          outcome: 'fail',
          value: 0.79,
          sampleSize: 140,
          detail: 'low',
        },
      ],
    },
  ],
};

describe('gateSummary', () => {
  it('says why the gate ended and lists every sample with value, threshold and outcome', () => {
    const text = gateSummary(decision);
    expect(text).toContain('## Health gate: ❌ fail');
    expect(text).toContain('**Why it ended:** check "success-rate" failed');
    expect(text).toContain(
      '| success-rate | prometheus | ❌ fail | >= 0.99, min-requests 10 | 1 / 2 / 1 | 3–140 requests per window | 2 failed samples |',
    );
    expect(text).toContain('| 2 | +1.0s | — | 3 | >= 0.99 | ⏸ no data | 3 requests |');
    expect(text).toContain('| 3 | +2.0s | 0.8 | 130 | >= 0.99 | ❌ fail | 0.8 \\| low |');
    expect(text).toContain('x-axis ["+0.0s", "+2.0s", "+3.0s"]');
    expect(text).toContain('    line [0.995, 0.8, 0.79]\n    line [0.99, 0.99, 0.99]');
    expect(text).toContain('_Series: 1. success-rate (line), 2. threshold >= 0.99 (line)_');
  });

  it('adds the monitoring section: every metric with its status and thresholds, then the alerts', () => {
    const { spec } = parseMonitoring({
      thresholds: { 'latency-p95': { warning: '200ms' }, throughput: { warning: 50, critical: 10 } },
    });
    const values = {
      'ready-ratio': 1 / 3,
      'latency-avg': 0.05,
      'latency-p50': 0.04,
      'latency-p95': 0.3,
      'latency-p99': 0.6,
      'error-rate': 0.08,
      'errors-per-second': 3.36,
      throughput: 42,
      cpu: 0.25,
      memory: 64 * 1024 * 1024,
    };
    const snapshot: MonitoringSnapshot = {
      target: 'Service shop/web (version v2), Deployment shop/web-v2',
      at: '2026-01-01T10:00:02.000Z',
      windowMs: 60_000,
      watches: { requests: true, deployment: true },
      replicas: { desired: 3, available: 2, ready: 1 },
      values,
      thresholds: spec.thresholds,
      alerts: gradeAlerts(values, spec.thresholds),
      unknown: ['Disk: no data (the query returned no series)'],
    };
    expect(snapshot.alerts.map((a) => [a.metric, a.level])).toEqual([
      ['ready-ratio', 'critical'],
      ['latency-p95', 'warning'],
      ['error-rate', 'critical'],
      ['throughput', 'warning'],
    ]);
    const text = gateSummary(decision, snapshot);
    expect(text).toContain('### Deploy monitoring');
    expect(text).toContain('| Metric | Value | Status | Thresholds |');
    expect(text).toContain(
      '| Health (ready / desired) | 33.33% (1 / 3) | 🔴 critical | warning < 100.00%, critical < 50.00% |',
    );
    expect(text).toContain('| Replicas desired / available / ready | 3 / 2 / 1 |  |  |');
    expect(text).toContain('| Latency avg | 50.0 ms | 🟢 ok | warning > 250.0 ms, critical > 500.0 ms |');
    expect(text).toContain(
      '| Latency p95 | 300.0 ms | 🟠 warning | warning > 200.0 ms, critical > 1000.0 ms |',
    );
    expect(text).toContain('| Error rate | 8.00% | 🔴 critical | warning > 1.00%, critical > 5.00% |');
    expect(text).toContain('| Errors | 3.36 errors/s | — (not graded) | none set |');
    expect(text).toContain(
      '| Throughput | 42.00 requests/s | 🟠 warning | warning < 50.00 requests/s, critical < 10.00 requests/s |',
    );
    expect(text).toContain('| CPU | 0.250 cores | — (not graded) | none set |');
    expect(text).toContain('| Memory | 64.0 MiB | — (not graded) | none set |');
    expect(text).toContain('| Disk | unknown | — | none set |');
    expect(text).toContain('- **critical**: error-rate 8.00% is above the critical threshold 5.00%');
    expect(text).toContain(
      '- **warning**: throughput 42.00 requests/s is below the warning threshold 50.00 requests/s',
    );
    expect(text).toContain('- Disk: no data (the query returned no series)');
  });

  it('shows only what the target covers: a Service without a Deployment has no replica or resource rows', () => {
    const { spec } = parseMonitoring({});
    const text = gateSummary(decision, {
      target: 'Service shop/web',
      at: '2026-01-01T10:00:02.000Z',
      windowMs: 30_000,
      watches: { requests: true, deployment: false },
      values: { 'error-rate': 0 },
      thresholds: spec.thresholds,
      alerts: [],
      unknown: [],
    });
    expect(text).toContain('| Error rate | 0.00% | 🟢 ok |');
    expect(text).toContain('| Latency p99 | unknown | — |');
    expect(text).not.toContain('| Health');
    expect(text).not.toContain('| CPU');
    expect(text).toContain('No alerts.');
  });

  it('refuses unknown monitoring settings', () => {
    expect(parseMonitoring({ thresholds: { apdex: { warning: 1 } }, colour: 'red' }).problems).toEqual([
      '"colour" has value "red": expected one of the keys enabled, service, version, deployment, namespace, window, requests-metric, duration-metric, status-label, thresholds',
      '"thresholds.apdex" is not a metric: expected one of ready-ratio, latency-avg, latency-p50, latency-p95, latency-p99, error-rate, errors-per-second, throughput, cpu, memory, disk',
    ]);
  });
});
