/**
 * Time to a correct verdict of the sequential comparison against a fixed-window gate at the same
 * false-alarm rate, on the sandbox: one Service at 100 requests/s shared by two versions (two
 * pods each, so about half each), the real Prometheus scraping every second, every version
 * failing 5% of its answers, and for (b) the canary failing 10%.
 *   (a) a healthy canary (5% vs 5%): the correct verdict is pass;
 *   (b) a canary at twice the stable error rate (10% vs 5%): the correct verdict is fail.
 * The sequential gate (`compare: v1`, false-alarm rate 5%, not worse below 2×) looks every
 * second. The fixed-window gate judges once, at the end of a window sized by the standard
 * fixed-horizon formula for the same false-alarm rate (5%, one-sided) and the same chance of
 * missing a doubled error rate the sequential test allows (5%), for the traffic measured here:
 * it reads both versions' counts over the window from Prometheus and applies the pooled
 * two-proportion z-test (the bench's own arithmetic, not the product's). Both gates watch the
 * same traffic in each run. Also: health-gate's default window (`duration` 5m), against which a
 * fixed-window gate decides nothing sooner, and the A/A false-alarm rate of the sequential test
 * measured on 2,000 seeded synthetic gates at the traffic measured here.
 * Target: fixed / sequential >= 3 on (a) and (b). What to expect: against a fixed window sized
 * for exactly this traffic and effect, a test that may stop at any look pays for that freedom on
 * the healthy case (it must gather evidence of "not worse", where the fixed test only fails to
 * find "worse"); the gain is on clear cases and against windows chosen without knowing the
 * traffic, such as health-gate's 5-minute default.
 */
import { parse } from 'yaml';
import { runGate } from '@cd-actions/core/gate/gate';
import { parseChecks } from '@cd-actions/core/gate/parse';
import { SequentialTest } from '@cd-actions/core/gate/stats/sequential';
import { looks, seededRandom } from '@cd-actions/core/testing/counts';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/sandbox.js';
import { createVersions } from '../test/e2e/fixtures.js';
import { median, printTable } from './measure.js';

const RUNS = Number(process.env.BENCH_GATE_RUNS ?? 8);
const RPS = 100;
const STABLE_ERRORS = 0.05;
const ALPHA = 0.05;
const DEFAULT_DURATION_S = 300;
const SYNTHETIC_GATES = 2000;
const Z_ALPHA = 1.6449; // one-sided 5%
const Z_BETA = 1.6449; // 95% power

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function promValue(url: string, query: string): Promise<number> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  return Number(body.data?.result?.[0]?.value[1] ?? Number.NaN);
}

const counted = (version: string, errors: boolean, window: string): string =>
  `sum(increase(http_requests_total{namespace="shop",service="web",version="${version}"${errors ? ',code=~"5.."' : ''}}[${window}]))`;

/** Requests per second each version serves, over the last 20 s. */
async function perVersionRps(prometheus: string): Promise<{ canary: number; baseline: number }> {
  const [canary, baseline] = await Promise.all(
    ['v2', 'v1'].map((v) => promValue(prometheus, counted(v, false, '20s'))),
  );
  return { canary: canary! / 20, baseline: baseline! / 20 };
}

/** The fixed-horizon window: requests per version for the z-test's false-alarm rate and power, as seconds. */
function fixedWindowSeconds(traffic: { canary: number; baseline: number }): number {
  const p1 = STABLE_ERRORS;
  const p2 = 2 * STABLE_ERRORS;
  // Unequal arms: n_c = k n_b with k the canary's share over the baseline's.
  const k = traffic.canary / traffic.baseline;
  const pooled = (k * p2 + p1) / (1 + k);
  const nb =
    (Z_ALPHA * Math.sqrt(pooled * (1 - pooled) * (1 + 1 / k)) +
      Z_BETA * Math.sqrt(p1 * (1 - p1) + (p2 * (1 - p2)) / k)) **
      2 /
    (p2 - p1) ** 2;
  return Math.ceil(nb / traffic.baseline);
}

/** The fixed-window gate's verdict: both versions' counts over the window, the one-sided pooled z-test. */
async function fixedVerdict(prometheus: string, windowS: number): Promise<'pass' | 'fail'> {
  const w = `${windowS}s`;
  const [kc, nc, kb, nb] = await Promise.all([
    promValue(prometheus, counted('v2', true, w)),
    promValue(prometheus, counted('v2', false, w)),
    promValue(prometheus, counted('v1', true, w)),
    promValue(prometheus, counted('v1', false, w)),
  ]);
  const pooled = (kc + kb) / (nc + nb);
  const z = (kc / nc - kb / nb) / Math.sqrt(pooled * (1 - pooled) * (1 / nc + 1 / nb));
  return z > Z_ALPHA ? 'fail' : 'pass';
}

interface RunResult {
  sequentialS: number;
  sequentialVerdict: string;
  fixedVerdict: string;
}

async function oneRun(sandbox: Sandbox, canaryErrors: number, windowS: number): Promise<RunResult> {
  const prometheus = sandbox.prometheus!;
  const remove = [
    sandbox.faults.add({ target: 'workload', match: { version: 'v1' }, status: 500, rate: STABLE_ERRORS }),
    sandbox.faults.add({ target: 'workload', match: { version: 'v2' }, status: 500, rate: canaryErrors }),
  ];
  try {
    // A whole window of this run's error rates before either gate begins.
    await sleep(windowS * 1000 + 2000);
    const { checks, problems } = parseChecks(
      parse(
        '- { kind: prometheus, name: errors, template: success-rate, service: web, version: v2, compare: v1, window: 5s }',
      ),
      { namespace: 'shop', prometheusUrl: prometheus },
    );
    if (problems.length > 0) throw new Error(problems.join('\n'));
    const started = Date.now();
    const [decision, fixed] = await Promise.all([
      runGate({ checks, durationMs: DEFAULT_DURATION_S * 1000, intervalMs: 1000, namespace: 'shop' }).then(
        (d) => ({
          ...d,
          seconds: (Date.now() - started) / 1000,
        }),
      ),
      sleep(windowS * 1000).then(() => fixedVerdict(prometheus, windowS)),
    ]);
    return { sequentialS: decision.seconds, sequentialVerdict: decision.verdict, fixedVerdict: fixed };
  } finally {
    for (const r of remove) r();
  }
}

/** The sequential test's A/A false alarms on seeded synthetic gates at the measured traffic. */
function syntheticFalseAlarms(traffic: { canary: number; baseline: number }): number {
  let alarms = 0;
  for (let gate = 0; gate < SYNTHETIC_GATES; gate++) {
    const test = new SequentialTest({ alpha: ALPHA, maxIncrease: 1, floor: 0.001 });
    let seen = 0;
    for (const look of looks(seededRandom(gate + 1), {
      canaryPerLook: Math.round(traffic.canary),
      baselinePerLook: Math.round(traffic.baseline),
      canaryRate: STABLE_ERRORS,
      baselineRate: STABLE_ERRORS,
    })) {
      const { decision } = test.observe(look);
      if (decision === 'worse') alarms += 1;
      if (decision !== 'continue' || ++seen >= DEFAULT_DURATION_S) break;
    }
  }
  return alarms / SYNTHETIC_GATES;
}

export async function gate(): Promise<void> {
  const sandbox = await startSandbox({
    prometheus: true,
    rps: RPS,
    namespaces: ['shop'],
    timings: { podStartMs: 50, readyAfterMs: 100, crashRestartMs: 150, progressCheckMs: 200 },
  });
  const rows: (string | number)[][] = [];
  let falseAlarms = 0;
  let traffic = { canary: 0, baseline: 0 };
  try {
    createVersions(sandbox, 'web', { v1: {}, v2: {} });
    const prometheus = sandbox.prometheus!;
    for (let waited = 0; !(traffic.canary > 10 && traffic.baseline > 10); waited += 1) {
      if (waited > 60) throw new Error('no traffic to both versions after 60 s');
      await sleep(1000);
      traffic = await perVersionRps(prometheus);
    }
    await sleep(20_000);
    traffic = await perVersionRps(prometheus);
    const windowS = fixedWindowSeconds(traffic);
    for (const [label, canaryErrors, correct] of [
      ['(a) healthy canary, 5% vs 5%', STABLE_ERRORS, 'pass'],
      ['(b) canary at 2x, 10% vs 5%', 2 * STABLE_ERRORS, 'fail'],
    ] as const) {
      const results: RunResult[] = [];
      for (let run = 0; run < RUNS; run++) results.push(await oneRun(sandbox, canaryErrors, windowS));
      if (correct === 'pass') falseAlarms = results.filter((r) => r.sequentialVerdict === 'fail').length;
      const right = results.filter((r) => r.sequentialVerdict === correct);
      const seq = median(right.map((r) => r.sequentialS));
      rows.push([
        label,
        `${right.length}/${RUNS}`,
        seq.toFixed(1),
        `${results.filter((r) => r.fixedVerdict === correct).length}/${RUNS}`,
        windowS,
        (windowS / seq).toFixed(2),
        (DEFAULT_DURATION_S / seq).toFixed(1),
      ]);
    }
  } finally {
    await sandbox.stop();
  }
  printTable(
    `health-gate: time to a correct verdict, sequential vs fixed window at the same 5% false-alarm rate (sandbox, ${RPS} rps, ${traffic.canary.toFixed(0)}/${traffic.baseline.toFixed(0)} rps canary/stable, median of the correct runs of ${RUNS})`,
    [
      'case',
      'sequential right',
      'sequential s',
      'fixed right',
      'fixed window s',
      'fixed / sequential',
      '5m default / sequential',
    ],
    rows,
  );
  printTable(
    'sequential test, A/A false-alarm rate (configured 5%)',
    ['measured on', 'gates', 'false alarms'],
    [
      ['the sandbox, case (a) above', RUNS, `${falseAlarms}/${RUNS}`],
      [
        'seeded synthetic counts at the traffic above, up to 5 min each',
        SYNTHETIC_GATES,
        `${(syntheticFalseAlarms(traffic) * 100).toFixed(2)}%`,
      ],
    ],
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await gate();
