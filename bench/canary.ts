/**
 * canary-step under steady load (100 requests/s per entry point, Prometheus scraping every
 * second, route istio by host), all in one sandbox, each run on an app of its own:
 * (a) blast radius of a bad canary (20% of its answers are 500) at the 5% step: the failed
 *     requests the canary served from the action's start until the route sent everything back,
 *     for the built-in comparison with the stable (99% Wilson intervals, a look every second,
 *     30 s window) and for a fixed-window gate configured like Flagger's defaults scaled to a
 *     10 s interval (success rate >= 99% over the interval, the 5th failed check aborts).
 *     Target: ours / fixed <= 0.2.
 * (b) start → promotion of a healthy canary through 5, 25, 50, 100 with 10 s steps, and the
 *     time beyond the 40 s of pauses.
 * (c) per step of that run, the canary share the traffic showed against the weight written.
 * Every run must end as expected (exit code and phase), or the bench throws without figures.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { parse } from 'yaml';
import { runAction, type ActionResult } from '../packages/sandbox/src/harness.js';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/sandbox.js';
import type { KubeObject, StoreEvent } from '../packages/sandbox/src/store.js';
import {
  CANARY_ROLE,
  FAST_TIMINGS,
  deploymentManifest,
  kind,
  serviceManifest,
  workspace,
} from '../test/e2e/fixtures.js';
import { printTable } from './measure.js';

const NAMESPACE = 'shop';
const RPS = 100;
const STEPS = [5, 25, 50, 100];
const HEALTHY_STEP_MS = 10_000;
/** The bad canary: one request in five answered 500. */
const BAD_ENV = { SANDBOX_ERROR_RATE: '0.2' };
/** A folder for each run's log, timed as it arrived (seconds since the start), to see where time went. */
const LOGS = process.env.BENCH_CANARY_LOGS;
/** The report file, in the workspace: RUNNER_TEMP is gone when the run ends. */
const REPORT_PATH = 'canary-report.json';

interface Line {
  /** ms since the action started */
  at: number;
  text: string;
}

interface Run {
  result: ActionResult;
  /** Action output lines, timed as they arrived. */
  lines: Line[];
  /** The canary weight of the VirtualService each time it changed, ms since the start. */
  weights: { at: number; weight: number; traffic: Traffic }[];
  /** What the sandbox counted by the end (reset at the start). */
  traffic: Traffic;
  report: Report | undefined;
}

/** Requests answered by each side, as the sandbox's load generator counted them since the reset. */
interface Traffic {
  canary: number;
  canaryErrors: number;
  stable: number;
}

function trafficOf(sandbox: Sandbox, app: string): Traffic {
  const canary = sandbox.cluster.traffic.stats(NAMESPACE, `${app}-canary`).canary;
  const stable = Object.entries(sandbox.cluster.traffic.stats(NAMESPACE, app))
    .filter(([version]) => version !== 'canary' && version !== 'none')
    .reduce((n, [, s]) => n + s.requests, 0);
  return { canary: canary?.requests ?? 0, canaryErrors: canary?.errors ?? 0, stable };
}

interface Report {
  steps?: { weight: number; observed?: number }[];
}

/** The `report` output: the path of the JSON report (or, from older bundles, the JSON itself). */
async function readReport(cwd: string, result: ActionResult): Promise<Report | undefined> {
  const value = result.outputs.report?.trim();
  if (!value) return undefined;
  const text = value.startsWith('{')
    ? value
    : await readFile(isAbsolute(value) ? value : join(cwd, value), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as Report);
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '—' : (ms / 1000).toFixed(1);
}

/** The stable Deployment, its Service and a host-level VirtualService sending it everything. */
async function seedApp(sandbox: Sandbox, app: string): Promise<void> {
  sandbox.store.create(
    kind('Deployment'),
    parse(deploymentManifest({ name: app, namespace: NAMESPACE, replicas: 3 })) as KubeObject,
  );
  sandbox.store.create(kind('Service'), {
    ...(parse(serviceManifest(app)) as KubeObject),
    metadata: { name: app, namespace: NAMESPACE },
  });
  sandbox.store.create(kind('VirtualService'), {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: app, namespace: NAMESPACE },
    spec: { hosts: [app], http: [{ route: [{ destination: { host: app }, weight: 100 }] }] },
  });
  // The stable serves and Prometheus has a few scrapes of it before the canary starts.
  const deadline = Date.now() + 30_000;
  while (totalRequests(sandbox, app) < 3 * RPS) {
    if (Date.now() > deadline) throw new Error(`the stable ${app} got no traffic in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Takes the app's routing objects away so the load generator stops, and the next run has the load alone. */
function retireApp(sandbox: Sandbox, app: string): void {
  for (const [kindName, name] of [
    ['VirtualService', app],
    ['Service', app],
    ['Service', `${app}-canary`],
  ] as const) {
    if (sandbox.store.get(kind(kindName), NAMESPACE, name))
      sandbox.store.delete(kind(kindName), NAMESPACE, name);
  }
}

function totalRequests(sandbox: Sandbox, service: string): number {
  return Object.values(sandbox.cluster.traffic.stats(NAMESPACE, service)).reduce((n, s) => n + s.requests, 0);
}

/** The canary's weight in a host-level VirtualService: what its rules send to `<app>-canary`. */
function canaryWeight(object: KubeObject, app: string): number {
  const http =
    (
      object.spec as {
        http?: { match?: unknown; route?: { destination?: { host?: string }; weight?: number }[] }[];
      }
    ).http ?? [];
  const weighted = http.find((rule) => rule.match === undefined) ?? http[0];
  return (weighted?.route ?? [])
    .filter((d) => (d.destination?.host ?? '').split('.')[0] === `${app}-canary`)
    .reduce((n, d) => n + (d.weight ?? 0), 0);
}

/** Runs canary-step on `app` with a new version, watching the route, the traffic and the log as it goes. */
async function observe(
  sandbox: Sandbox,
  app: string,
  env: Record<string, string>,
  inputs: Record<string, string>,
): Promise<Run> {
  const cwd = await workspace({
    'k8s/app.yaml': deploymentManifest({ name: app, image: `ghcr.io/acme/${app}:2.0.0`, replicas: 3, env }),
  });
  const weights: Run['weights'] = [];
  const lines: Line[] = [];
  let partial = '';
  sandbox.cluster.traffic.reset();
  const started = performance.now();
  const since = (): number => performance.now() - started;
  const unwatch = sandbox.store.watch(kind('VirtualService'), NAMESPACE, undefined, (e: StoreEvent) => {
    if (e.object.metadata.name !== app) return;
    const weight = e.type === 'DELETED' ? 0 : canaryWeight(e.object, app);
    if (weight !== (weights.at(-1)?.weight ?? 0))
      weights.push({ at: since(), weight, traffic: trafficOf(sandbox, app) });
  });
  let result: ActionResult;
  try {
    result = await runAction({
      action: 'canary-step',
      cwd,
      inputs: {
        kubeconfig: sandbox.kubeconfigFor(CANARY_ROLE),
        namespace: NAMESPACE,
        manifests: 'k8s/app.yaml',
        route: 'istio',
        steps: STEPS.join(','),
        'scale-down-delay': '1s',
        'report-path': REPORT_PATH,
        ...inputs,
      },
      onOutput: (text) => {
        const at = since();
        const parts = (partial + text).split('\n');
        partial = parts.pop() ?? '';
        for (const part of parts) lines.push({ at, text: part });
      },
      timeoutMs: 600_000,
    });
    // In-flight requests to the canary finish (or time out) within a second of the action's end.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  } finally {
    unwatch();
  }
  if (partial) lines.push({ at: since(), text: partial });
  if (LOGS)
    await writeFile(
      join(LOGS, `${app}.log`),
      lines.map((l) => `${seconds(l.at).padStart(6)} ${l.text}`).join('\n'),
    );
  const report = await readReport(cwd, result);
  return { result, lines, weights, traffic: trafficOf(sandbox, app), report };
}

/** A run that did not end as expected yields no figures: the bench stops with the log's end. */
function expectOutcome(what: string, run: Run, exitCode: number, phase: string): void {
  const { exitCode: code, outputs, timedOut } = run.result;
  if (code === exitCode && outputs.phase === phase) return;
  const tail = run.result.log.split('\n').slice(-60).join('\n');
  console.error(`\n${what}: log tail\n${tail}`);
  throw new Error(
    `${what}: exit ${code}${timedOut ? ' (timed out)' : ''}, phase ${outputs.phase ?? 'none'}; expected exit ${exitCode}, phase ${phase}`,
  );
}

/** The first log line matching `pattern` at or after `from` ms. */
function lineAt(run: Run, pattern: RegExp, from = 0): number | undefined {
  return run.lines.find((l) => l.at >= from && pattern.test(l.text))?.at;
}

interface BlastRadius {
  run: Run;
  /** Start → the 5% write. */
  exposedAt: number;
  /** Start → the write sending everything back to the stable. */
  abortedAt: number;
  /** The sandbox's counts when that write was seen. */
  atAbort: Traffic;
}

async function blastRadius(
  sandbox: Sandbox,
  app: string,
  what: string,
  inputs: Record<string, string>,
): Promise<BlastRadius> {
  await seedApp(sandbox, app);
  const run = await observe(sandbox, app, BAD_ENV, { 'step-duration': '2m', ...inputs });
  retireApp(sandbox, app);
  expectOutcome(what, run, 1, 'aborted');
  const exposed = run.weights.find((w) => w.weight > 0);
  const back = run.weights.find((w) => exposed && w.at > exposed.at && w.weight === 0);
  if (!exposed || !back) {
    console.error(run.result.log.split('\n').slice(-60).join('\n'));
    throw new Error(`${what}: the route never went to the canary and back (${JSON.stringify(run.weights)})`);
  }
  if (exposed.weight !== STEPS[0])
    throw new Error(`${what}: the first weight written was ${exposed.weight}%, not ${STEPS[0]}%`);
  return { run, exposedAt: exposed.at, abortedAt: back.at, atAbort: back.traffic };
}

export async function canary(): Promise<void> {
  const sandbox = await startSandbox({
    prometheus: true,
    rps: RPS,
    timings: FAST_TIMINGS,
    namespaces: [NAMESPACE],
  });
  try {
    const prometheus = sandbox.prometheus!;
    const ours = await blastRadius(sandbox, 'bad-ours', 'bad canary, built-in comparison', {
      'prometheus-url': prometheus,
      'check-interval': '1s',
      'analysis-window': '30s',
    });
    const fixedChecks = [
      {
        kind: 'prometheus',
        name: 'success-rate',
        template: 'success-rate',
        'prometheus-url': prometheus,
        service: 'bad-fixed-canary',
        version: 'canary',
        window: '10s',
        condition: '>= 0.99',
        'failure-limit': 4,
      },
    ];
    const fixed = await blastRadius(sandbox, 'bad-fixed', 'bad canary, fixed-window gate', {
      checks: JSON.stringify(fixedChecks),
      'check-interval': '10s',
    });

    await seedApp(sandbox, 'ramp');
    const healthy = await observe(
      sandbox,
      'ramp',
      {},
      {
        'prometheus-url': prometheus,
        'step-duration': `${HEALTHY_STEP_MS / 1000}s`,
        'check-interval': '1s',
        'analysis-window': '30s',
      },
    );
    retireApp(sandbox, 'ramp');
    expectOutcome('healthy canary', healthy, 0, 'promoted');

    printBlastRadius(ours, fixed);
    printRamp(healthy);
  } finally {
    await sandbox.stop();
  }
}

function printBlastRadius(ours: BlastRadius, fixed: BlastRadius): void {
  const between = (from: number | undefined, to: number | undefined): string =>
    seconds(from === undefined || to === undefined ? undefined : to - from);
  const row = (name: string, b: BlastRadius): (string | number)[] => {
    // From the log as it arrived: the split confirmation, then the gate until its verdict.
    const gateStart = lineAt(b.run, new RegExp(`^${STEPS[0]}%: checks .* for `), b.exposedAt);
    const verdict = lineAt(
      b.run,
      new RegExp(`^${STEPS[0]}%: (fail|inconclusive): `),
      gateStart ?? b.exposedAt,
    );
    return [
      name,
      b.run.traffic.canary,
      b.run.traffic.canaryErrors,
      b.run.traffic.canaryErrors - b.atAbort.canaryErrors,
      seconds(b.exposedAt),
      seconds(b.abortedAt),
      seconds(b.abortedAt - b.exposedAt),
      between(b.exposedAt, gateStart),
      between(gateStart, verdict),
      between(verdict, b.abortedAt),
    ];
  };
  printTable(
    `canary-step, bad canary (20% of its requests answer 500) at 5%: failed requests it served, start → abort (istio host route, ${RPS} req/s, Prometheus 1 s scrape)`,
    [
      'gate',
      'canary requests',
      'failed requests',
      'of them after the abort write',
      'start → 5% write s',
      'start → abort write s',
      'exposed s',
      '5% write → gate start s',
      'gate start → fail s',
      'fail → abort write s',
    ],
    [
      row('ours: comparison with the stable, 99% Wilson, 1 s looks, 30 s window', ours),
      row('fixed window (Flagger defaults at 10 s): success rate >= 99%, 5th failure aborts', fixed),
    ],
  );
  const ratio = (a: number, b: number): string => (b === 0 ? '—' : (a / b).toFixed(2));
  printTable(
    'ours / fixed window (target: failed requests <= 0.2)',
    ['', 'ratio'],
    [
      ['failed requests', ratio(ours.run.traffic.canaryErrors, fixed.run.traffic.canaryErrors)],
      ['start → abort', ratio(ours.abortedAt, fixed.abortedAt)],
    ],
  );
}

/** The canary's share of the requests the sandbox answered from the write of `weight` to the next write. */
function countedShare(run: Run, weight: number): number | undefined {
  const i = run.weights.findIndex((w) => w.weight === weight);
  const from = run.weights[i]?.traffic;
  const to = run.weights[i + 1]?.traffic ?? run.traffic;
  if (!from) return undefined;
  const canary = to.canary - from.canary;
  const total = canary + to.stable - from.stable;
  return total === 0 ? undefined : (100 * canary) / total;
}

function printRamp(run: Run): void {
  const report = run.report;
  if (!report?.steps)
    throw new Error(`healthy canary: no report with steps (report output: ${run.result.outputs.report})`);
  const promotedAt = lineAt(run, /^promoted: /);
  const pauses = STEPS.length * HEALTHY_STEP_MS;
  // From the log as it arrived: where each step's gate began and ended.
  const gates = STEPS.map((weight) => {
    const writeAt = run.weights.find((w) => w.weight === weight)?.at;
    const gateStart = lineAt(run, new RegExp(`^${weight}%: checks .* for `), writeAt ?? 0);
    const gateEnd = lineAt(run, new RegExp(`^${weight}%: (pass|fail|inconclusive): `), gateStart ?? 0);
    return { weight, writeAt, gateStart, gateEnd };
  });
  const lastGateEnd = gates.at(-1)?.gateEnd;
  printTable(
    `canary-step, healthy canary through ${STEPS.join(', ')} with ${HEALTHY_STEP_MS / 1000} s steps: start → promotion (prometheus-url, 1 s looks)`,
    ['start → promoted s', 'action wall s', 'pauses s', 'overhead s', 'overhead / pauses'],
    [
      [
        seconds(promotedAt),
        seconds(run.result.durationMs),
        seconds(pauses),
        seconds(promotedAt === undefined ? undefined : promotedAt - pauses),
        promotedAt === undefined ? '—' : ((promotedAt - pauses) / pauses).toFixed(2),
      ],
    ],
  );
  printTable(
    'where the time went (from the log lines and route writes as they arrived)',
    ['step', 'write at s', 'write → gate start s', 'gate s', 'gate end → next write (or promoted) s'],
    gates.map((g, i) => {
      const next = gates[i + 1]?.writeAt ?? promotedAt;
      return [
        `${g.weight}%`,
        seconds(g.writeAt),
        seconds(g.writeAt === undefined || g.gateStart === undefined ? undefined : g.gateStart - g.writeAt),
        seconds(g.gateStart === undefined || g.gateEnd === undefined ? undefined : g.gateEnd - g.gateStart),
        seconds(g.gateEnd === undefined || next === undefined ? undefined : next - g.gateEnd),
      ];
    }),
  );
  if (lastGateEnd === undefined || promotedAt === undefined)
    console.log('(the log lines of the gates or of the promotion were not found: their columns show —)');
  printTable(
    'observed split per step of the healthy run: the report output (100% judged before promotion), beside what the sandbox counted over the whole step',
    [
      'weight %',
      'observed %',
      '|observed − weight| points',
      'requests it rests on (log)',
      'allowed ± (log)',
      'sandbox-counted %',
      '|counted − weight| points',
    ],
    STEPS.map((weight) => {
      const observed = report.steps?.find((s) => s.weight === weight)?.observed;
      const confirmation = run.lines
        .map((l) =>
          /observed split: .* of (\d+) requests .*\(target (\d+)%, allowed ±([\d.]+)\)/.exec(l.text),
        )
        .find((m) => m && Number(m[2]) === weight);
      const counted = countedShare(run, weight);
      return [
        weight,
        observed ?? '—',
        observed === undefined ? '—' : Math.abs(observed - weight).toFixed(1),
        confirmation?.[1] ?? '—',
        confirmation?.[3] ?? '—',
        counted === undefined ? '—' : counted.toFixed(1),
        counted === undefined ? '—' : Math.abs(counted - weight).toFixed(1),
      ];
    }),
  );
}
