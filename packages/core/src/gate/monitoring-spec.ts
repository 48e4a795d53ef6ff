/**
 * The deploy monitoring section's settings (`monitoring` input): what to watch (Service,
 * version, Deployment) and the warning / critical thresholds its alerts are graded against.
 * Pure, so it runs in input validation.
 */
import { KUBE_NAME } from '../inputs/names.js';
import { parseDuration } from '../inputs/duration.js';

export const METRICS = ['error-rate', 'latency-p95', 'latency-p99', 'cpu', 'memory', 'ready-ratio'] as const;
export type MonitoredMetric = (typeof METRICS)[number];

export interface AlertThreshold {
  warning?: number;
  critical?: number;
  /** `above`: higher is worse (error rate); `below`: lower is worse (ready ratio). */
  direction: 'above' | 'below';
}

export interface MonitoringSpec {
  enabled: boolean;
  service?: string;
  version?: string;
  deployment?: string;
  namespace?: string;
  windowMs?: number;
  requestsMetric: string;
  durationMetric: string;
  statusLabel: string;
  thresholds: Record<MonitoredMetric, AlertThreshold>;
}

/** Defaults a release manager would start from; cpu is in cores, memory in bytes. */
export const DEFAULT_THRESHOLDS: Record<MonitoredMetric, AlertThreshold> = {
  'error-rate': { warning: 0.01, critical: 0.05, direction: 'above' },
  'latency-p95': { warning: 0.5, critical: 1, direction: 'above' },
  'latency-p99': { warning: 1, critical: 2, direction: 'above' },
  cpu: { direction: 'above' },
  memory: { direction: 'above' },
  'ready-ratio': { warning: 1, critical: 0.5, direction: 'below' },
};

const KEYS = [
  'enabled',
  'service',
  'version',
  'deployment',
  'namespace',
  'window',
  'requests-metric',
  'duration-metric',
  'status-label',
  'thresholds',
];

export function parseMonitoring(doc: unknown): { spec: MonitoringSpec; problems: string[] } {
  const problems: string[] = [];
  const spec: MonitoringSpec = {
    enabled: true,
    requestsMetric: 'http_requests_total',
    durationMetric: 'http_request_duration_seconds',
    statusLabel: 'code',
    thresholds: structuredClone(DEFAULT_THRESHOLDS),
  };
  if (doc === undefined || doc === null) return { spec, problems };
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    return {
      spec,
      problems: [
        `the monitoring settings are not a mapping: expected a mapping with the keys ${KEYS.join(', ')}`,
      ],
    };
  }
  const fields = doc as Record<string, unknown>;
  const bad = (key: string, accepted: string): void => {
    problems.push(`"${key}" has value ${JSON.stringify(fields[key]) ?? 'nothing'}: expected ${accepted}`);
  };
  for (const key of Object.keys(fields))
    if (!KEYS.includes(key)) bad(key, `one of the keys ${KEYS.join(', ')}`);
  if (fields.enabled !== undefined) {
    if (typeof fields.enabled === 'boolean') spec.enabled = fields.enabled;
    else bad('enabled', 'true or false');
  }
  for (const key of ['service', 'deployment', 'namespace'] as const) {
    const value = fields[key];
    if (value === undefined) continue;
    if (typeof value === 'string' && KUBE_NAME.test(value)) spec[key] = value;
    else bad(key, 'a Kubernetes name');
  }
  if (fields.version !== undefined) {
    if (typeof fields.version === 'string' && /^[A-Za-z0-9._-]+$/.test(fields.version))
      spec.version = fields.version;
    else bad('version', 'a version label value such as v2');
  }
  if (fields.window !== undefined) {
    const parsed = typeof fields.window === 'string' ? parseDuration(fields.window) : undefined;
    if (parsed?.ok && parsed.ms > 0) spec.windowMs = parsed.ms;
    else bad('window', 'a duration such as 30s or 1m');
  }
  for (const [key, field] of [
    ['requests-metric', 'requestsMetric'],
    ['duration-metric', 'durationMetric'],
    ['status-label', 'statusLabel'],
  ] as const) {
    const value = fields[key];
    if (value === undefined) continue;
    if (typeof value === 'string' && /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value)) spec[field] = value;
    else bad(key, 'a metric or label name');
  }
  const thresholds = fields.thresholds;
  if (thresholds !== undefined) {
    if (typeof thresholds !== 'object' || thresholds === null || Array.isArray(thresholds)) {
      bad('thresholds', `a mapping of ${METRICS.join(', ')} to { warning, critical }`);
    } else {
      for (const [metric, levels] of Object.entries(thresholds as Record<string, unknown>)) {
        if (!(METRICS as readonly string[]).includes(metric)) {
          problems.push(`"thresholds.${metric}" is not a metric: expected one of ${METRICS.join(', ')}`);
          continue;
        }
        const target = spec.thresholds[metric as MonitoredMetric];
        if (typeof levels !== 'object' || levels === null || Array.isArray(levels)) {
          problems.push(
            `"thresholds.${metric}" has value ${JSON.stringify(levels)}: expected a mapping with warning and/or critical numbers`,
          );
          continue;
        }
        for (const [level, value] of Object.entries(levels as Record<string, unknown>)) {
          if (
            (level !== 'warning' && level !== 'critical') ||
            typeof value !== 'number' ||
            !Number.isFinite(value)
          ) {
            problems.push(
              `"thresholds.${metric}.${level}" has value ${JSON.stringify(value)}: expected warning or critical, each a number`,
            );
            continue;
          }
          target[level] = value;
        }
      }
    }
  }
  return { spec, problems };
}
