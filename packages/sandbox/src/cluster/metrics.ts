/**
 * The metrics the sandbox exposes at /metrics in Prometheus text format 0.0.4: request
 * counters and latency histograms from the load generator, simulated cAdvisor-style container
 * CPU, memory and filesystem usage, and kube-state-style replica gauges read from the store at
 * scrape time.
 */
import type { KubeObject } from '../store.js';
import type { PodRuntime } from './kubelet.js';

export const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The simulated container filesystem: an 8 MiB writable layer, then a 160-byte access-log line per request. */
export const FS_BASE_BYTES = 8 * 1024 * 1024;
export const ACCESS_LOG_LINE_BYTES = 160;
/** The log is rotated (and so stops growing) after this many requests. */
const LOG_ROTATE_REQUESTS = 100_000;

interface Histogram {
  labels: Record<string, string>;
  counts: number[];
  sum: number;
  count: number;
}

export interface VersionStats {
  requests: number;
  errors: number;
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  return Number.isFinite(n) ? String(Number(n.toPrecision(12))) : n > 0 ? '+Inf' : '-Inf';
}

export interface KubeState {
  deployments: KubeObject[];
  pods: KubeObject[];
  runtimes: PodRuntime[];
}

export class RequestMetrics {
  private readonly counters = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly histograms = new Map<string, Histogram>();
  private statsByService = new Map<string, Map<string, VersionStats>>();
  private readonly podRequests = new Map<string, number>();

  record(r: {
    namespace: string;
    service: string;
    version: string;
    pod: string;
    code: number;
    seconds: number;
  }): void {
    const counterLabels = {
      namespace: r.namespace,
      service: r.service,
      version: r.version,
      pod: r.pod,
      code: String(r.code),
    };
    const counterKey = JSON.stringify(counterLabels);
    const counter = this.counters.get(counterKey) ?? { labels: counterLabels, value: 0 };
    counter.value += 1;
    this.counters.set(counterKey, counter);

    const histogramLabels = { namespace: r.namespace, service: r.service, version: r.version };
    const histogramKey = JSON.stringify(histogramLabels);
    let histogram = this.histograms.get(histogramKey);
    if (!histogram) {
      histogram = { labels: histogramLabels, counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.histograms.set(histogramKey, histogram);
    }
    BUCKETS.forEach((le, i) => {
      if (r.seconds <= le) histogram.counts[i] = (histogram.counts[i] ?? 0) + 1;
    });
    histogram.sum += r.seconds;
    histogram.count += 1;

    const serviceKey = `${r.namespace}/${r.service}`;
    const byVersion = this.statsByService.get(serviceKey) ?? new Map<string, VersionStats>();
    const stats = byVersion.get(r.version) ?? { requests: 0, errors: 0 };
    stats.requests += 1;
    if (r.code >= 500) stats.errors += 1;
    byVersion.set(r.version, stats);
    this.statsByService.set(serviceKey, byVersion);

    if (r.pod)
      this.podRequests.set(
        `${r.namespace}/${r.pod}`,
        (this.podRequests.get(`${r.namespace}/${r.pod}`) ?? 0) + 1,
      );
  }

  stats(namespace: string, service: string): Record<string, VersionStats> {
    const byVersion = this.statsByService.get(`${namespace}/${service}`);
    return Object.fromEntries(
      [...(byVersion ?? new Map<string, VersionStats>())].map(([v, s]) => [v, { ...s }]),
    );
  }

  /** Resets what `stats` reports; Prometheus counters stay monotonic. */
  resetStats(): void {
    this.statsByService = new Map();
  }

  render(state: KubeState): string {
    const lines: string[] = [];
    lines.push(
      '# HELP http_requests_total Requests answered, by the Service they were routed to and the version that answered.',
    );
    lines.push('# TYPE http_requests_total counter');
    for (const c of this.counters.values())
      lines.push(`http_requests_total${labelText(c.labels)} ${c.value}`);

    lines.push('# HELP http_request_duration_seconds Request latency as the load generator saw it.');
    lines.push('# TYPE http_request_duration_seconds histogram');
    for (const h of this.histograms.values()) {
      BUCKETS.forEach((le, i) => {
        lines.push(
          `http_request_duration_seconds_bucket${labelText({ ...h.labels, le: String(le) })} ${h.counts[i] ?? 0}`,
        );
      });
      lines.push(`http_request_duration_seconds_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}`);
      lines.push(`http_request_duration_seconds_sum${labelText(h.labels)} ${formatNumber(h.sum)}`);
      lines.push(`http_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
    }

    const now = Date.now();
    const running = state.runtimes.filter(
      (r) => r.startedAtMs !== undefined && (r.phase === 'running' || r.phase === 'crashLoop'),
    );
    lines.push('# HELP container_cpu_usage_seconds_total Cumulative CPU time consumed (simulated).');
    lines.push('# TYPE container_cpu_usage_seconds_total counter');
    for (const r of running) {
      const requests = this.podRequests.get(`${r.namespace}/${r.name}`) ?? 0;
      r.containers.forEach((c, i) => {
        const uptime = (now - (r.startedAtMs ?? now)) / 1000;
        const cpu = uptime * 0.002 + (i === 0 ? requests * 0.0004 : 0);
        lines.push(
          `container_cpu_usage_seconds_total${labelText({ namespace: r.namespace, pod: r.name, container: c.name })} ${formatNumber(cpu)}`,
        );
      });
    }
    lines.push('# HELP container_memory_working_set_bytes Current working set (simulated).');
    lines.push('# TYPE container_memory_working_set_bytes gauge');
    for (const r of running) {
      const requests = this.podRequests.get(`${r.namespace}/${r.name}`) ?? 0;
      r.containers.forEach((c, i) => {
        const bytes =
          24 * 1024 * 1024 + (i === 0 ? Math.min(requests, 100_000) * 96 : 0) + (hash(r.uid) % 4096) * 1024;
        lines.push(
          `container_memory_working_set_bytes${labelText({ namespace: r.namespace, pod: r.name, container: c.name })} ${bytes}`,
        );
      });
    }

    // cAdvisor's container_fs_usage_bytes: the writable layer plus the container's log, which
    // grows with every request served (an access-log line each), as on a real node until rotation.
    lines.push('# HELP container_fs_usage_bytes Bytes used on the container filesystem (simulated).');
    lines.push('# TYPE container_fs_usage_bytes gauge');
    for (const r of running) {
      const requests = this.podRequests.get(`${r.namespace}/${r.name}`) ?? 0;
      r.containers.forEach((c, i) => {
        const bytes =
          FS_BASE_BYTES +
          (i === 0 ? Math.min(requests, LOG_ROTATE_REQUESTS) * ACCESS_LOG_LINE_BYTES : 0) +
          (hash(`${r.uid}/fs`) % 1024) * 1024;
        lines.push(
          `container_fs_usage_bytes${labelText({ namespace: r.namespace, pod: r.name, container: c.name, device: '/dev/vda1' })} ${bytes}`,
        );
      });
    }

    const gauge = (
      name: string,
      help: string,
      rows: [Record<string, string>, number][],
      type = 'gauge',
    ): void => {
      lines.push(`# HELP ${name} ${help}`);
      lines.push(`# TYPE ${name} ${type}`);
      for (const [labels, value] of rows) lines.push(`${name}${labelText(labels)} ${value}`);
    };
    const deploymentRows = (pick: (d: KubeObject) => number): [Record<string, string>, number][] =>
      state.deployments.map((d) => [
        { namespace: d.metadata.namespace ?? '', deployment: d.metadata.name ?? '' },
        pick(d),
      ]);
    const status = (d: KubeObject, field: string): number =>
      Number((d.status as Record<string, unknown> | undefined)?.[field] ?? 0) || 0;
    gauge(
      'kube_deployment_spec_replicas',
      'Desired pods of a deployment.',
      deploymentRows((d) => Number((d.spec as { replicas?: number } | undefined)?.replicas ?? 1)),
    );
    gauge(
      'kube_deployment_status_replicas',
      'Pods targeted by a deployment.',
      deploymentRows((d) => status(d, 'replicas')),
    );
    gauge(
      'kube_deployment_status_replicas_ready',
      'Ready pods of a deployment.',
      deploymentRows((d) => status(d, 'readyReplicas')),
    );
    gauge(
      'kube_deployment_status_replicas_available',
      'Available pods of a deployment.',
      deploymentRows((d) => status(d, 'availableReplicas')),
    );
    gauge(
      'kube_deployment_status_replicas_updated',
      'Updated pods of a deployment.',
      deploymentRows((d) => status(d, 'updatedReplicas')),
    );
    const restarts: [Record<string, string>, number][] = [];
    for (const pod of state.pods) {
      const statuses =
        (pod.status as { containerStatuses?: { name: string; restartCount?: number }[] } | undefined)
          ?.containerStatuses ?? [];
      for (const cs of statuses) {
        restarts.push([
          { namespace: pod.metadata.namespace ?? '', pod: pod.metadata.name ?? '', container: cs.name },
          cs.restartCount ?? 0,
        ]);
      }
    }
    gauge('kube_pod_container_status_restarts_total', 'Container restarts.', restarts, 'counter');
    return `${lines.join('\n')}\n`;
  }
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return h;
}
