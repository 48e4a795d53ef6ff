/**
 * Confirms a switch from the traffic itself: per-version request counters in Prometheus. Only the
 * requests between two scrapes that both happened after the write are judged, so traffic from
 * before the switch never counts; the switch is confirmed by the first such interval in which the
 * new version answered and no other version did.
 */
import type { PrometheusClient } from '../gate/prometheus-client.js';
import { sleep } from '../net/retry.js';

export interface ObserveOptions {
  client: PrometheusClient;
  /** An instant query answering one counter per version, e.g. `sum by (version) (http_requests_total{...})`. */
  query: string;
  versionLabel: string;
  target: string;
  deadline: number;
  pollMs?: number;
  signal?: AbortSignal;
}

export interface Observed {
  ok: boolean;
  /** Requests per version in the judged interval. */
  requests: Record<string, number>;
  detail: string;
}

/** The counters query for a Service (or several, for per-colour Services), by the colour label. */
export function trafficQuery(metric: string, label: string, namespace: string, services: string[]): string {
  const promLabel = label.replace(/[^a-zA-Z0-9_]/g, '_');
  const matcher = services.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\\\$&')).join('|');
  return `sum by (${promLabel}) (${metric}{namespace="${namespace}",service=~"${matcher}"})`;
}

function same(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

export async function confirmObservedTraffic(o: ObserveOptions): Promise<Observed> {
  const label = o.versionLabel.replace(/[^a-zA-Z0-9_]/g, '_');
  const read = async (): Promise<Record<string, number>> => {
    const series = await o.client.query(o.query, {
      deadlineMs: Math.max(500, o.deadline - Date.now()),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return Object.fromEntries(series.map((s) => [s.labels[label] ?? '', s.value]));
  };
  let previous = await read();
  let afterWrite: Record<string, number> | undefined;
  let last: Record<string, number> = {};
  while (Date.now() < o.deadline) {
    // A cancel ends the wait with the signal's reason, as the queries do.
    await sleep(o.pollMs ?? 200, o.signal);
    const now = await read();
    if (same(now, previous)) continue; // no new scrape yet
    previous = now;
    if (!afterWrite) {
      afterWrite = now; // the first scrape after the write: later deltas are post-switch only
      continue;
    }
    const delta = Object.fromEntries(
      Object.keys(now).map((v) => [v, Math.max(0, (now[v] ?? 0) - (afterWrite![v] ?? 0))]),
    );
    afterWrite = now;
    last = delta;
    const others = Object.entries(delta).filter(([v, n]) => v !== o.target && n > 0);
    if ((delta[o.target] ?? 0) > 0 && others.length === 0) {
      return {
        ok: true,
        requests: delta,
        detail: `${delta[o.target]} request(s) between two scrapes, all answered by ${o.target}`,
      };
    }
  }
  const seen = Object.entries(last)
    .map(([v, n]) => `${v || '(no label)'}: ${n}`)
    .join(', ');
  return {
    ok: false,
    requests: last,
    detail: `Prometheus did not show all traffic on ${o.target} in time; last interval: ${seen || 'no new scrape'}`,
  };
}
