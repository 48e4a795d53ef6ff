/**
 * deploy-blue-green's phases, in-process against the sandbox cluster: each test breaks one
 * request after the switch (the place the old hand-written code stranded traffic) and asserts
 * where the cluster's traffic really is afterwards.
 */
import { recordingRunner } from '../../testing/recording-runner.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { startSandbox, type Sandbox } from '../../../../sandbox/src/sandbox.js';
import {
  BLUE_GREEN_ROLE,
  deploymentManifest,
  FAST_TIMINGS,
  live,
  serviceManifest,
} from '../../../../../test/e2e/fixtures.js';
import { BlueGreenDeploy, type BlueGreenOptions, type BlueGreenOutcome } from './blue-green.js';
import type { RunContext } from '../../github/github.js';
import { createKube, type Kube } from '../../kube/kube.js';
import type { KubeObject } from '../../manifests/manifests.js';

let sandbox: Sandbox;
let kube: Kube;

const run: RunContext = {
  repository: 'acme/shop',
  sha: '3f786850e387550fdab836ed7e6dc881de23001b',
  ref: 'refs/heads/main',
  runId: '77',
  runAttempt: '1',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  actor: 'octocat',
  workflow: 'deploy',
};

function manifests(image: string): {
  deployment: KubeObject;
  others: { object: KubeObject; source: string }[];
} {
  const docs = parseAllDocuments(
    `${deploymentManifest({ image, replicas: 2 })}---\n${serviceManifest()}`,
  ).map((d) => d.toJS() as KubeObject);
  return { deployment: docs[0]!, others: [{ object: docs[1]!, source: 'k8s/app.yaml' }] };
}

async function deploy(image: string, extra: Partial<BlueGreenOptions> = {}): Promise<BlueGreenOutcome> {
  const { deployment, others } = manifests(image);
  return new BlueGreenDeploy({
    kube,
    namespace: 'shop',
    app: 'web',
    service: 'web',
    colorLabel: 'version',
    route: 'service',
    deployment,
    others,
    images: [],
    checkDefaults: {},
    preSwitchDurationMs: 0,
    verifyDurationMs: 0,
    checkIntervalMs: 250,
    keepPrevious: true,
    timeoutMs: 20_000,
    autoRollback: true,
    onCancel: 'rollback',
    lockWaitMs: 0,
    dryRun: false,
    run,
    signal: new AbortController().signal,
    runner: recordingRunner(),
    ...extra,
  }).run();
}

function selectedColor(): string | undefined {
  const service = live(sandbox, 'Service', 'shop', 'web');
  return (service as { spec?: { selector?: Record<string, string> } } | undefined)?.spec?.selector?.version;
}

function lease(): unknown {
  return live(sandbox, 'Lease', 'shop', 'cd-actions-lock-web');
}

beforeAll(async () => {
  sandbox = await startSandbox({ rps: 0, timings: FAST_TIMINGS, namespaces: ['shop'] });
  kube = await createKube(
    { kubeconfig: sandbox.kubeconfigFor(BLUE_GREEN_ROLE), namespace: 'shop' },
    { env: {}, setSecret: () => undefined, warn: () => undefined },
  );
  expect((await deploy('ghcr.io/acme/web:1.0.0')).ok).toBe(true);
});
afterAll(async () => {
  await sandbox?.stop();
});
beforeEach(() => sandbox.faults.clear());

/** Each test starts from blue live; a healthy deploy flips the colour, so flip back when green serves. */
async function blueLive(): Promise<void> {
  if (selectedColor() === 'green') expect((await deploy('ghcr.io/acme/web:1.0.0')).ok).toBe(true);
  expect(selectedColor()).toBe('blue');
}

describe('blue-green phases on the engine', () => {
  it('verify: EndpointSlices answering 403 after the switch → switched back, phase named, traffic said', async () => {
    await blueLive();
    sandbox.faults.add({
      target: 'api',
      match: { verb: 'list', path: 'endpointslices' },
      after: { verb: 'update', path: '/services/web' },
      status: 403,
      times: 1,
    });
    const outcome = await deploy('ghcr.io/acme/web:2.0.0');
    expect(outcome.ok).toBe(false);
    expect(outcome.failedPhase).toBe('verify');
    expect(outcome.rolledBack).toBe(true);
    expect(selectedColor()).toBe('blue');
    expect(outcome.message).toContain('Traffic: blue serves all traffic');
    expect(lease()).toBeUndefined();
  });

  it('switch: the write stored, then its connection dropped → read back, undone, and the message is true', async () => {
    await blueLive();
    sandbox.faults.add({
      target: 'api',
      match: { verb: 'update', path: '/services/web' },
      dropAfterServe: true,
      times: 1,
    });
    const outcome = await deploy('ghcr.io/acme/web:2.0.0');
    expect(outcome.ok).toBe(false);
    expect(outcome.failedPhase).toBe('switch');
    expect(outcome.switched).toBe(true);
    expect(outcome.rolledBack).toBe(true);
    expect(selectedColor()).toBe('blue');
    expect(outcome.timeline.map((t) => t.text).join('\n')).toContain('but green is what the route now holds');
  });

  it('switch: the write dropped before it was stored → retried (a preconditioned PUT is safe to repeat) and the switch goes through', async () => {
    await blueLive();
    sandbox.faults.add({
      target: 'api',
      match: { verb: 'update', path: '/services/web' },
      name: 'switch-dropped',
      dropBeforeServe: true,
      times: 1,
    });
    const outcome = await deploy('ghcr.io/acme/web:2.0.0');
    expect(outcome.ok, outcome.message).toBe(true);
    expect(sandbox.faults.hits.map((h) => h.name)).toContain('switch-dropped');
    expect(selectedColor()).toBe('green');
  });

  it('the switch back meets a 409 and a 500 first → retried until blue serves again', async () => {
    await blueLive();
    sandbox.faults.add({
      target: 'api',
      match: { verb: 'list', path: 'endpointslices' },
      after: { verb: 'update', path: '/services/web' },
      status: 403,
      times: 1,
    });
    // The first write after the switch is the switch back: answer it 409, then 500.
    sandbox.faults.add({
      target: 'api',
      match: { verb: 'update', path: '/services/web' },
      nth: 2,
      name: 'switch-back-conflict',
      conflict: true,
    });
    sandbox.faults.add({
      target: 'api',
      match: { verb: 'update', path: '/services/web' },
      nth: 3,
      name: 'switch-back-error',
      status: 500,
    });
    const outcome = await deploy('ghcr.io/acme/web:2.0.0');
    expect(outcome.ok).toBe(false);
    expect(outcome.rolledBack).toBe(true);
    expect(selectedColor()).toBe('blue');
    expect(outcome.message).toContain('Every change was put back');
    expect(sandbox.faults.hits.map((h) => h.name)).toEqual(
      expect.arrayContaining(['switch-back-conflict', 'switch-back-error']),
    );
  });

  it('a record write failing after a healthy switch is a warning, not a failed deploy', async () => {
    await blueLive();
    const runner = recordingRunner();
    sandbox.faults.add({
      target: 'api',
      match: { verb: 'patch', path: '/configmaps/cd-actions-history-web' },
      status: 500,
    });
    const outcome = await deploy('ghcr.io/acme/web:2.0.0', { runner });
    sandbox.faults.clear();
    expect(outcome.ok).toBe(true);
    expect(selectedColor()).toBe('green');
    expect(runner.warnings.join('\n')).toContain('could not be written');
  });

  it('a cancel during the post-switch gate switches back; with on-cancel leave it stays', async () => {
    await blueLive();
    const cancel = new AbortController();
    const outcome = await deploy('ghcr.io/acme/web:2.0.0', {
      signal: cancel.signal,
      postSwitchChecks: [{ kind: 'pods', deployment: '${deployment}' }],
      verifyDurationMs: 30_000,
      runner: recordingRunner({
        'post-switch': { start: () => setTimeout(() => cancel.abort(new Error('SIGINT')), 100) },
      }),
    });
    expect(outcome).toMatchObject({
      ok: false,
      cancelled: true,
      failedPhase: 'post-switch',
      rolledBack: true,
    });
    expect(selectedColor()).toBe('blue');
  });
});
