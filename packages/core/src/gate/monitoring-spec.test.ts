import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, formatMetric, parseMonitoring, parseThresholdValue } from './monitoring-spec.js';

describe('parseMonitoring thresholds', () => {
  it('grades every metric, with defaults where a size-free default exists', () => {
    expect(DEFAULT_THRESHOLDS).toEqual({
      'ready-ratio': { warning: 1, critical: 0.5, direction: 'below' },
      'latency-avg': { warning: 0.25, critical: 0.5, direction: 'above' },
      'latency-p50': { warning: 0.25, critical: 0.5, direction: 'above' },
      'latency-p95': { warning: 0.5, critical: 1, direction: 'above' },
      'latency-p99': { warning: 1, critical: 2, direction: 'above' },
      'error-rate': { warning: 0.01, critical: 0.05, direction: 'above' },
      'errors-per-second': { direction: 'above' },
      throughput: { direction: 'below' },
      cpu: { direction: 'above' },
      memory: { direction: 'above' },
      disk: { direction: 'above' },
    });
  });

  it("reads each threshold in its metric's unit", () => {
    const { spec, problems } = parseMonitoring({
      thresholds: {
        'error-rate': { warning: '0.5%', critical: 0.02 },
        'latency-avg': { warning: '150ms', critical: '1s' },
        cpu: { warning: '500m', critical: 1.5 },
        memory: { warning: '512Mi', critical: '1Gi' },
        disk: { critical: '2G' },
        throughput: { warning: 20, critical: 1 },
      },
    });
    expect(problems).toEqual([]);
    expect(spec.thresholds['error-rate']).toEqual({ warning: 0.005, critical: 0.02, direction: 'above' });
    expect(spec.thresholds['latency-avg']).toEqual({ warning: 0.15, critical: 1, direction: 'above' });
    expect(spec.thresholds.cpu).toEqual({ warning: 0.5, critical: 1.5, direction: 'above' });
    expect(spec.thresholds.memory).toEqual({
      warning: 512 * 1024 ** 2,
      critical: 1024 ** 3,
      direction: 'above',
    });
    expect(spec.thresholds.disk).toEqual({ critical: 2e9, direction: 'above' });
    expect(spec.thresholds.throughput).toEqual({ warning: 20, critical: 1, direction: 'below' });
    // The defaults are not changed by one run's settings.
    expect(DEFAULT_THRESHOLDS['error-rate']).toEqual({ warning: 0.01, critical: 0.05, direction: 'above' });
  });

  it('names the key, the value and the accepted form of every bad threshold', () => {
    expect(
      parseMonitoring({
        thresholds: {
          memory: { warning: 'lots' },
          'error-rate': { critical: 1.5 },
          'latency-p95': { warning: 2, critical: 1 },
          throughput: { warning: 1, critical: 10 },
          cpu: 0.5,
          disk: { alarm: 1 },
        },
      }).problems,
    ).toEqual([
      '"thresholds.memory.warning" has value "lots": expected warning or critical, each bytes or a quantity such as 536870912 or 512Mi',
      '"thresholds.error-rate.critical" has value 1.5: expected warning or critical, each a ratio from 0 to 1 or a percentage such as 0.01 or 1%',
      '"thresholds.latency-p95" has warning 2 and critical 1: expected the warning at or below the critical threshold (higher is worse)',
      '"thresholds.throughput" has warning 1 and critical 10: expected the warning at or above the critical threshold (lower is worse)',
      '"thresholds.cpu" has value 0.5: expected a mapping with warning and/or critical, each cores or millicores such as 0.5 or 500m',
      '"thresholds.disk.alarm" has value 1: expected warning or critical, each bytes or a quantity such as 536870912 or 512Mi',
    ]);
  });

  it.each([
    ['ratio', -0.1],
    ['seconds', '300'],
    ['cores', '0.5 cores'],
    ['bytes', '1Xi'],
    ['requests/s', 'fast'],
  ] as const)('refuses %s %j', (unit, value) => {
    expect(parseThresholdValue(unit, value)).toBeUndefined();
  });
});

describe('formatMetric', () => {
  it.each([
    ['ratio', 0.0123, '1.23%'],
    ['seconds', 0.25, '250.0 ms'],
    ['seconds', 12, '12.0 s'],
    ['errors/s', 0.5, '0.50 errors/s'],
    ['cores', 0.0123, '0.012 cores'],
    ['bytes', 24 * 1024 ** 2, '24.0 MiB'],
    ['bytes', 3 * 1024 ** 3, '3.00 GiB'],
  ] as const)('%s %d reads %s', (unit, value, text) => {
    expect(formatMetric(unit, value)).toBe(text);
  });
});
