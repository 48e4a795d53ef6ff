/**
 * deploy-rolling's phases, run in-process against the sandbox cluster with faults injected at
 * each phase. Every test asserts what the cluster holds afterwards: the Deployment's template,
 * its ready pods, the record and the history.
 */
import { recordingRunner, type RecordingRunner } from '../../testing/recording-runner.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { FaultRule } from '../../../../sandbox/src/faults.js';
import type { Sandbox } from '../../../../sandbox/src/sandbox.js';
import {
  DEPLOYER_ROLE,
  deploymentManifest,
  historyOf,
  imageOf,
  kind,
  live,
  readyPodImages,
  startTestSandbox,
  workspace,
} from '../../../../../test/e2e/fixtures.js';
import type { RunContext } from '../../github/github.js';
import { createKube, type Kube } from '../../kube/kube.js';
import { parseImageOverrides } from '../../manifests/manifests.js';
import { parseChecks } from '../../gate/parse.js';
import type { VerifyGate } from './gate.js';
import { planRolling } from './plan.js';
import { rollingSummary } from './summary.js';
import { deployRolling, type RollingOutcome } from './rolling.js';

const RUN: RunContext = {
  repository: 'acme/shop',
  sha: '3f786850e387550fdab836ed7e6dc881de23001b',
  ref: 'refs/heads/main',
  runId: '4242',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  actor: 'octocat',
  workflow: 'deploy',
};

/** The deployer's rights, plus Ingresses: an object applied after the Deployment. */
const ROLE = {
  ...DEPLOYER_ROLE,
  name: 'rolling-unit',
  resources: [...DEPLOYER_ROLE.resources, 'ingresses.networking.k8s.io'],
};

let sandbox: Sandbox;
let kube: Kube;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  kube = await createKube(
    { kubeconfig: sandbox.kubeconfigFor(ROLE), namespace: 'shop' },
    { setSecret: () => undefined, warn: () => undefined },
  );
});
afterAll(async () => {
  await sandbox?.stop();
});

function ingressManifest(name: string): string {
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: ${name}
spec:
  defaultBackend:
    service:
      name: ${name}
      port:
        number: 80
`;
}

interface Deploy {
  /** Manifest files (YAML) to apply, or none for an images-only deploy. */
  files?: Record<string, string>;
  images?: string[];
  deployment?: string;
  runner?: RecordingRunner;
  timeoutMs?: number;
  autoRollback?: boolean;
  gate?: VerifyGate;
  signal?: AbortSignal;
}

async function deploy(app: string, d: Deploy): Promise<RollingOutcome & { runner: RecordingRunner }> {
  const runner = d.runner ?? recordingRunner();
  const files = d.files ?? {};
  const plan = await planRolling({
    namespace: 'shop',
    manifests: Object.keys(files),
    images: parseImageOverrides(d.images ?? []).overrides,
    deployments: d.deployment ? [d.deployment] : [],
    workspace: await workspace(files),
  });
  const outcome = await deployRolling({
    kube,
    plan,
    namespace: 'shop',
    app,
    timeoutMs: d.timeoutMs ?? 30_000,
    autoRollback: d.autoRollback ?? true,
    onCancel: 'rollback',
    lockWaitMs: 0,
    annotations: {},
    ...(d.gate ? { gate: d.gate } : {}),
    dryRun: false,
    run: RUN,
    signal: d.signal ?? new AbortController().signal,
    runner,
  });
  return { ...outcome, runner };
}

function app(name: string, image: string, env: Record<string, string> = {}): Record<string, string> {
  return { 'k8s/app.yaml': deploymentManifest({ name, image, env }) };
}

function inject(rule: Omit<FaultRule, 'target'>): () => void {
  return sandbox.faults.add({ target: 'api', ...rule });
}

function image(name: string): string | undefined {
  return imageOf(live(sandbox, 'Deployment', 'shop', name));
}

function recordPhase(name: string): string | undefined {
  const raw = live(sandbox, 'Deployment', 'shop', name)?.metadata.annotations?.['cd-actions.dev/record'];
  return raw ? (JSON.parse(raw) as { phase: string }).phase : undefined;
}

/** Deploys version 1 of `name` and checks it serves: the known-good state each test starts from. */
async function serving(
  name: string,
  files: (img: string) => Record<string, string> = (img) => app(name, img),
): Promise<void> {
  const first = await deploy(name, { files: files(`ghcr.io/acme/${name}:1`) });
  expect(first.ok, first.message).toBe(true);
  expect(readyPodImages(sandbox, 'shop', name)).toEqual(Array(3).fill(`ghcr.io/acme/${name}:1`));
}

describe('deploy-rolling phases', () => {
  it('prepare: a read that fails stops the deploy before anything is written', async () => {
    await serving('prep');
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const remove = inject({
      match: { verb: 'get', path: '/configmaps/cd-actions-history-prep' },
      status: 403,
    });
    try {
      const outcome = await deploy('prep', { images: ['prep=ghcr.io/acme/prep:2'], deployment: 'prep' });
      expect(outcome.ok).toBe(false);
      expect(outcome.failedPhase).toBe('prepare');
      expect(outcome.message).toContain('Nothing was changed');
      expect(outcome.message).toContain('Traffic: prep serves revision 1 (ghcr.io/acme/prep:1)');
    } finally {
      remove();
    }
    // The lock's create and delete only.
    const written = sandbox.audit.writes({ succeededOnly: true }).slice(writes);
    expect(written.map((w) => w.path).filter((p) => !p.includes('/leases'))).toEqual([]);
    expect(image('prep')).toBe('ghcr.io/acme/prep:1');
  });

  it('apply: a later object failing after the Deployment was applied puts the template back', async () => {
    const files = (img: string): Record<string, string> => ({
      'k8s/app.yaml': `${deploymentManifest({ name: 'shop-a', image: img })}---\n${ingressManifest('shop-a')}`,
    });
    await serving('shop-a', files);
    const remove = inject({
      match: { verb: 'patch', path: '/ingresses/shop-a', dryRun: false },
      status: 403,
    });
    try {
      const outcome = await deploy('shop-a', { files: files('ghcr.io/acme/shop-a:2') });
      expect(outcome.ok).toBe(false);
      expect(outcome.failedPhase).toBe('apply');
      expect(outcome.rolledBack).toBe(true);
      expect(outcome.message).toContain('Every change was put back');
      // Revision 2 exists only if the controller saw the new template before it was put back.
      expect(outcome.traffic).toMatch(/^shop-a is serving revision \d+ again \(ghcr\.io\/acme\/shop-a:1\)$/);
    } finally {
      remove();
    }
    expect(image('shop-a')).toBe('ghcr.io/acme/shop-a:1');
    expect(readyPodImages(sandbox, 'shop', 'shop-a')).toEqual(Array(3).fill('ghcr.io/acme/shop-a:1'));
    expect(recordPhase('shop-a')).toBe('rolled-back');
    expect(historyOf(sandbox, 'shop', 'shop-a').map((h) => h.outcome)).toEqual(['succeeded', 'rolled-back']);
  });

  it('images: the patch stored but its answer lost is read back and put back', async () => {
    await serving('drop');
    const generation = live(sandbox, 'Deployment', 'shop', 'drop')!.metadata.generation!;
    const remove = inject({
      match: { verb: 'patch', path: '/deployments/drop', dryRun: false },
      dropAfterServe: true,
      times: 1,
    });
    try {
      const outcome = await deploy('drop', { images: ['drop=ghcr.io/acme/drop:2'], deployment: 'drop' });
      expect(outcome.ok).toBe(false);
      expect(outcome.failedPhase).toBe('images');
      expect(outcome.message).toContain('Every change was put back');
    } finally {
      remove();
    }
    expect(
      sandbox.faults.hits.some((h) => h.kind === 'dropAfterServe' && h.request.path?.endsWith('/drop')),
    ).toBe(true);
    const after = live(sandbox, 'Deployment', 'shop', 'drop')!;
    // Two template writes: the stored images patch, then the restore.
    expect(after.metadata.generation).toBe(generation + 2);
    expect(imageOf(after)).toBe('ghcr.io/acme/drop:1');
    expect(readyPodImages(sandbox, 'shop', 'drop')).toEqual(Array(3).fill('ghcr.io/acme/drop:1'));
    expect(historyOf(sandbox, 'shop', 'drop').at(-1)).toMatchObject({ outcome: 'rolled-back' });
  });

  it('rollout: a crashing version fails the phase with its pod events; a 409 on the restore is retried', async () => {
    await serving('crash');
    let remove = (): void => undefined;
    const runner = recordingRunner({
      compensate: {
        start: () => {
          remove = inject({ match: { verb: 'patch', path: '/deployments/crash' }, conflict: true, times: 1 });
        },
      },
    });
    const seen = sandbox.audit.entries.length;
    try {
      const outcome = await deploy('crash', {
        files: app('crash', 'ghcr.io/acme/crash:2', { SANDBOX_CRASH: 'true' }),
        runner,
      });
      expect(outcome.ok).toBe(false);
      expect(outcome.failedPhase).toBe('rollout');
      expect(outcome.message).toMatch(/CrashLoopBackOff|restarted/);
      expect(outcome.message).toContain('last events:');
      expect(outcome.deployments[0]?.events?.length).toBeGreaterThan(0);
      expect(outcome.rolledBack).toBe(true);
      const summary = rollingSummary({ app: 'crash', namespace: 'shop', outcome, durationMs: 1000 });
      expect(summary).toContain('↩️ Failed and rolled back');
      expect(summary).toContain('**Failed in phase:** rollout');
      expect(summary).toContain('**Traffic:** crash is serving revision 3 again (ghcr.io/acme/crash:1)');
    } finally {
      remove();
    }
    const conflicts = sandbox.audit.entries
      .slice(seen)
      .filter((e) => e.verb === 'patch' && e.path.endsWith('/deployments/crash') && e.status === 409);
    expect(conflicts).toHaveLength(1);
    expect(runner.lines.some((l) => /retrying after .*409/.test(l))).toBe(true);
    expect(image('crash')).toBe('ghcr.io/acme/crash:1');
    expect(readyPodImages(sandbox, 'shop', 'crash')).toEqual(Array(3).fill('ghcr.io/acme/crash:1'));
    const last = historyOf(sandbox, 'shop', 'crash').at(-1) as { outcome: string; templateHash?: string };
    expect(last.outcome).toBe('rolled-back');
    // The failed version's hash, so rollback's "previous" skips it, not the one serving again.
    const good = sandbox.store
      .list(kind('ReplicaSet'), 'shop')
      .items.find((rs) => rs.metadata.labels?.app === 'crash' && imageOf(rs) === 'ghcr.io/acme/crash:1');
    expect(last.templateHash).toBeDefined();
    expect(last.templateHash).not.toBe(good?.metadata.labels?.['pod-template-hash']);
  });

  it('rollout: the API failing every read after the last apply; the restore completes once it recovers', async () => {
    await serving('outage');
    let remove = (): void => undefined;
    let timer: NodeJS.Timeout | undefined;
    const runner = recordingRunner({
      rollout: {
        start: () => {
          remove = inject({ match: { method: 'GET' }, status: 500 });
          timer = setTimeout(() => remove(), 6000);
        },
      },
    });
    try {
      const outcome = await deploy('outage', {
        images: ['outage=ghcr.io/acme/outage:2'],
        deployment: 'outage',
        runner,
      });
      expect(outcome.ok).toBe(false);
      expect(outcome.failedPhase).toBe('rollout');
      expect(outcome.message).toContain('could not follow the rollout of outage');
      expect(outcome.message).toContain('Every change was put back');
      expect(runner.lines.some((l) => l.startsWith('undo: ') && l.includes('retrying after'))).toBe(true);
    } finally {
      clearTimeout(timer);
      remove();
    }
    expect(image('outage')).toBe('ghcr.io/acme/outage:1');
    expect(readyPodImages(sandbox, 'shop', 'outage')).toEqual(Array(3).fill('ghcr.io/acme/outage:1'));
    expect(historyOf(sandbox, 'shop', 'outage').at(-1)).toMatchObject({ outcome: 'rolled-back' });
  });

  it('books: a record write failing after a successful rollout is a warning, not a failure', async () => {
    await serving('books');
    let remove = (): void => undefined;
    const runner = recordingRunner({
      rollout: {
        end: () => {
          remove = inject({ match: { verb: 'patch', path: '/deployments/books' }, status: 500 });
        },
      },
    });
    try {
      const outcome = await deploy('books', {
        images: ['books=ghcr.io/acme/books:2'],
        deployment: 'books',
        runner,
      });
      expect(outcome.ok, outcome.message).toBe(true);
      expect(outcome.message).toBe('Rolled out books to revision 2');
      expect(runner.warnings.join('\n')).toContain(
        'The deployment record of books in shop could not be written',
      );
      expect(runner.warnings.join('\n')).toContain('The deploy itself succeeded');
    } finally {
      remove();
    }
    expect(image('books')).toBe('ghcr.io/acme/books:2');
    expect(readyPodImages(sandbox, 'shop', 'books')).toEqual(Array(3).fill('ghcr.io/acme/books:2'));
    // The record could not be written; the history could, and says the deploy succeeded.
    expect(recordPhase('books')).toBe('progressing');
    expect(historyOf(sandbox, 'shop', 'books').map((h) => h.outcome)).toEqual(['succeeded', 'succeeded']);
  });

  it('a failed first deploy has nothing to roll back to, and says so', async () => {
    const outcome = await deploy('fresh', {
      files: app('fresh', 'ghcr.io/acme/fresh:1', { SANDBOX_CRASH: 'true' }),
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.failedPhase).toBe('rollout');
    expect(outcome.message).toContain('fresh had no earlier revision to roll back to (first deploy)');
    expect(outcome.rolledBack).toBe(false);
    expect(recordPhase('fresh')).toBe('failed');
    expect(historyOf(sandbox, 'shop', 'fresh')).toMatchObject([{ outcome: 'failed' }]);
  });
});

/** A gate of checks that need no Prometheus: a command `true` passes, `false` fails. */
function commandGate(checks: string, durationMs = 1000): VerifyGate {
  const parsed = parseChecks(parse(checks) as unknown, { namespace: 'shop' });
  expect(parsed.problems).toEqual([]);
  return { checks: parsed.checks, durationMs, intervalMs: 250 };
}

interface GatedRecord {
  phase: string;
  gate?: { verdict: string; passed: boolean; checks: { name: string; verdict: string }[] };
}

function recordOf(name: string): GatedRecord {
  const raw = live(sandbox, 'Deployment', 'shop', name)?.metadata.annotations?.['cd-actions.dev/record'];
  return JSON.parse(raw ?? '{}') as GatedRecord;
}

describe('deploy-rolling verify phase (checks after the rollout)', () => {
  it('checks that pass: the deploy succeeds, and the record and history keep the verdict', async () => {
    await serving('vpass');
    const outcome = await deploy('vpass', {
      images: ['vpass=ghcr.io/acme/vpass:2'],
      deployment: 'vpass',
      gate: commandGate('- { kind: command, name: smoke, command: ["true"] }'),
    });
    expect(outcome.ok, outcome.message).toBe(true);
    expect(outcome.gate?.verdict).toBe('pass');
    expect(outcome.message).toMatch(/^Rolled out vpass to revision 2; checks pass: /);
    expect(image('vpass')).toBe('ghcr.io/acme/vpass:2');
    expect(recordOf('vpass')).toMatchObject({
      phase: 'succeeded',
      gate: { verdict: 'pass', passed: true, checks: [{ name: 'smoke', verdict: 'pass' }] },
    });
    expect(historyOf(sandbox, 'shop', 'vpass').at(-1)).toMatchObject({
      outcome: 'succeeded',
      gate: { verdict: 'pass' },
    });
    const summary = rollingSummary({ app: 'vpass', namespace: 'shop', outcome, durationMs: 1000 });
    expect(summary).toContain('**Checks after the rollout:** pass');
    expect(summary).toContain('Health gate: ✅ pass');
  });

  it('a check that fails: the new version is rolled back to the previous revision, naming the check', async () => {
    await serving('vfail');
    const outcome = await deploy('vfail', {
      images: ['vfail=ghcr.io/acme/vfail:2'],
      deployment: 'vfail',
      gate: commandGate(
        '- { kind: command, name: smoke, command: ["true"] }\n- { kind: command, name: orders-e2e, command: ["false"], critical: true }',
      ),
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.failedPhase).toBe('verify');
    expect(outcome.rolledBack).toBe(true);
    expect(outcome.gate?.verdict).toBe('fail');
    expect(outcome.message).toContain(
      'the new version (vfail revision 2) rolled out but did not pass its checks: check(s) "orders-e2e" failed',
    );
    expect(outcome.message).toContain('Every change was put back');
    expect(image('vfail')).toBe('ghcr.io/acme/vfail:1');
    expect(readyPodImages(sandbox, 'shop', 'vfail')).toEqual(Array(3).fill('ghcr.io/acme/vfail:1'));
    expect(recordOf('vfail')).toMatchObject({
      phase: 'rolled-back',
      gate: { verdict: 'fail', passed: false },
    });
    const last = historyOf(sandbox, 'shop', 'vfail').at(-1) as { outcome: string; templateHash?: string };
    expect(last).toMatchObject({ outcome: 'rolled-back', gate: { verdict: 'fail' } });
    // The version that failed its checks, so rollback's "previous" skips it.
    const bad = sandbox.store
      .list(kind('ReplicaSet'), 'shop')
      .items.find((rs) => rs.metadata.labels?.app === 'vfail' && imageOf(rs) === 'ghcr.io/acme/vfail:2');
    expect(last.templateHash).toBe(bad?.metadata.labels?.['pod-template-hash']);
  });

  it('checks still inconclusive at the end fail too (on-inconclusive: fail)', async () => {
    await serving('vholds');
    const outcome = await deploy('vholds', {
      images: ['vholds=ghcr.io/acme/vholds:2'],
      deployment: 'vholds',
      // A Prometheus nobody listens at: every sample has no data, so no verdict.
      gate: commandGate(
        '- { kind: prometheus, name: slow, query: "sum(up)", condition: "> 0", prometheus-url: "http://127.0.0.1:9" }',
      ),
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.gate?.verdict).toBe('inconclusive');
    expect(outcome.message).toContain(
      'the checks were inconclusive (on-inconclusive: fail; no verdict from "slow")',
    );
    expect(image('vholds')).toBe('ghcr.io/acme/vholds:1');
  });

  it('a cancel while the checks run rolls back too', async () => {
    await serving('vcancel');
    const cancel = new AbortController();
    const runner = recordingRunner({
      verify: { start: () => setTimeout(() => cancel.abort(new Error('cancelled by SIGINT')), 300) },
    });
    const outcome = await deploy('vcancel', {
      images: ['vcancel=ghcr.io/acme/vcancel:2'],
      deployment: 'vcancel',
      gate: commandGate('- { kind: command, name: smoke, command: ["true"] }', 10_000),
      signal: cancel.signal,
      runner,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.cancelled).toBe(true);
    expect(outcome.failedPhase).toBe('verify');
    expect(outcome.rolledBack).toBe(true);
    expect(image('vcancel')).toBe('ghcr.io/acme/vcancel:1');
    expect(readyPodImages(sandbox, 'shop', 'vcancel')).toEqual(Array(3).fill('ghcr.io/acme/vcancel:1'));
    expect(recordOf('vcancel')).toMatchObject({ phase: 'rolled-back', gate: { verdict: 'inconclusive' } });
  });

  it('a check naming a Deployment that is neither deployed nor in the cluster fails before any write', async () => {
    await serving('vpre');
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    await expect(
      deploy('vpre', {
        images: ['vpre=ghcr.io/acme/vpre:2'],
        deployment: 'vpre',
        gate: commandGate('- { kind: pods, deployment: nowhere }'),
      }),
    ).rejects.toThrow(
      /^Input "checks": check "pods-nowhere": Deployment shop\/nowhere not found; nothing was changed$/,
    );
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
    expect(image('vpre')).toBe('ghcr.io/acme/vpre:1');
  });
});
