/**
 * The deploy monitoring section, as a release manager reads it: health (ready / desired
 * replicas), latency avg / p50 / p95 / p99, error rate, throughput, CPU and memory, each graded
 * against warning / critical thresholds. Read once, when the gate ends; a value Prometheus cannot
 * give is shown as unknown, never guessed.
 */
import type { Kube } from '../kube/kube.js';
import { DEPLOYMENTS, KubeObjects } from '../kube/objects.js';
import type { Deployment } from '../kube/rollout.js';
import type { MonitoredMetric, MonitoringSpec } from './monitoring-spec.js';
import { createPrometheusClient, type PrometheusClient } from './prometheus-client.js';
import { promDuration, selector } from './templates.js';

export type AlertLevel = 'ok' | 'warning' | 'critical';

export interface Alert {
  metric: MonitoredMetric;
  level: Exclude<AlertLevel, 'ok'>;
  value: number;
  threshold: number;
  text: string;
}

export interface MonitoringSnapshot {
  /** What was watched: `Service shop/web (version v2), Deployment shop/web-v2`. */
  target: string;
  at: string;
  windowMs: number;
  replicas?: { ready: number; desired: number };
  latency?: { avg?: number; p50?: number; p95?: number; p99?: number };
  errorRate?: number;
  throughput?: number;
  /** Cores. */
  cpu?: number;
  /** Bytes. */
  memory?: number;
  alerts: Alert[];
  /** Metrics that could not be read, with why. */
  unknown: string[];
}

export interface CollectMonitoringOptions {
  spec: MonitoringSpec;
  namespace: string;
  prometheusUrl?: string;
  kube?: Kube;
  signal?: AbortSignal;
  /** Default window when the spec gives none. */
  windowMs: number;
  client?: PrometheusClient;
}

function level(
  value: number,
  threshold: MonitoringSpec['thresholds'][MonitoredMetric],
): { level: AlertLevel; limit?: number } {
  const worse = (limit: number): boolean => (threshold.direction === 'above' ? value > limit : value < limit);
  if (threshold.critical !== undefined && worse(threshold.critical))
    return { level: 'critical', limit: threshold.critical };
  if (threshold.warning !== undefined && worse(threshold.warning))
    return { level: 'warning', limit: threshold.warning };
  return { level: 'ok' };
}

export function gradeAlerts(snapshot: Omit<MonitoringSnapshot, 'alerts'>, spec: MonitoringSpec): Alert[] {
  const values: [MonitoredMetric, number | undefined, (v: number) => string][] = [
    ['error-rate', snapshot.errorRate, (v) => `${(v * 100).toFixed(2)}%`],
    ['latency-p95', snapshot.latency?.p95, (v) => `${(v * 1000).toFixed(0)} ms`],
    ['latency-p99', snapshot.latency?.p99, (v) => `${(v * 1000).toFixed(0)} ms`],
    ['cpu', snapshot.cpu, (v) => `${v.toFixed(3)} cores`],
    ['memory', snapshot.memory, (v) => `${(v / 1024 / 1024).toFixed(0)} MiB`],
    [
      'ready-ratio',
      snapshot.replicas && snapshot.replicas.desired > 0
        ? snapshot.replicas.ready / snapshot.replicas.desired
        : undefined,
      (v) => `${(v * 100).toFixed(0)}%`,
    ],
  ];
  const alerts: Alert[] = [];
  for (const [metric, value, show] of values) {
    if (value === undefined || Number.isNaN(value)) continue;
    const graded = level(value, spec.thresholds[metric]);
    if (graded.level === 'ok' || graded.limit === undefined) continue;
    const side = spec.thresholds[metric].direction === 'above' ? 'above' : 'below';
    alerts.push({
      metric,
      level: graded.level,
      value,
      threshold: graded.limit,
      text: `${metric} ${show(value)} is ${side} the ${graded.level} threshold ${show(graded.limit)}`,
    });
  }
  return alerts;
}

export async function collectMonitoring(options: CollectMonitoringOptions): Promise<MonitoringSnapshot> {
  const { spec } = options;
  const namespace = spec.namespace ?? options.namespace;
  const windowMs = spec.windowMs ?? options.windowMs;
  const window = promDuration(windowMs);
  const unknown: string[] = [];
  const targets: string[] = [];
  const snapshot: Omit<MonitoringSnapshot, 'alerts'> = {
    target: '',
    at: new Date().toISOString(),
    windowMs,
    unknown,
  };
  const client =
    options.client ?? (options.prometheusUrl ? createPrometheusClient(options.prometheusUrl) : undefined);
  const read = async (what: string, query: string): Promise<number | undefined> => {
    if (!client) return undefined;
    try {
      const series = await client.query(query, {
        deadlineMs: 2000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const value = series[0]?.value;
      if (value === undefined || Number.isNaN(value)) unknown.push(`${what}: no data`);
      return value === undefined || Number.isNaN(value) ? undefined : value;
    } catch (error) {
      unknown.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  };

  const jobs: Promise<void>[] = [];
  if (spec.service) {
    targets.push(`Service ${namespace}/${spec.service}${spec.version ? ` (version ${spec.version})` : ''}`);
    const params = { namespace, service: spec.service, ...(spec.version ? { version: spec.version } : {}) };
    const all = selector({
      ...params,
      window,
      requestsMetric: spec.requestsMetric,
      durationMetric: spec.durationMetric,
      statusLabel: spec.statusLabel,
    });
    const errors = selector(
      {
        ...params,
        window,
        requestsMetric: spec.requestsMetric,
        durationMetric: spec.durationMetric,
        statusLabel: spec.statusLabel,
      },
      [`${spec.statusLabel}=~"5.."`],
    );
    const rate = (metric: string, sel: string): string => `sum(rate(${metric}${sel}[${window}]))`;
    const quantile = (q: string): string =>
      `histogram_quantile(${q}, sum by (le) (rate(${spec.durationMetric}_bucket${all}[${window}])))`;
    const latency: NonNullable<MonitoringSnapshot['latency']> = {};
    snapshot.latency = latency;
    jobs.push(
      read('throughput', rate(spec.requestsMetric, all)).then(
        (v) => void (v !== undefined && (snapshot.throughput = v)),
      ),
      read(
        'error rate',
        `(${rate(spec.requestsMetric, errors)} or vector(0)) / ${rate(spec.requestsMetric, all)}`,
      ).then((v) => void (v !== undefined && (snapshot.errorRate = v))),
      read(
        'latency avg',
        `${rate(`${spec.durationMetric}_sum`, all)} / ${rate(`${spec.durationMetric}_count`, all)}`,
      ).then((v) => void (v !== undefined && (latency.avg = v))),
      read('latency p50', quantile('0.5')).then((v) => void (v !== undefined && (latency.p50 = v))),
      read('latency p95', quantile('0.95')).then((v) => void (v !== undefined && (latency.p95 = v))),
      read('latency p99', quantile('0.99')).then((v) => void (v !== undefined && (latency.p99 = v))),
    );
  }
  if (spec.deployment) {
    targets.push(`Deployment ${namespace}/${spec.deployment}`);
    // Pods of a Deployment are named <deployment>-<replicaset hash>-<suffix>.
    const pods = `{namespace="${namespace}",pod=~"${spec.deployment}-[a-z0-9]+-[a-z0-9]+"}`;
    jobs.push(
      read('cpu', `sum(rate(container_cpu_usage_seconds_total${pods}[${window}]))`).then(
        (v) => void (v !== undefined && (snapshot.cpu = v)),
      ),
      read('memory', `sum(container_memory_working_set_bytes${pods})`).then(
        (v) => void (v !== undefined && (snapshot.memory = v)),
      ),
    );
    if (options.kube) {
      const objects = new KubeObjects(options.kube);
      jobs.push(
        objects
          .get<Deployment>(DEPLOYMENTS, namespace, spec.deployment, {
            deadlineMs: 5000,
            ...(options.signal ? { signal: options.signal } : {}),
          })
          .then((d) => {
            if (d) snapshot.replicas = { ready: d.status?.readyReplicas ?? 0, desired: d.spec.replicas ?? 1 };
            else unknown.push(`replicas: Deployment ${namespace}/${spec.deployment} not found`);
          })
          .catch(
            (error: unknown) =>
              void unknown.push(`replicas: ${error instanceof Error ? error.message : String(error)}`),
          ),
      );
    } else {
      const sel = `{namespace="${namespace}",deployment="${spec.deployment}"}`;
      jobs.push(
        Promise.all([
          read('ready replicas', `sum(kube_deployment_status_replicas_available${sel})`),
          read('desired replicas', `sum(kube_deployment_spec_replicas${sel})`),
        ]).then(([ready, desired]) => {
          if (ready !== undefined && desired !== undefined) snapshot.replicas = { ready, desired };
        }),
      );
    }
  }
  await Promise.all(jobs);
  if (!client && spec.service) unknown.push('request metrics: no Prometheus URL');
  snapshot.target = targets.join(', ');
  return { ...snapshot, alerts: gradeAlerts(snapshot, spec) };
}
