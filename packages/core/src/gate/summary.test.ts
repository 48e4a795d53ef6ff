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

  it('adds the monitoring section with graded alerts', () => {
    const { spec } = parseMonitoring({ thresholds: { 'latency-p95': { warning: 0.2 } } });
    const base: Omit<MonitoringSnapshot, 'alerts'> = {
      target: 'Service shop/web (version v2)',
      at: '2026-01-01T10:00:02.000Z',
      windowMs: 60_000,
      replicas: { ready: 1, desired: 3 },
      latency: { avg: 0.05, p50: 0.04, p95: 0.3, p99: 0.6 },
      errorRate: 0.08,
      throughput: 42,
      cpu: 0.25,
      memory: 64 * 1024 * 1024,
      unknown: [],
    };
    const alerts = gradeAlerts(base, spec);
    expect(alerts.map((a) => [a.metric, a.level])).toEqual([
      ['error-rate', 'critical'],
      ['latency-p95', 'warning'],
      ['ready-ratio', 'critical'],
    ]);
    const text = gateSummary(decision, { ...base, alerts });
    expect(text).toContain('### Deploy monitoring');
    expect(text).toContain('| Health (ready / desired) | 1 / 3 | 🔴 critical |');
    expect(text).toContain('| Latency p95 | 300.0 ms | 🟠 warning |');
    expect(text).toContain('| Error rate | 8.00% | 🔴 critical |');
    expect(text).toContain('| Memory | 64.0 MiB | 🟢 ok |');
    expect(text).toContain('- **critical**: error-rate 8.00% is above the critical threshold 5.00%');
  });

  it('refuses unknown monitoring settings', () => {
    expect(parseMonitoring({ thresholds: { apdex: { warning: 1 } }, colour: 'red' }).problems).toEqual([
      '"colour" has value "red": expected one of the keys enabled, service, version, deployment, namespace, window, requests-metric, duration-metric, status-label, thresholds',
      '"thresholds.apdex" is not a metric: expected one of error-rate, latency-p95, latency-p99, cpu, memory, ready-ratio',
    ]);
  });
});
