/**
 * The blue-green rollback's phases, run in-process against the sandbox cluster, with faults
 * injected at its API server. Every test asserts where the cluster sends traffic afterwards.
 */
import { recordingRunner } from '../testing/recording-runner.js';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../../sandbox/src/sandbox.js';
import { BLUE_GREEN_ROLE, live, startTestSandbox } from '../../../../test/e2e/fixtures.js';
import type { RunContext } from '../github/github.js';
import { createKube, type Kube } from '../kube/kube.js';
import { CONFIGMAPS, KubeObjects, SERVICES } from '../kube/objects.js';
import { RECORD_ANNOTATION } from '../record/record.js';
import { rollback, type RollbackOptions } from './rollback.js';
import { parseChecks } from '../gate/parse.js';

const quiet = { env: {}, homeDir: '/nonexistent', setSecret: () => undefined, warn: () => undefined };
let sandbox: Sandbox;
let admin: KubeObjects;
let deployer: Kube;
const kubes: Kube[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox();
  const adminKube = await createKube(
    { kubeconfig: await readFile(sandbox.kubeconfig, 'utf8'), namespace: 'shop' },
    quiet,
  );
  deployer = await createKube(
    { kubeconfig: sandbox.kubeconfigFor(BLUE_GREEN_ROLE), namespace: 'shop' },
    quiet,
  );
  kubes.push(adminKube, deployer);
  admin = new KubeObjects(adminKube);
});
afterAll(async () => {
  await sandbox?.stop();
});

const RUN: RunContext = {
  repository: 'acme/shop',
  sha: '3f78685aa1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
  ref: 'refs/heads/main',
  runId: '4400',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  actor: 'oncall-ana',
  workflow: 'rollback',
};

function options(
  app: string,
  extra: Partial<RollbackOptions> = {},
  runner = recordingRunner(),
): RollbackOptions {
  return {
    kube: deployer,
    namespace: 'shop',
    app,
    toRevision: 'previous',
    dryRun: false,
    timeoutMs: 15_000,
    run: RUN,
    signal: new AbortController().signal,
    runner,
    ...extra,
  };
}

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type Color = 'blue' | 'green';

function deployRecord(app: string, color: Color): string {
  return JSON.stringify({
    strategy: 'blue-green',
    phase: 'succeeded',
    app,
    route: { kind: 'service', name: app, service: app, colorLabel: 'version' },
    deployments: { blue: `${app}-blue`, green: `${app}-green` },
    stable: { color, images: { [app]: `ghcr.io/acme/${app}:${color}` } },
    startedAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
    repository: 'acme/shop',
    runId: '100',
    runUrl: 'https://github.com/acme/shop/actions/runs/100',
    commit: 'abc',
    actor: 'deployer',
  });
}

function replicasOf(name: string): number | undefined {
  return (live(sandbox, 'Deployment', 'shop', name)?.spec as { replicas?: number } | undefined)?.replicas;
}

function readyReplicas(name: string): number {
  return (
    (live(sandbox, 'Deployment', 'shop', name)?.status as { readyReplicas?: number } | undefined)
      ?.readyReplicas ?? 0
  );
}

function selectedColor(app: string): string | undefined {
  return (live(sandbox, 'Service', 'shop', app)?.spec as { selector?: Record<string, string> }).selector
    ?.version;
}

function routeRecord(app: string): Record<string, unknown> {
  return JSON.parse(
    live(sandbox, 'Service', 'shop', app)?.metadata.annotations?.[RECORD_ANNOTATION] ?? '{}',
  ) as Record<string, unknown>;
}

function historyOf(app: string): Record<string, unknown>[] {
  const cm = live(sandbox, 'ConfigMap', 'shop', `cd-actions-history-${app}`) as
    { data?: Record<string, string> } | undefined;
  return Object.entries(cm?.data ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, text]) => JSON.parse(text) as Record<string, unknown>);
}

/** Service updates (the switch is one PUT) that the server answered, or meant to answer, with 2xx. */
function switches(app: string): number {
  return sandbox.audit
    .writes({ succeededOnly: true })
    .filter((e) => e.verb === 'update' && e.path.endsWith(`/services/${app}`)).length;
}

/**
 * A blue-green app as deploy-blue-green leaves it: both colours' Deployments with their records,
 * the Service selecting green, and a history whose last deploy made green live. Blue is `blue`.
 */
async function blueGreenApp(
  app: string,
  blue: { replicas: number; env?: Record<string, string> },
): Promise<void> {
  for (const [color, spec] of [
    ['blue', blue],
    ['green', { replicas: 2 }],
  ] as const) {
    const labels = { app, version: color };
    await admin.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: `${app}-${color}`,
        namespace: 'shop',
        labels,
        annotations: { [RECORD_ANNOTATION]: deployRecord(app, color) },
      },
      spec: {
        replicas: spec.replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: app,
                image: `ghcr.io/acme/${app}:${color}`,
                ports: [{ containerPort: 8080 }],
                env: Object.entries(('env' in spec ? spec.env : undefined) ?? {}).map(([name, value]) => ({
                  name,
                  value,
                })),
              },
            ],
          },
        },
      },
    });
  }
  await admin.create(SERVICES, 'shop', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: app,
      namespace: 'shop',
      annotations: { [RECORD_ANNOTATION]: deployRecord(app, 'green') },
    },
    spec: { selector: { app, version: 'green' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  await admin.create(CONFIGMAPS, 'shop', {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cd-actions-history-${app}`, namespace: 'shop' },
    data: {
      'entry-20250101000000-aaaaaa': JSON.stringify({
        action: 'deploy',
        strategy: 'blue-green',
        outcome: 'succeeded',
        deployment: `${app}-green`,
        images: { [app]: `ghcr.io/acme/${app}:green` },
        from: 'blue',
        to: 'green',
        commit: 'abc',
        runUrl: 'https://github.com/acme/shop/actions/runs/100',
        actor: 'deployer',
        time: '2025-01-01T00:00:00.000Z',
      }),
    },
  });
  await until(`${app}-green to be ready`, () => readyReplicas(`${app}-green`) === 2);
  if (blue.replicas > 0 && !blue.env)
    await until(`${app}-blue to be ready`, () => readyReplicas(`${app}-blue`) === blue.replicas);
}

describe('blue-green rollback', () => {
  it('a warm previous colour: switched in one write, confirmed, recorded', async () => {
    await blueGreenApp('warm', { replicas: 2 });
    const outcome = await rollback(options('warm'));
    expect(outcome.ok, outcome.message).toBe(true);
    expect(outcome.message).toBe(
      'Switched warm back from green to blue (warm-blue): ghcr.io/acme/warm:blue is serving',
    );
    expect(outcome.activeColor).toBe('blue');
    expect(selectedColor('warm')).toBe('blue');
    expect(switches('warm')).toBe(1);
    expect(routeRecord('warm')).toMatchObject({ phase: 'rolled-back', stable: { color: 'blue' } });
    expect(historyOf('warm').at(-1)).toMatchObject({
      action: 'rollback',
      outcome: 'succeeded',
      from: 'green',
      to: 'blue',
    });
  });

  it('verify failing after the switch (403 on the EndpointSlices): the route is switched back to the colour that served', async () => {
    await blueGreenApp('denied', { replicas: 2 });
    const remove = sandbox.faults.add({
      target: 'api',
      name: 'slices-denied',
      match: { path: /\/endpointslices$/ },
      status: 403,
    });
    try {
      const outcome = await rollback(options('denied'));
      expect(sandbox.faults.hits.some((h) => h.name === 'slices-denied')).toBe(true);
      expect(outcome.ok).toBe(false);
      expect(outcome.message).toMatch(
        /^Rollback of denied from green to blue failed in phase verify: .*403.*\. Every change was put back\. Traffic: Service shop\/denied \(selector version\) sends all traffic to green \(denied-green: ghcr\.io\/acme\/denied:green\)$/,
      );
      expect(outcome.activeColor).toBe('green');
    } finally {
      remove();
    }
    expect(selectedColor('denied')).toBe('green');
    // The switch and the switch back.
    expect(switches('denied')).toBe(2);
    expect(routeRecord('denied')).toMatchObject({
      phase: 'failed',
      stable: { color: 'green' },
      candidate: { color: 'blue' },
    });
    expect(historyOf('denied').at(-1)).toMatchObject({ action: 'rollback', outcome: 'failed' });
  });

  it('a switch whose answer is lost after the server stored it: read back, verified, done', async () => {
    await blueGreenApp('dropped', { replicas: 2 });
    sandbox.faults.add({
      target: 'api',
      name: 'switch-dropped',
      match: { verb: 'update', path: /\/services\/dropped$/ },
      dropAfterServe: true,
      times: 1,
    });
    const runner = recordingRunner();
    const outcome = await rollback(options('dropped', {}, runner));
    expect(sandbox.faults.hits.filter((h) => h.name === 'switch-dropped')).toHaveLength(1);
    expect(outcome.ok, outcome.message).toBe(true);
    expect(runner.lines.join('\n')).toContain('read back, the cluster holds it');
    expect(selectedColor('dropped')).toBe('blue');
    expect(switches('dropped')).toBe(1);
  });

  it('a cold colour that never becomes ready: scaled back down, the route never touched', async () => {
    await blueGreenApp('cold', { replicas: 0, env: { SANDBOX_NEVER_READY: 'true' } });
    const runner = recordingRunner();
    const outcome = await rollback(options('cold', { timeoutMs: 2000 }, runner));
    expect(runner.lines).toContain('cold-blue (blue) is not warm: scaling it to 2 replica(s) first');
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(
      /^Rollback of cold from green to blue failed in phase rollout: cold-blue \(blue\) did not become ready: .*\. Every change was put back\. Traffic: Service shop\/cold \(selector version\) sends all traffic to green/,
    );
    expect(replicasOf('cold-blue')).toBe(0);
    expect(selectedColor('cold')).toBe('green');
    expect(switches('cold')).toBe(0);
    expect(routeRecord('cold')).toMatchObject({ phase: 'failed', stable: { color: 'green' } });
  });
});

describe('blue-green rollback with checks on the colour switched to', () => {
  const gate = (command: string) => {
    const { checks } = parseChecks([{ kind: 'command', name: 'smoke', command: [command], critical: true }]);
    return { checks, durationMs: 1000, intervalMs: 250 };
  };

  it('checks that pass: switched back, the verdict recorded on the route and in the history', async () => {
    await blueGreenApp('vgood', { replicas: 2 });
    const outcome = await rollback(options('vgood', { gate: gate('true') }));
    expect(outcome.ok, outcome.message).toBe(true);
    expect(outcome.gate?.verdict).toBe('pass');
    expect(selectedColor('vgood')).toBe('blue');
    expect(routeRecord('vgood')).toMatchObject({ phase: 'rolled-back', gate: { verdict: 'pass' } });
    expect(historyOf('vgood').at(-1)).toMatchObject({ outcome: 'succeeded', gate: { verdict: 'pass' } });
  });

  it('checks that fail: the colour switched to stays (no switch back to the bad one), the step fails saying so', async () => {
    await blueGreenApp('vbad', { replicas: 2 });
    const runner = recordingRunner();
    const outcome = await rollback(options('vbad', { gate: gate('false') }, runner));
    expect(outcome.ok).toBe(false);
    expect(outcome.restored).toBe(true);
    expect(outcome.activeColor).toBe('blue');
    expect(outcome.message).toMatch(
      /^The rollback restored blue \(vbad-blue: ghcr\.io\/acme\/vbad:blue\), but the restored version did not verify: check\(s\) "smoke" failed \(.*There is nothing further to roll back to, so it stays serving \(not switched back to green \(vbad-green\), the version rolled back from\)\. Traffic: Service shop\/vbad \(selector version\) sends all traffic to blue/,
    );
    expect(runner.lines.some((l) => l.startsWith('undo: '))).toBe(false);
    expect(selectedColor('vbad')).toBe('blue');
    // The switch only: no switch back.
    expect(switches('vbad')).toBe(1);
    const record = routeRecord('vbad');
    expect(record).toMatchObject({
      phase: 'failed',
      candidate: { color: 'blue' },
      gate: { verdict: 'fail' },
    });
    expect(record.stable).toBeUndefined();
    expect(historyOf('vbad').at(-1)).toMatchObject({
      action: 'rollback',
      outcome: 'failed',
      to: 'blue',
      gate: { verdict: 'fail' },
    });
  });
});
