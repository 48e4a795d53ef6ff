/**
 * The rolling rollback's phases, run in-process against the sandbox cluster, with faults injected
 * at its API server. Every test asserts what the cluster holds afterwards.
 */
import { recordingRunner } from '../testing/recording-runner.js';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Sandbox } from '../../../sandbox/src/sandbox.js';
import {
  DEPLOYER_ROLE,
  deploymentManifest,
  imageOf,
  kind,
  live,
  readyPodImages,
  startTestSandbox,
} from '../../../../test/e2e/fixtures.js';
import type { RunContext } from '../github/github.js';
import { createKube, type Kube } from '../kube/kube.js';
import { KubeObjects } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import { RECORD_ANNOTATION } from '../record/record.js';
import { rollback, RollbackInputError, type RollbackOptions } from './rollback.js';
import { rollbackSummary } from './summary.js';
import { parseChecks } from '../gate/parse.js';
import type { VerifyGate } from '../strategies/rolling/gate.js';

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
  deployer = await createKube({ kubeconfig: sandbox.kubeconfigFor(DEPLOYER_ROLE), namespace: 'shop' }, quiet);
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
  runId: '4300',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  actor: 'oncall-ana',
  workflow: 'rollback',
};

function options(extra: Partial<RollbackOptions>, runner = recordingRunner()): RollbackOptions {
  return {
    kube: deployer,
    namespace: 'shop',
    toRevision: 'previous',
    dryRun: false,
    timeoutMs: 15_000,
    run: RUN,
    signal: new AbortController().signal,
    runner,
    ...extra,
  };
}

/** Polls the store (what the cluster holds) until `probe` holds; a loose bound only against hanging. */
async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface DeploymentView {
  metadata: { generation?: number; annotations?: Record<string, string> };
  spec: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

function rolledOut(name: string): boolean {
  const d = live(sandbox, 'Deployment', 'shop', name) as unknown as DeploymentView | undefined;
  const want = d?.spec.replicas ?? 1;
  const s = d?.status ?? {};
  return (
    (s.observedGeneration ?? 0) >= (d?.metadata.generation ?? 1) &&
    s.updatedReplicas === want &&
    s.availableReplicas === want &&
    s.replicas === want
  );
}

/** Deploys each version of Deployment `name` in turn (revisions 1, 2, ...), as kubectl apply would. */
async function revisions(
  name: string,
  versions: { image: string; env?: Record<string, string>; ready?: boolean }[],
): Promise<void> {
  for (const v of versions) {
    const manifest = parse(
      deploymentManifest({ name, image: v.image, env: v.env, replicas: 2, namespace: 'shop' }),
    ) as KubeObject;
    await admin.apply(manifest);
    if (v.ready !== false) await until(`${name} to roll out ${v.image}`, () => rolledOut(name));
    else
      await until(
        `${name} to start ${v.image}`,
        () => imageOf(live(sandbox, 'Deployment', 'shop', name)) === v.image,
      );
  }
}

function setRecord(name: string, record: Record<string, unknown>): void {
  const d = live(sandbox, 'Deployment', 'shop', name)!;
  d.metadata.annotations = { ...d.metadata.annotations, [RECORD_ANNOTATION]: JSON.stringify(record) };
  sandbox.store.update(kind('Deployment'), d);
}

function recordOf(name: string): Record<string, unknown> {
  return JSON.parse(
    live(sandbox, 'Deployment', 'shop', name)?.metadata.annotations?.[RECORD_ANNOTATION] ?? '{}',
  ) as Record<string, unknown>;
}

function historyOf(app: string): Record<string, unknown>[] {
  const cm = live(sandbox, 'ConfigMap', 'shop', `cd-actions-history-${app}`) as
    { data?: Record<string, string> } | undefined;
  return Object.entries(cm?.data ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, text]) => JSON.parse(text) as Record<string, unknown>);
}

describe('rolling rollback', () => {
  it('a restore whose answer is lost after the server stored it: read back, the rollback goes on and succeeds', async () => {
    await revisions('lost', [{ image: 'ghcr.io/acme/api:1.0.0' }, { image: 'ghcr.io/acme/api:2.0.0' }]);
    sandbox.faults.add({
      target: 'api',
      name: 'restore-dropped',
      match: { verb: 'patch', path: /\/deployments\/lost$/ },
      dropAfterServe: true,
      times: 1,
    });
    const runner = recordingRunner();
    const outcome = await rollback(options({ deployment: 'lost' }, runner));

    expect(sandbox.faults.hits.filter((h) => h.name === 'restore-dropped')).toHaveLength(1);
    expect(outcome.ok, outcome.message).toBe(true);
    expect(runner.lines.join('\n')).toMatch(
      /answer to the restore of revision 1's template on lost was lost .*read back, the cluster holds it/,
    );
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'lost'))).toBe('ghcr.io/acme/api:1.0.0');
    expect(readyPodImages(sandbox, 'shop', 'lost')).toEqual([
      'ghcr.io/acme/api:1.0.0',
      'ghcr.io/acme/api:1.0.0',
    ]);
    expect(outcome.toRevision).toBe('3');
    expect(historyOf('lost').at(-1)).toMatchObject({
      action: 'rollback',
      outcome: 'succeeded',
      revision: '3',
    });
    expect(recordOf('lost')).toMatchObject({ phase: 'rolled-back', stable: { revision: '3' } });
    expect(live(sandbox, 'Lease', 'shop', 'cd-actions-lock-lost')).toBeUndefined();
  });

  it('a restored revision that never becomes ready: the serving template is put back and the rollback fails', async () => {
    await revisions('stuck', [
      { image: 'ghcr.io/acme/api:1.0.0', env: { SANDBOX_NEVER_READY: 'true' }, ready: false },
      { image: 'ghcr.io/acme/api:2.0.0' },
    ]);
    const outcome = await rollback(options({ deployment: 'stuck', toRevision: '1', timeoutMs: 3000 }));

    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(
      /^Rollback of stuck to revision 1 failed in phase rollout: stuck did not become ready with revision 1's template: .*\. Every change was put back\. Traffic: Deployment shop\/stuck runs revision 4 \(ghcr\.io\/acme\/api:2\.0\.0\), 2\/2 available$/,
    );
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'stuck'))).toBe('ghcr.io/acme/api:2.0.0');
    expect(readyPodImages(sandbox, 'shop', 'stuck')).toEqual([
      'ghcr.io/acme/api:2.0.0',
      'ghcr.io/acme/api:2.0.0',
    ]);
    expect(recordOf('stuck')).toMatchObject({
      phase: 'failed',
      stable: { images: { stuck: 'ghcr.io/acme/api:2.0.0' } },
      candidate: { revision: '1' },
    });
    expect(historyOf('stuck').at(-1)).toMatchObject({ action: 'rollback', outcome: 'failed', to: '1' });
  });

  describe('a record still saying progressing: how that run ended was never written', () => {
    const unfinished = {
      strategy: 'rolling',
      phase: 'progressing',
      app: 'half',
      repository: 'acme/shop',
      runId: '999',
      runUrl: 'https://github.com/acme/shop/actions/runs/999',
      startedAt: '2025-01-01T00:00:00Z',
      updatedAt: '2025-01-01T00:00:00Z',
      commit: 'abc',
      actor: 'someone',
    };
    const lease = (holder: string) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'cd-actions-lock-half', namespace: 'shop' },
      spec: {
        holderIdentity: holder,
        leaseDurationSeconds: 120,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
      },
    });

    beforeAll(async () => {
      await revisions('half', [{ image: 'ghcr.io/acme/api:1.0.0' }, { image: 'ghcr.io/acme/api:2.0.0' }]);
      setRecord('half', unfinished);
    });

    it.each(['previous', 'last-successful'])(
      'to-revision %s refuses, naming the run, and changes nothing',
      async (toRevision) => {
        const writes = sandbox.audit.writes().length;
        const refused = await rollback(options({ app: 'half', toRevision })).catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(RollbackInputError);
        expect((refused as Error).message).toContain('https://github.com/acme/shop/actions/runs/999');
        expect((refused as Error).message).toContain('give a revision number instead');
        expect(sandbox.audit.writes().length).toBe(writes);
        expect(imageOf(live(sandbox, 'Deployment', 'shop', 'half'))).toBe('ghcr.io/acme/api:2.0.0');
      },
    );

    it('refuses too when another run holds the lock', async () => {
      sandbox.store.create(kind('Lease'), lease('acme/shop#555'));
      try {
        const refused = await rollback(options({ app: 'half' })).catch((e: unknown) => e);
        expect((refused as Error).message).toContain('does not hold lock cd-actions-lock-half');
      } finally {
        sandbox.store.delete(kind('Lease'), 'shop', 'cd-actions-lock-half');
      }
    });

    it('while that run still holds the lock, it is deploying: the lock answers, naming it', async () => {
      sandbox.store.create(kind('Lease'), lease('acme/shop#999'));
      try {
        const refused = await rollback(options({ app: 'half' })).catch((e: unknown) => e);
        expect(refused).not.toBeInstanceOf(RollbackInputError);
        expect((refused as Error).message).toMatch(/^Another run is deploying half in shop/);
      } finally {
        sandbox.store.delete(kind('Lease'), 'shop', 'cd-actions-lock-half');
      }
      expect(imageOf(live(sandbox, 'Deployment', 'shop', 'half'))).toBe('ghcr.io/acme/api:2.0.0');
    });

    it('a re-run after its first attempt was killed mid-deploy: under the lock it takes over, prepare refuses', async () => {
      setRecord('half', {
        ...unfinished,
        runId: '4300',
        runUrl: 'https://github.com/acme/shop/actions/runs/4300',
      });
      sandbox.store.create(kind('Lease'), {
        ...lease('acme/shop#4300'),
        metadata: {
          name: 'cd-actions-lock-half',
          namespace: 'shop',
          annotations: {
            'cd-actions.dev/lock-holder': JSON.stringify({
              identity: 'acme/shop#4300',
              repository: 'acme/shop',
              runId: '4300',
              attempt: '1',
              runUrl: 'https://github.com/acme/shop/actions/runs/4300',
              since: new Date().toISOString(),
            }),
          },
        },
      });
      const writes = sandbox.audit.writes().filter((e) => !e.path.includes('/leases')).length;
      const outcome = await rollback(options({ app: 'half', run: { ...RUN, runAttempt: '2' } }));
      expect(outcome.ok).toBe(false);
      expect(outcome.message).toMatch(
        /^Rollback of half to revision 1 failed in phase prepare: .*that run \(https:\/\/github\.com\/acme\/shop\/actions\/runs\/4300\).*give a revision number instead.*\. Nothing was changed\. Traffic: Deployment shop\/half runs revision 2 \(ghcr\.io\/acme\/api:2\.0\.0\), 2\/2 available$/,
      );
      expect(sandbox.audit.writes().filter((e) => !e.path.includes('/leases')).length).toBe(writes);
      expect(live(sandbox, 'Lease', 'shop', 'cd-actions-lock-half')).toBeUndefined();
    });

    it('a numbered revision still works', async () => {
      const outcome = await rollback(options({ app: 'half', toRevision: '1' }));
      expect(outcome.ok, outcome.message).toBe(true);
      expect(readyPodImages(sandbox, 'shop', 'half')).toEqual([
        'ghcr.io/acme/api:1.0.0',
        'ghcr.io/acme/api:1.0.0',
      ]);
      expect(recordOf('half')).toMatchObject({ phase: 'rolled-back', runId: '4300' });
    });
  });

  it("a canary in progress beside the app: refused, pointing to canary-step's abort, nothing written", async () => {
    await revisions('ramp', [{ image: 'ghcr.io/acme/api:1.0.0' }, { image: 'ghcr.io/acme/api:2.0.0' }]);
    // What canary-step leaves between two jobs: the canary serving 25%, its state in its record.
    sandbox.store.create(
      kind('Deployment'),
      parse(
        deploymentManifest({
          name: 'ramp-canary',
          image: 'ghcr.io/acme/api:3.0.0',
          replicas: 1,
          namespace: 'shop',
        }),
      ) as KubeObject,
    );
    setRecord('ramp-canary', {
      strategy: 'canary',
      phase: 'progressing',
      app: 'ramp',
      canary: {
        state: 'paused',
        route: { kind: 'replicas', name: 'ramp', service: 'ramp' },
        steps: [5, 25, 50, 100],
        history: [
          { weight: 5, at: '2025-01-01T00:00:00Z', verdict: 'pass', runId: '1' },
          { weight: 25, at: '2025-01-01T00:01:00Z', verdict: 'pass', runId: '1' },
        ],
        templateDigest: 'abc',
      },
    });
    const writes = sandbox.audit.writes().length;
    for (const given of [{ app: 'ramp' }, { deployment: 'ramp', toRevision: '1' }]) {
      const refused = await rollback(options(given)).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(RollbackInputError);
      expect((refused as RollbackInputError).input).toBe(given.app ? 'app' : 'deployment');
      expect((refused as Error).message).toMatch(
        /^A canary of ramp is paused at 25% \(Deployment ramp-canary, ghcr\.io\/acme\/api:3\.0\.0\).*canary-step with "action: abort".*Nothing was changed$/,
      );
    }
    expect(sandbox.audit.writes().length).toBe(writes);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'ramp'))).toBe('ghcr.io/acme/api:2.0.0');

    // Once the canary is aborted (its record says so), the rollback goes ahead.
    setRecord('ramp-canary', {
      ...recordOf('ramp-canary'),
      canary: { ...(recordOf('ramp-canary').canary as object), state: 'aborted' },
    });
    const outcome = await rollback(options({ app: 'ramp' }));
    expect(outcome.ok, outcome.message).toBe(true);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'ramp'))).toBe('ghcr.io/acme/api:1.0.0');
  });
});

/** Checks that need no Prometheus: a command `true` passes, `false` fails. */
function commandGate(command: string, durationMs = 1000): VerifyGate {
  const parsed = parseChecks([{ kind: 'command', name: 'smoke', command: [command], critical: true }], {
    namespace: 'shop',
  });
  expect(parsed.problems).toEqual([]);
  return { checks: parsed.checks, durationMs, intervalMs: 250 };
}

describe('rolling rollback with checks on the restored version', () => {
  it('checks that pass: rolled back, and the record and history keep the verdict', async () => {
    await revisions('gpass', [{ image: 'ghcr.io/acme/api:1.0.0' }, { image: 'ghcr.io/acme/api:2.0.0' }]);
    const outcome = await rollback(options({ deployment: 'gpass', gate: commandGate('true') }));
    expect(outcome.ok, outcome.message).toBe(true);
    expect(outcome.restored).toBe(true);
    expect(outcome.gate?.verdict).toBe('pass');
    expect(outcome.message).toMatch(/is serving; checks on it pass: /);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'gpass'))).toBe('ghcr.io/acme/api:1.0.0');
    expect(recordOf('gpass')).toMatchObject({
      phase: 'rolled-back',
      stable: { revision: '3' },
      gate: { verdict: 'pass', passed: true, checks: [{ name: 'smoke', verdict: 'pass' }] },
    });
    expect(historyOf('gpass').at(-1)).toMatchObject({
      action: 'rollback',
      outcome: 'succeeded',
      gate: { verdict: 'pass' },
    });
    expect(rollbackSummary(outcome, 'shop')).toContain('Health gate: ✅ pass');
  });

  it('checks that fail: the restored version stays serving (no flip-flop), the step fails saying so', async () => {
    await revisions('gfail', [{ image: 'ghcr.io/acme/api:1.0.0' }, { image: 'ghcr.io/acme/api:2.0.0' }]);
    const runner = recordingRunner();
    const outcome = await rollback(options({ deployment: 'gfail', gate: commandGate('false') }, runner));
    expect(outcome.ok).toBe(false);
    expect(outcome.restored).toBe(true);
    expect(outcome.toRevision).toBe('3');
    expect(outcome.gate?.verdict).toBe('fail');
    expect(outcome.message).toMatch(
      /^The rollback restored revision 1's template on gfail \(now revision 3, ghcr\.io\/acme\/api:1\.0\.0\), but the restored version did not verify: check\(s\) "smoke" failed \(.*\)\. There is nothing further to roll back to, so it stays serving \(not switched back to revision 2 \(ghcr\.io\/acme\/api:2\.0\.0\), the version rolled back from\)\. Traffic: Deployment shop\/gfail runs revision 3 \(ghcr\.io\/acme\/api:1\.0\.0\), 2\/2 available$/,
    );
    // Nothing was put back: no undo ran.
    expect(runner.lines.some((l) => l.startsWith('undo: '))).toBe(false);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'gfail'))).toBe('ghcr.io/acme/api:1.0.0');
    expect(readyPodImages(sandbox, 'shop', 'gfail')).toEqual([
      'ghcr.io/acme/api:1.0.0',
      'ghcr.io/acme/api:1.0.0',
    ]);
    const record = recordOf('gfail');
    expect(record).toMatchObject({
      phase: 'failed',
      candidate: { revision: '3', images: { gfail: 'ghcr.io/acme/api:1.0.0' } },
      gate: { verdict: 'fail', passed: false },
    });
    expect(record.stable).toBeUndefined();
    expect(historyOf('gfail').at(-1)).toMatchObject({
      action: 'rollback',
      outcome: 'failed',
      revision: '3',
      gate: { verdict: 'fail' },
    });
    expect(rollbackSummary(outcome, 'shop')).toContain(
      '⚠️ Rolled back, but the restored version did not verify: gfail in shop',
    );
    expect(live(sandbox, 'Lease', 'shop', 'cd-actions-lock-gfail')).toBeUndefined();
  });

  it('a cancel while the checks run leaves the restored version serving too', async () => {
    await revisions('gcancel', [{ image: 'ghcr.io/acme/api:1.0.0' }, { image: 'ghcr.io/acme/api:2.0.0' }]);
    const cancel = new AbortController();
    const runner = recordingRunner({
      checks: { start: () => setTimeout(() => cancel.abort(new Error('cancelled by SIGINT')), 300) },
    });
    const outcome = await rollback({
      ...options({ deployment: 'gcancel', gate: commandGate('true', 10_000) }, runner),
      signal: cancel.signal,
    });
    expect(outcome.ok).toBe(false);
    expect(outcome.restored).toBe(true);
    expect(outcome.message).toContain(
      'did not verify: the run was cancelled while its checks ran. There is nothing further to roll back to',
    );
    expect(runner.lines.some((l) => l.startsWith('undo: '))).toBe(false);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'gcancel'))).toBe('ghcr.io/acme/api:1.0.0');
    expect(recordOf('gcancel')).toMatchObject({ phase: 'cancelled', gate: { verdict: 'inconclusive' } });
  });

  it('a restored revision that never becomes ready is still put back: the checks never run', async () => {
    await revisions('gstuck', [
      { image: 'ghcr.io/acme/api:1.0.0', env: { SANDBOX_NEVER_READY: 'true' }, ready: false },
      { image: 'ghcr.io/acme/api:2.0.0' },
    ]);
    const outcome = await rollback(
      options({ deployment: 'gstuck', toRevision: '1', timeoutMs: 3000, gate: commandGate('true') }),
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.restored).toBe(false);
    expect(outcome.gate).toBeUndefined();
    expect(outcome.message).toContain('failed in phase rollout');
    expect(outcome.message).toContain('Every change was put back');
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'gstuck'))).toBe('ghcr.io/acme/api:2.0.0');
  });
});
