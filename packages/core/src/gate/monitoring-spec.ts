/**
 * The deploy monitoring section's settings (`monitoring` input): what to watch (Service,
 * version, Deployment) and the warning / critical thresholds its alerts are graded against,
 * with each metric's unit (for reading thresholds such as `300ms` or `512Mi`, and for showing
 * values). Pure, so it runs in input validation.
 */
import { KUBE_NAME } from '../inputs/names.js';
import { parseDuration } from '../inputs/duration.js';

export const METRICS = [
  'ready-ratio',
  'latency-avg',
  'latency-p50',
  'latency-p95',
  'latency-p99',
  'error-rate',
  'errors-per-second',
  'throughput',
  'cpu',
  'memory',
  'disk',
] as const;
export type MonitoredMetric = (typeof METRICS)[number];

export type MetricUnit = 'ratio' | 'seconds' | 'requests/s' | 'errors/s' | 'cores' | 'bytes';

export interface MetricInfo {
  /** As the report's reader names it. */
  label: string;
  unit: MetricUnit;
  /** `above`: higher is worse (error rate); `below`: lower is worse (ready ratio, throughput). */
  direction: 'above' | 'below';
}

export const METRIC_INFO: Record<MonitoredMetric, MetricInfo> = {
  'ready-ratio': { label: 'Health (ready / desired)', unit: 'ratio', direction: 'below' },
  'latency-avg': { label: 'Latency avg', unit: 'seconds', direction: 'above' },
  'latency-p50': { label: 'Latency p50', unit: 'seconds', direction: 'above' },
  'latency-p95': { label: 'Latency p95', unit: 'seconds', direction: 'above' },
  'latency-p99': { label: 'Latency p99', unit: 'seconds', direction: 'above' },
  'error-rate': { label: 'Error rate', unit: 'ratio', direction: 'above' },
  'errors-per-second': { label: 'Errors', unit: 'errors/s', direction: 'above' },
  throughput: { label: 'Throughput', unit: 'requests/s', direction: 'below' },
  cpu: { label: 'CPU', unit: 'cores', direction: 'above' },
  memory: { label: 'Memory', unit: 'bytes', direction: 'above' },
  disk: { label: 'Disk', unit: 'bytes', direction: 'above' },
};

export interface AlertThreshold {
  warning?: number;
  critical?: number;
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

/**
 * Defaults a release manager would start from. Errors per second, throughput, CPU, memory and
 * disk depend on the service's size, so they are graded only once their thresholds are set.
 */
const DEFAULT_LEVELS: Partial<Record<MonitoredMetric, { warning: number; critical: number }>> = {
  'ready-ratio': { warning: 1, critical: 0.5 },
  'latency-avg': { warning: 0.25, critical: 0.5 },
  'latency-p50': { warning: 0.25, critical: 0.5 },
  'latency-p95': { warning: 0.5, critical: 1 },
  'latency-p99': { warning: 1, critical: 2 },
  'error-rate': { warning: 0.01, critical: 0.05 },
};

export const DEFAULT_THRESHOLDS = Object.fromEntries(
  METRICS.map((metric) => [metric, { ...DEFAULT_LEVELS[metric], direction: METRIC_INFO[metric].direction }]),
) as Record<MonitoredMetric, AlertThreshold>;

/** A value in its unit, as the summary and the alerts show it. */
export function formatMetric(unit: MetricUnit, value: number): string {
  switch (unit) {
    case 'ratio':
      return `${(value * 100).toFixed(2)}%`;
    case 'seconds':
      return value >= 10 ? `${value.toFixed(1)} s` : `${(value * 1000).toFixed(1)} ms`;
    case 'requests/s':
    case 'errors/s':
      return `${value.toFixed(2)} ${unit}`;
    case 'cores':
      return `${value.toFixed(3)} cores`;
    case 'bytes':
      return value >= 1024 ** 3
        ? `${(value / 1024 ** 3).toFixed(2)} GiB`
        : `${(value / 1024 ** 2).toFixed(1)} MiB`;
  }
}

const ACCEPTED: Record<MetricUnit, string> = {
  ratio: 'a ratio from 0 to 1 or a percentage such as 0.01 or 1%',
  seconds: 'seconds or a duration such as 0.3 or 300ms',
  'requests/s': 'requests per second, a number such as 50',
  'errors/s': 'errors per second, a number such as 0.5',
  cores: 'cores or millicores such as 0.5 or 500m',
  bytes: 'bytes or a quantity such as 536870912 or 512Mi',
};

const BYTE_SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** One threshold in the metric's unit; undefined when it is not a value of that unit. */
export function parseThresholdValue(unit: MetricUnit, value: unknown): number | undefined {
  const parsed = ((): number | undefined => {
    if (typeof value === 'number') return value;
    if (typeof value !== 'string') return undefined;
    const text = value.trim();
    if (unit === 'ratio' && /^\d+(?:\.\d+)?%$/.test(text)) return Number(text.slice(0, -1)) / 100;
    if (unit === 'seconds') {
      const duration = parseDuration(text);
      return duration.ok ? duration.ms / 1000 : undefined;
    }
    if (unit === 'cores' && /^\d+m$/.test(text)) return Number(text.slice(0, -1)) / 1000;
    const quantity = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(text);
    if (unit === 'bytes' && quantity) return Number(quantity[1]) * BYTE_SUFFIX[quantity[2] ?? '']!;
    return undefined;
  })();
  if (parsed === undefined || !Number.isFinite(parsed) || parsed < 0) return undefined;
  if (unit === 'ratio' && parsed > 1) return undefined;
  return parsed;
}

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

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseThresholds(thresholds: unknown, spec: MonitoringSpec, problems: string[]): void {
  if (!isMapping(thresholds)) {
    problems.push(
      `"thresholds" has value ${JSON.stringify(thresholds)}: expected a mapping of ${METRICS.join(', ')} to { warning, critical }`,
    );
    return;
  }
  for (const [metric, levels] of Object.entries(thresholds)) {
    if (!(METRICS as readonly string[]).includes(metric)) {
      problems.push(`"thresholds.${metric}" is not a metric: expected one of ${METRICS.join(', ')}`);
      continue;
    }
    const { unit } = METRIC_INFO[metric as MonitoredMetric];
    const target = spec.thresholds[metric as MonitoredMetric];
    if (!isMapping(levels)) {
      problems.push(
        `"thresholds.${metric}" has value ${JSON.stringify(levels)}: expected a mapping with warning and/or critical, each ${ACCEPTED[unit]}`,
      );
      continue;
    }
    for (const [level, value] of Object.entries(levels)) {
      const parsed = parseThresholdValue(unit, value);
      if ((level !== 'warning' && level !== 'critical') || parsed === undefined) {
        problems.push(
          `"thresholds.${metric}.${level}" has value ${JSON.stringify(value)}: expected warning or critical, each ${ACCEPTED[unit]}`,
        );
        continue;
      }
      target[level] = parsed;
    }
    const { warning, critical, direction } = target;
    if (warning !== undefined && critical !== undefined) {
      const inverted = direction === 'above' ? warning > critical : warning < critical;
      if (inverted)
        problems.push(
          `"thresholds.${metric}" has warning ${JSON.stringify(levels.warning ?? warning)} and critical ${JSON.stringify(levels.critical ?? critical)}: expected the warning ${direction === 'above' ? 'at or below' : 'at or above'} the critical threshold (${direction === 'above' ? 'higher' : 'lower'} is worse)`,
        );
    }
  }
}

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
  if (!isMapping(doc)) {
    return {
      spec,
      problems: [
        `the monitoring settings are not a mapping: expected a mapping with the keys ${KEYS.join(', ')}`,
      ],
    };
  }
  const fields = doc;
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
  if (fields.thresholds !== undefined) parseThresholds(fields.thresholds, spec, problems);
  return { spec, problems };
}
