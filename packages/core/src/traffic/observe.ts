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

/** Requests per version since `base`: counters only grow, a reset counts as nothing. */
function since(base: Record<string, number>, now: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(now).map((v) => [v, Math.max(0, (now[v] ?? 0) - (base[v] ?? 0))]));
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
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
    const delta = since(afterWrite, now);
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

export interface SplitOptions extends Omit<ObserveOptions, 'target'> {
  /** The version whose share is checked, and the share (percent) it should have. */
  version: string;
  weight: number;
  /** Slack in percentage points on top of the sampling error (in-flight requests, uneven batches). */
  tolerance: number;
  /** Requests matched by a header route also reach the version: its share may then be higher. */
  atLeast?: boolean;
  /** Versions that are not counted at all (unroutable requests: `none`). */
  ignore?: readonly string[];
}

export interface SplitObserved extends Observed {
  /** The version's observed share in percent, when judged. */
  share?: number;
}

/** Standard normal quantile for a two-sided 99.9%: a correct router fails one check in a thousand. */
const Z_SPLIT = 3.29;

/**
 * How many requests a split needs before it is judged: enough that the sampling error (99.9%) is
 * at most a quarter of the smaller side, within 2.5 to 5 points. So a 5% step is told from 0%
 * and 10%, and a 50% step from 40% or 60% (about 800 to 1100 requests; 100 at 0% and 100%).
 */
export function splitRequestsNeeded(weight: number): number {
  const p = weight / 100;
  if (p <= 0 || p >= 1) return 100;
  const band = Math.max(0.025, Math.min(0.05, Math.min(p, 1 - p) / 4));
  return Math.max(100, Math.ceil(((Z_SPLIT * Math.sqrt(p * (1 - p))) / band) ** 2));
}

interface Window {
  ok: boolean;
  share: number;
  counted: Record<string, number>;
  detail: string;
}

/** One window of enough requests: is the version's share within the sampling error (99.9%) plus the tolerance? */
function judgeWindow(o: SplitOptions, counted: Record<string, number>): Window {
  const total = sum(counted);
  const share = (100 * (counted[o.version] ?? 0)) / total;
  const p = o.weight / 100;
  // The slack never covers a whole small weight: at most half of the smaller side.
  const slack = Math.min(o.tolerance, Math.min(o.weight, 100 - o.weight) / 2);
  const allowed = 100 * Z_SPLIT * Math.sqrt((p * (1 - p)) / total) + slack;
  const off = share - o.weight;
  // `needed` expects 30 requests on the smaller side: none at all is never chance.
  const silent = o.weight > 0 && (counted[o.version] ?? 0) === 0;
  const ok = !silent && (o.atLeast ? off >= -allowed : Math.abs(off) <= allowed);
  const detail = `${o.version} answered ${share.toFixed(1)}% of ${Math.round(total)} requests after the change (target ${o.weight}%${o.atLeast ? ' or more, a header route adds to it' : ''}, allowed ±${allowed.toFixed(1)})`;
  return { ok, share, counted, detail };
}

/** The words for a second window, after a first that was off. */
function again(first: Window | undefined, detail: string): string {
  return first ? `off in the first window (${first.detail}), judged again on a fresh one: ${detail}` : detail;
}

/**
 * Confirms a weight from the traffic: the requests counted after the write (between scrapes that
 * both came after it) are split per version, and once there are enough of them to tell the
 * target from its neighbours, the version's share must be within the sampling error (99.9%)
 * plus `tolerance` of the weight. A window that is off is judged once more on a fresh one: a
 * data plane slower than its propagation allowance (traffic/propagation.ts) may still have routed
 * the first by the previous weight. So a correct router fails a step about once in a million
 * (two independent windows off at 99.9%), and a router that does not do what was written still
 * fails, one window later.
 */
export async function confirmSplit(o: SplitOptions): Promise<SplitObserved> {
  const label = o.versionLabel.replace(/[^a-zA-Z0-9_]/g, '_');
  const ignore = new Set(o.ignore ?? []);
  const read = async (): Promise<Record<string, number>> => {
    const series = await o.client.query(o.query, {
      deadlineMs: Math.max(500, o.deadline - Date.now()),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    return Object.fromEntries(
      series.filter((s) => !ignore.has(s.labels[label] ?? '')).map((s) => [s.labels[label] ?? '', s.value]),
    );
  };
  const needed = splitRequestsNeeded(o.weight);
  let previous = await read();
  let base: Record<string, number> | undefined;
  let counted: Record<string, number> = {};
  let firstOff: Window | undefined;
  while (Date.now() < o.deadline) {
    await sleep(o.pollMs ?? 250, o.signal);
    const now = await read();
    if (same(now, previous)) continue; // no new scrape yet
    previous = now;
    if (!base) {
      base = now; // the first scrape after the write: only what comes after counts
      continue;
    }
    counted = since(base, now);
    if (sum(counted) < needed) continue;
    const judged = judgeWindow(o, counted);
    if (judged.ok || firstOff)
      return {
        ok: judged.ok,
        requests: counted,
        share: judged.share,
        detail: again(firstOff, judged.detail),
      };
    // The next window starts at the scrape that ended this one: none of its requests count twice.
    firstOff = judged;
    base = now;
    counted = {};
  }
  return {
    ok: false,
    // After a window that was off, that window is the one judged.
    ...(firstOff ? { requests: firstOff.counted, share: firstOff.share } : { requests: counted }),
    detail: again(
      firstOff,
      `Prometheus showed ${Math.round(sum(counted))} request(s) after the change in time, ${needed} are needed to judge a ${o.weight}% share`,
    ),
  };
}
