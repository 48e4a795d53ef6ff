/**
 * The deploy monitoring section, as a release manager reads it: health (ready / desired) with
 * the desired / available / ready replicas, latency avg / p50 / p95 / p99, error rate and errors
 * per second, throughput, CPU, memory and disk, each graded against warning / critical
 * thresholds. Read once, when the gate ends; a value Prometheus cannot give is shown as unknown,
 * never guessed.
 */
import type { Kube } from '../kube/kube.js';
import { DEPLOYMENTS, KubeObjects } from '../kube/objects.js';
import type { Deployment } from '../kube/rollout.js';
import {
  formatMetric,
  METRIC_INFO,
  METRICS,
  type AlertThreshold,
  type MonitoredMetric,
  type MonitoringSpec,
} from './monitoring-spec.js';
import { createPrometheusClient, type PrometheusClient } from './prometheus-client.js';
import { promDuration, promString, selector } from './templates.js';

export type AlertLevel = 'ok' | 'warning' | 'critical';

export interface Alert {
  metric: MonitoredMetric;
  level: Exclude<AlertLevel, 'ok'>;
  value: number;
  threshold: number;
  /** `above`: the value is above the threshold (higher is worse); `below`: under it. */
  direction: 'above' | 'below';
  /** The value and the threshold in the metric's unit (`8.00%`, `300.0 ms`), for reports. */
  shownValue: string;
  shownThreshold: string;
  text: string;
}

export interface Replicas {
  desired?: number;
  available?: number;
  ready?: number;
}

export interface MonitoringSnapshot {
  /** What was watched: `Service shop/web (version v2), Deployment shop/web-v2`. */
  target: string;
  at: string;
  windowMs: number;
  /** The parts of the report the target covers: request metrics (a Service), resources and replicas (a Deployment). */
  watches: { requests: boolean; deployment: boolean };
  replicas?: Replicas;
  /** Every metric that could be read, in its unit: ratio, seconds, per second, cores, bytes. */
  values: Partial<Record<MonitoredMetric, number>>;
  /** What the values were graded against, so the record says it. */
  thresholds: MonitoringSpec['thresholds'];
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

/** What one query reads: a metric of the report, or a replica count when there is no Kubernetes client. */
export type MonitoringRead = Exclude<MonitoredMetric, 'ready-ratio'> | `replicas-${keyof Replicas}`;

const READ_LABEL: Record<MonitoringRead, string> = {
  ...(Object.fromEntries(METRICS.map((m) => [m, METRIC_INFO[m].label])) as Record<MonitoredMetric, string>),
  'replicas-desired': 'desired replicas',
  'replicas-available': 'available replicas',
  'replicas-ready': 'ready replicas',
};

/**
 * The PromQL of every value the section reads. Each answers nothing rather than a made-up 0
 * when its series do not exist: errors count as 0 only while requests exist (the error counter
 * has no series before the first error, so a healthy service would otherwise read as no data).
 */
export function monitoringQueries(
  spec: MonitoringSpec,
  namespace: string,
  window: string,
): Partial<Record<MonitoringRead, string>> {
  const queries: Partial<Record<MonitoringRead, string>> = {};
  if (spec.service) {
    const params = {
      namespace,
      service: spec.service,
      ...(spec.version ? { version: spec.version } : {}),
      window,
      requestsMetric: spec.requestsMetric,
      durationMetric: spec.durationMetric,
      statusLabel: spec.statusLabel,
    };
    const all = selector(params);
    const rate = (metric: string, sel: string): string => `sum(rate(${metric}${sel}[${window}]))`;
    const requests = rate(spec.requestsMetric, all);
    const errors = `(${rate(spec.requestsMetric, selector(params, [`${spec.statusLabel}=~"5.."`]))} or vector(0))`;
    const quantile = (q: string): string =>
      `histogram_quantile(${q}, sum by (le) (rate(${spec.durationMetric}_bucket${all}[${window}])))`;
    Object.assign(queries, {
      throughput: requests,
      'error-rate': `${errors} / ${requests}`,
      'errors-per-second': `${errors} and on() ${requests}`,
      'latency-avg': `${rate(`${spec.durationMetric}_sum`, all)} / ${rate(`${spec.durationMetric}_count`, all)}`,
      'latency-p50': quantile('0.5'),
      'latency-p95': quantile('0.95'),
      'latency-p99': quantile('0.99'),
    });
  }
  if (spec.deployment) {
    // Pods of a Deployment are named <deployment>-<replicaset hash>-<suffix>; cAdvisor's rows
    // without a container (the pod's cgroup) or for the pause container would count twice.
    const podPattern = `${spec.deployment.replace(/\./g, '\\.')}-[a-z0-9]+-[a-z0-9]+`;
    const containers = `{namespace=${promString(namespace)},pod=~${promString(podPattern)},container!="",container!="POD"}`;
    const deployment = `{namespace=${promString(namespace)},deployment=${promString(spec.deployment)}}`;
    Object.assign(queries, {
      cpu: `sum(rate(container_cpu_usage_seconds_total${containers}[${window}]))`,
      memory: `sum(container_memory_working_set_bytes${containers})`,
      disk: `sum(container_fs_usage_bytes${containers})`,
      'replicas-desired': `sum(kube_deployment_spec_replicas${deployment})`,
      'replicas-available': `sum(kube_deployment_status_replicas_available${deployment})`,
      'replicas-ready': `sum(kube_deployment_status_replicas_ready${deployment})`,
    });
  }
  return queries;
}

function level(value: number, threshold: AlertThreshold): { level: AlertLevel; limit?: number } {
  const worse = (limit: number): boolean => (threshold.direction === 'above' ? value > limit : value < limit);
  if (threshold.critical !== undefined && worse(threshold.critical))
    return { level: 'critical', limit: threshold.critical };
  if (threshold.warning !== undefined && worse(threshold.warning))
    return { level: 'warning', limit: threshold.warning };
  return { level: 'ok' };
}

/** The alerts of the values read, in the report's order; a metric not read raises none. */
export function gradeAlerts(
  values: MonitoringSnapshot['values'],
  thresholds: MonitoringSpec['thresholds'],
): Alert[] {
  const alerts: Alert[] = [];
  for (const metric of METRICS) {
    const value = values[metric];
    if (value === undefined || !Number.isFinite(value)) continue;
    const graded = level(value, thresholds[metric]);
    if (graded.level === 'ok' || graded.limit === undefined) continue;
    const { unit } = METRIC_INFO[metric];
    const { direction } = thresholds[metric];
    const shownValue = formatMetric(unit, value);
    const shownThreshold = formatMetric(unit, graded.limit);
    alerts.push({
      metric,
      level: graded.level,
      value,
      threshold: graded.limit,
      direction,
      shownValue,
      shownThreshold,
      text: `${metric} ${shownValue} is ${direction} the ${graded.level} threshold ${shownThreshold}`,
    });
  }
  return alerts;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function collectMonitoring(options: CollectMonitoringOptions): Promise<MonitoringSnapshot> {
  const { spec } = options;
  const namespace = spec.namespace ?? options.namespace;
  const windowMs = spec.windowMs ?? options.windowMs;
  const unknown: string[] = [];
  const values: MonitoringSnapshot['values'] = {};
  const replicas: Replicas = {};
  const client =
    options.client ?? (options.prometheusUrl ? createPrometheusClient(options.prometheusUrl) : undefined);
  const signal = options.signal ? { signal: options.signal } : {};

  // Why each read failed, listed in the report's order whichever answered first.
  const missed = new Map<MonitoringRead, string>();
  const read = async (what: MonitoringRead, query: string): Promise<number | undefined> => {
    if (!client) return undefined;
    try {
      const series = await client.query(query, { deadlineMs: 2000, ...signal });
      const value = series[0]?.value;
      if (value === undefined) missed.set(what, 'no data (the query returned no series)');
      else if (!Number.isFinite(value)) missed.set(what, 'no data (no requests in the window)');
      return value !== undefined && Number.isFinite(value) ? value : undefined;
    } catch (error) {
      missed.set(what, errorText(error));
      return undefined;
    }
  };

  const jobs: Promise<void>[] = [];
  const queries = monitoringQueries(spec, namespace, promDuration(windowMs));
  for (const [what, query] of Object.entries(queries) as [MonitoringRead, string][]) {
    // The API server's answer is the truth about replicas; kube-state-metrics lags a scrape.
    if (what.startsWith('replicas-') && options.kube) continue;
    jobs.push(
      read(what, query).then((value) => {
        if (value === undefined) return;
        if (what.startsWith('replicas-')) replicas[what.slice('replicas-'.length) as keyof Replicas] = value;
        else values[what as MonitoredMetric] = value;
      }),
    );
  }
  if (spec.deployment && options.kube) {
    const objects = new KubeObjects(options.kube);
    jobs.push(
      objects
        .get<Deployment>(DEPLOYMENTS, namespace, spec.deployment, { deadlineMs: 5000, ...signal })
        .then((d) => {
          if (!d) {
            unknown.push(`replicas: Deployment ${namespace}/${spec.deployment} not found`);
            return;
          }
          replicas.desired = d.spec.replicas ?? 1;
          replicas.available = d.status?.availableReplicas ?? 0;
          replicas.ready = d.status?.readyReplicas ?? 0;
        })
        .catch((error: unknown) => void unknown.push(`replicas: ${errorText(error)}`)),
    );
  }
  await Promise.all(jobs);
  for (const what of Object.keys(queries) as MonitoringRead[]) {
    const why = missed.get(what);
    if (why !== undefined) unknown.push(`${READ_LABEL[what]}: ${why}`);
  }

  if (!client && (spec.service || spec.deployment))
    unknown.push(
      `${[spec.service ? 'request metrics' : '', spec.deployment ? 'CPU, memory and disk' : ''].filter(Boolean).join(', ')}: no Prometheus URL`,
    );
  if (replicas.ready !== undefined && replicas.desired !== undefined) {
    if (replicas.desired > 0) values['ready-ratio'] = replicas.ready / replicas.desired;
    else unknown.push(`${METRIC_INFO['ready-ratio'].label}: the Deployment is scaled to 0`);
  }
  const targets = [
    spec.service
      ? `Service ${namespace}/${spec.service}${spec.version ? ` (version ${spec.version})` : ''}`
      : '',
    spec.deployment ? `Deployment ${namespace}/${spec.deployment}` : '',
  ].filter(Boolean);
  return {
    target: targets.join(', '),
    at: new Date().toISOString(),
    windowMs,
    watches: { requests: spec.service !== undefined, deployment: spec.deployment !== undefined },
    ...(Object.keys(replicas).length > 0 ? { replicas } : {}),
    values,
    thresholds: spec.thresholds,
    alerts: gradeAlerts(values, spec.thresholds),
    unknown,
  };
}
