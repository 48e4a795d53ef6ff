/**
 * Detection latency of the health gate: from the moment the sandbox starts failing 20% of one
 * version's requests to the gate's fail verdict, with the real Prometheus scraping every 1 s and
 * the gate sampling every 2 s (success-rate template, 4 s window, >= 0.95). Also from the moment
 * the first error is visible to Prometheus (the raw 5xx counter moved). Median over repeated
 * runs, each starting at a different phase of the gate's sampling interval.
 * Target: fail verdict under two intervals (4 s) after the errors are visible to Prometheus.
 */
import { parse } from 'yaml';
import { runGate } from '@cd-actions/core/gate/gate';
import { parseChecks } from '@cd-actions/core/gate/parse';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/sandbox.js';
import { RESOURCE_TYPES } from '../packages/sandbox/src/resources.js';
import { median, printTable } from './measure.js';

const RUNS = Number(process.env.BENCH_GATE_RUNS ?? 5);
const INTERVAL_MS = 2000;
const WINDOW = '4s';

function type(kind: string) {
  const found = RESOURCE_TYPES.find((t) => t.kind === kind);
  if (!found) throw new Error(`no resource type ${kind}`);
  return found;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function promValue(url: string, query: string): Promise<number | undefined> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  const text = body.data?.result?.[0]?.value[1];
  return text === undefined ? undefined : Number(text);
}

/** Polls until `test` holds for the query's value, within a deadline. */
async function until(
  url: string,
  query: string,
  test: (v: number | undefined) => boolean,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (test(await promValue(url, query))) return Date.now();
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${query}`);
    await sleep(50);
  }
}

function deploy(sandbox: Sandbox): void {
  const labels = { app: 'web', version: 'v2' };
  sandbox.store.create(type('Deployment'), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels },
        spec: {
          containers: [{ name: 'web', image: 'ghcr.io/acme/web:2.0.0', ports: [{ containerPort: 8080 }] }],
        },
      },
    },
  });
  sandbox.store.create(type('Service'), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
}

interface Measured {
  fromFaultMs: number;
  fromVisibleMs: number;
}

export async function gateDetection(): Promise<void> {
  const sandbox = await startSandbox({
    prometheus: true,
    rps: 100,
    namespaces: ['shop'],
    timings: { podStartMs: 50, readyAfterMs: 100, crashRestartMs: 150, progressCheckMs: 200 },
  });
  const prometheus = sandbox.prometheus!;
  const errors = 'sum(http_requests_total{namespace="shop",service="web",version="v2",code=~"5.."})';
  const rate = `sum(rate(http_requests_total{namespace="shop",service="web",version="v2",code!~"5.."}[${WINDOW}])) / sum(rate(http_requests_total{namespace="shop",service="web",version="v2"}[${WINDOW}]))`;
  const configs = [
    { label: 'failure-limit 0 (fail at the first failed sample)', rule: 'failure-limit: 0' },
    { label: 'failure-limit 1 (the default)', rule: 'failure-limit: 1' },
  ];
  const results = configs.map(() => [] as Measured[]);
  try {
    deploy(sandbox);
    await until(prometheus, rate, (v) => v === 1, 30_000);
    for (let run = 0; run < RUNS; run++) {
      // A clean window before each run, so every run starts from a healthy version.
      await until(prometheus, rate, (v) => v === 1, 30_000);
      const baseline = (await promValue(prometheus, errors)) ?? 0;
      const gates = configs.map((config) => {
        const { checks, problems } = parseChecks(
          parse(
            `- { kind: prometheus, template: success-rate, service: web, version: v2, window: ${WINDOW}, condition: ">= 0.95", ${config.rule} }`,
          ),
          { namespace: 'shop', prometheusUrl: prometheus },
        );
        if (problems.length > 0) throw new Error(problems.join('\n'));
        return runGate({ checks, durationMs: 120_000, intervalMs: INTERVAL_MS, namespace: 'shop' }).then(
          (decision) => ({
            decision,
            at: Date.now(),
          }),
        );
      });
      // Each run injects at a different phase of the sampling interval.
      await sleep(500 + (INTERVAL_MS * run) / RUNS);
      const faultAt = Date.now();
      const remove = sandbox.faults.add({
        target: 'workload',
        match: { version: 'v2' },
        status: 500,
        rate: 0.2,
      });
      const visibleAt = await until(prometheus, errors, (v) => (v ?? 0) > baseline, 30_000);
      const ended = await Promise.all(gates);
      remove();
      ended.forEach(({ decision, at }, i) => {
        if (decision.verdict !== 'fail')
          throw new Error(`run ${run}: the gate said ${decision.verdict}: ${decision.reason}`);
        results[i]!.push({ fromFaultMs: at - faultAt, fromVisibleMs: at - visibleAt });
      });
    }
  } finally {
    await sandbox.stop();
  }
  const rows = configs.map((config, i) => {
    const list = results[i]!;
    const fromVisible = median(list.map((m) => m.fromVisibleMs));
    return [
      config.label,
      list.length,
      (median(list.map((m) => m.fromFaultMs)) / 1000).toFixed(2),
      (fromVisible / 1000).toFixed(2),
      (fromVisible / INTERVAL_MS).toFixed(2),
      fromVisible < 2 * INTERVAL_MS ? 'yes' : 'NO',
    ];
  });
  printTable(
    `gate detection latency: 20% errors on one version, 1 s scrape, ${INTERVAL_MS / 1000} s interval, ${WINDOW} window (median of ${RUNS} runs)`,
    ['rule', 'runs', 'from fault, s', 'from visible, s', 'intervals', 'under 2 intervals'],
    rows,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await gateDetection();
