/**
 * Blue-green cutover and switch-back, under steady load (100 requests/s through the live
 * Service): from the switch write (seen in the store) to the last request the old colour
 * answered, as the load generator observed it, beside the action's own figure (write → route
 * read back and EndpointSlices confirmed). Target: each under 1 s plus one scrape interval.
 */
import { runAction } from '../packages/sandbox/src/harness.js';
import { RESOURCE_TYPES } from '../packages/sandbox/src/resources.js';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/sandbox.js';
import type { StoreEvent } from '../packages/sandbox/src/store.js';
import { BLUE_GREEN_ROLE, deploymentManifest, serviceManifest, workspace } from '../test/e2e/fixtures.js';
import { median, printTable } from './measure.js';

const RUNS = Number(process.env.BENCH_BLUE_GREEN_RUNS ?? 3);
const services = RESOURCE_TYPES.find((t) => t.kind === 'Service')!;

interface Measured {
  /** Write → the old colour's last observed request. */
  observedMs: number;
  /** Write → the action confirmed the switch (its summary). */
  actionMs: number | undefined;
  errors: number;
  /** Requests observed after the write: evidence the window was under load. */
  requestsAfter: number;
}

/** Runs one deploy and measures the `nth` selector write of Service web (1: the switch, 2: the switch back). */
async function measure(
  sandbox: Sandbox,
  kubeconfig: string,
  image: string,
  inputs: Record<string, string>,
  nth: 1 | 2,
): Promise<Measured> {
  const writes: { at: number; color: string }[] = [];
  let last = sandbox.store.get(services, 'shop', 'web') as
    { spec?: { selector?: { version?: string } } } | undefined;
  const unwatch = sandbox.store.watch(services, 'shop', undefined, (e: StoreEvent) => {
    if (e.object.metadata.name !== 'web') return;
    const color = (e.object as { spec?: { selector?: { version?: string } } }).spec?.selector?.version ?? '';
    if (color !== last?.spec?.selector?.version) {
      writes.push({ at: performance.now(), color });
      if (writes.length === nth) sandbox.cluster.traffic.reset();
    }
    last = e.object as typeof last;
  });
  const samples: { at: number; byVersion: Record<string, number> }[] = [];
  const timer = setInterval(() => {
    const stats = sandbox.cluster.traffic.stats('shop', 'web');
    samples.push({
      at: performance.now(),
      byVersion: Object.fromEntries(Object.entries(stats).map(([v, s]) => [v, s.requests])),
    });
  }, 10);
  const result = await runAction({
    action: 'deploy-blue-green',
    cwd: await workspace({
      'k8s/app.yaml': `${deploymentManifest({ image, replicas: 2 })}---\n${serviceManifest()}`,
    }),
    inputs: {
      kubeconfig,
      namespace: 'shop',
      manifests: 'k8s/app.yaml',
      'verify-duration': '1s',
      'check-interval': '200ms',
      ...inputs,
    },
    timeoutMs: 60_000,
  });
  // Keep observing a second after the step: a late request to the old colour would show here.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  clearInterval(timer);
  unwatch();
  const write = writes[nth - 1];
  if (!write) throw new Error(`no switch write seen:\n${result.log}`);
  const old = nth === 1 ? (writes[0]!.color === 'green' ? 'blue' : 'green') : writes[0]!.color;
  const after = samples.filter((s) => s.at >= write.at);
  let lastOld = write.at;
  for (let i = 1; i < after.length; i++) {
    if ((after[i]!.byVersion[old] ?? 0) > (after[i - 1]!.byVersion[old] ?? 0)) lastOld = after[i]!.at;
  }
  const stats = sandbox.cluster.traffic.stats('shop', 'web');
  const label = nth === 1 ? 'Cutover' : 'Switch back';
  const figure = new RegExp(`\\| ${label} \\| (\\d+) ms \\|`).exec(result.summary)?.[1];
  return {
    requestsAfter: Object.values(stats).reduce((n, s) => n + s.requests, 0),
    observedMs: lastOld - write.at,
    actionMs: figure === undefined ? undefined : Number(figure),
    errors: Object.entries(stats)
      .filter(([v]) => nth === 1 || v !== writes[0]!.color)
      .reduce((n, [v, s]) => n + s.errors + (v === 'none' ? s.requests : 0), 0),
  };
}

export async function blueGreen(): Promise<void> {
  await blueGreenWith(false);
  await blueGreenWith(true);
}

/** With Prometheus (1 s scrape), the action confirms each switch from the request counters too. */
async function blueGreenWith(prometheus: boolean): Promise<void> {
  const sandbox = await startSandbox({
    prometheus,
    rps: 100,
    timings: { podStartMs: 50, readyAfterMs: 100, crashRestartMs: 150, progressCheckMs: 200 },
    namespaces: ['shop'],
  });
  try {
    const kubeconfig = sandbox.kubeconfigFor(BLUE_GREEN_ROLE);
    const observe: Record<string, string> = prometheus ? { 'prometheus-url': sandbox.prometheus! } : {};
    const first = await runAction({
      action: 'deploy-blue-green',
      cwd: await workspace({
        'k8s/app.yaml': `${deploymentManifest({ replicas: 2 })}---\n${serviceManifest()}`,
      }),
      inputs: { kubeconfig, namespace: 'shop', manifests: 'k8s/app.yaml' },
    });
    if (first.exitCode !== 0) throw new Error(first.log);
    const cutovers: Measured[] = [];
    const backs: Measured[] = [];
    for (let i = 0; i < RUNS; i++) {
      cutovers.push(await measure(sandbox, kubeconfig, `ghcr.io/acme/web:2.${i}.0`, observe, 1));
      backs.push(
        await measure(
          sandbox,
          kubeconfig,
          `ghcr.io/acme/web:3.${i}.0`,
          {
            'post-switch-checks':
              '- { kind: command, name: smoke, command: [sh, -c, "exit 1"], critical: true }',
          },
          2,
        ),
      );
    }
    const row = (name: string, m: Measured[]): (string | number)[] => [
      name,
      RUNS,
      Math.round(median(m.map((x) => x.observedMs))),
      Math.round(Math.max(...m.map((x) => x.observedMs))),
      Math.round(median(m.map((x) => x.actionMs ?? NaN))),
      m.reduce((n, x) => n + x.errors, 0),
      Math.round(median(m.map((x) => x.requestsAfter))),
    ];
    printTable(
      `deploy-blue-green: switch write → 100% of observed traffic on the new colour (service route, 100 req/s${prometheus ? ', action confirms from Prometheus, 1 s scrape' : ', action confirms from EndpointSlices'})`,
      [
        '',
        'runs',
        'observed median ms',
        'observed max ms',
        'action-confirmed median ms',
        'failed requests',
        'requests after the write (median)',
      ],
      [row('cutover', cutovers), row('switch back after post-switch failure', backs)],
    );
  } finally {
    await sandbox.stop();
  }
}
