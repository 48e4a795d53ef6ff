import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prometheusConfig, startPrometheus, type RunningPrometheus } from '../src/cluster/prometheus.js';
import { deployment, service, startWorld, T, waitForRollout, type World } from './cluster-helpers.js';

/**
 * The real Prometheus (Debian package) scraping the sandbox every second. Tolerance: the
 * per-version error rate PromQL returns must be within ±0.06 of SANDBOX_ERROR_RATE; over a
 * 10 s window each version gets ~1000 requests, so one standard error is ≤ 0.015.
 */
const TOLERANCE = 0.06;
const RATES = { v1: 0.05, v2: 0.3 };

let world: World;
let prometheus: RunningPrometheus;

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(promql: string): Promise<{ status: number; result: VectorResult[] }> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) return { status: res.status, result: [] };
  const body = (await res.json()) as { data: { result: VectorResult[] } };
  return { status: res.status, result: body.data.result };
}

beforeAll(async () => {
  world = await startWorld({ rps: 200 });
  const { store } = world;
  for (const [version, rate] of Object.entries(RATES)) {
    store.create(
      T.deployments,
      deployment(`app-${version}`, {
        replicas: 2,
        version,
        labels: { app: 'app' },
        env: { SANDBOX_ERROR_RATE: String(rate) },
      }),
    );
  }
  store.create(T.services, service('app', { app: 'app' }));
  await waitForRollout(store, 'app-v1');
  await waitForRollout(store, 'app-v2');
  prometheus = await startPrometheus({
    targets: [new URL(world.cluster.metricsUrl).host],
    faults: world.faults,
  });
});

afterAll(async () => {
  await prometheus?.stop();
  await world?.stop();
});

describe('Prometheus', () => {
  it('returns per-version error rates close to SANDBOX_ERROR_RATE', async () => {
    // Ten scrapes inside the window before trusting a 10 s rate.
    const deadline = Date.now() + 25_000;
    for (;;) {
      const up = await query('count_over_time(up[10s])');
      if (Number(up.result[0]?.value[1] ?? 0) >= 10) break;
      if (Date.now() > deadline) throw new Error('Prometheus did not collect 10 scrapes in time');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const { result } = await query(
      'sum by (version) (rate(http_requests_total{code=~"5.."}[10s])) / sum by (version) (rate(http_requests_total[10s]))',
    );
    const observed = Object.fromEntries(result.map((r) => [r.metric.version, Number(r.value[1])]));
    expect(Object.keys(observed).sort()).toEqual(['v1', 'v2']);
    expect(Math.abs(observed.v1! - RATES.v1)).toBeLessThanOrEqual(TOLERANCE);
    expect(Math.abs(observed.v2! - RATES.v2)).toBeLessThanOrEqual(TOLERANCE);

    const histogram = await query('sum by (version) (rate(http_request_duration_seconds_count[10s]))');
    expect(histogram.result).toHaveLength(2);
    const replicas = await query('kube_deployment_status_replicas_available{deployment="app-v1"}');
    expect(replicas.result[0]?.value[1]).toBe('2');
  });

  it('applies prometheus faults in front of the real server', async () => {
    world.faults.add({ target: 'prometheus', match: { path: '/api/v1/query' }, status: 503, times: 1 });
    expect((await query('up')).status).toBe(503);
    const after = await query('up');
    expect(after.status).toBe(200);
    expect(after.result[0]?.value[1]).toBe('1');
  });

  it('says how to install a missing binary', async () => {
    await expect(startPrometheus({ targets: [], binary: '/nonexistent/prometheus' })).rejects.toThrow(
      'prometheus not found at /nonexistent/prometheus: install it with `apt-get install prometheus` or set PROMETHEUS_BIN',
    );
  });

  it('generates a config scraping every target at the interval', () => {
    expect(prometheusConfig(['127.0.0.1:1234'], 1)).toContain('scrape_interval: 1s');
    expect(prometheusConfig(['127.0.0.1:1234'], 2)).toContain('- targets: ["127.0.0.1:1234"]');
  });
});
