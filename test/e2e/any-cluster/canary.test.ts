/**
 * canary-step (plain Service, weights approximated by pod counts: the router every cluster has) on
 * any cluster: the committed bundle against the target's kubeconfig; the stable, the canary and
 * the record read back through the API.
 */
import { describe, expect } from 'vitest';
import type { ActionResult } from '../../../packages/sandbox/src/harness.js';
import {
  deploymentYaml,
  exists,
  readyImages,
  recordOf,
  runOn,
  serviceYaml,
  startLoad,
  templateImage,
  waitUntil,
} from './cluster.js';
import { check, useTarget, type Target } from './target.js';

const FILE = import.meta.filename;
let target: Target;

useTarget(FILE, async (started) => {
  target = started;
  await startLoad(target, 'web');
  const stable = await runOn(
    target,
    'deploy-rolling',
    {
      'k8s/app.yaml': `${deploymentYaml(target, { name: 'web', version: '1.0.0', replicas: 3 })}---\n${serviceYaml('web')}`,
    },
    { manifests: 'k8s/app.yaml' },
  );
  expect(stable.exitCode, stable.log).toBe(0);
});

function canary(
  version: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
  runner: Parameters<typeof runOn>[4] = {},
): Promise<ActionResult> {
  return runOn(
    target,
    'canary-step',
    { 'k8s/app.yaml': deploymentYaml(target, { name: 'web', version, replicas: 3, env }) },
    {
      manifests: 'k8s/app.yaml',
      route: 'replicas',
      'step-duration': '15s',
      'check-interval': '2s',
      'analysis-window': '15s',
      'scale-down-delay': '1s',
      ...(target.prometheus ? { 'prometheus-url': target.prometheus } : {}),
      ...inputs,
    },
    runner,
  );
}

async function canaryGone(): Promise<boolean> {
  const read = (): Promise<unknown> =>
    target.apps.readNamespacedDeployment({ name: 'web-canary', namespace: target.namespace });
  if (!(await exists(read))) return true;
  const deployment = await target.apps.readNamespacedDeployment({
    name: 'web-canary',
    namespace: target.namespace,
  });
  return (deployment.spec?.replicas ?? 0) === 0;
}

describe('canary-step on any cluster', () => {
  check(FILE, 'a healthy canary ramps 34 → 67 → 100 and is promoted into the stable', [], async () => {
    const result = await canary('2.0.0', { steps: '34,67,100' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.phase).toBe('promoted');
    expect(await templateImage(target, 'web')).toBe(target.image('2.0.0'));
    await waitUntil('the stable to serve 2.0.0 only', async () =>
      (await readyImages(target, 'web')).every((image) => image === target.image('2.0.0')),
    );
    expect(await canaryGone()).toBe(true);
    const stable = await target.apps.readNamespacedDeployment({ name: 'web', namespace: target.namespace });
    expect(recordOf(stable)).toMatchObject({
      strategy: 'canary',
      phase: 'succeeded',
      canary: { state: 'promoted' },
    });
    expect(result.summary).toContain('approximated by the replica counts');
  });

  check(
    FILE,
    'a canary answering errors is aborted at its first step and the stable keeps all traffic',
    ['prometheus'],
    async () => {
      const result = await canary('3.0.0', { steps: '34,67,100' }, { SANDBOX_ERROR_RATE: '0.5' });
      expect(result.exitCode, result.log).toBe(1);
      expect(result.outputs.phase).toBe('aborted');
      expect(await templateImage(target, 'web')).toBe(target.image('2.0.0'));
      await waitUntil('the canary to be scaled away', canaryGone);
      expect((await readyImages(target, 'web')).every((image) => image === target.image('2.0.0'))).toBe(true);
    },
  );

  check(
    FILE,
    'an abort from another run while a step runs: that run stops at once and the stable keeps all traffic',
    [],
    async () => {
      let stepRunning!: () => void;
      const inStep = new Promise<void>((resolve) => (stepRunning = resolve));
      let output = '';
      // A step only the abort can end.
      const ramp = canary(
        '4.0.0',
        { steps: '34,67,100', 'step-duration': '10m', timeout: '3m' },
        {},
        {
          onOutput: (text) => {
            output += text;
            if (output.includes('::group::step 34')) stepRunning();
          },
        },
      );
      await Promise.race([
        inStep,
        ramp.then((r) => Promise.reject(new Error(`the ramp ended first:\n${r.log}`))),
      ]);
      const abort = await runOn(
        target,
        'canary-step',
        {},
        { app: 'web', action: 'abort', timeout: '3m' },
        { env: { GITHUB_RUN_ID: '5151' } },
      );
      const ran = await ramp;
      expect(ran.exitCode, ran.log).toBe(1);
      expect(ran.outputs).toMatchObject({ phase: 'aborted', 'failed-phase': 'step 34' });
      expect(ran.errors.join('\n')).toContain('run 5151');
      expect(abort.exitCode, abort.log).toBe(1);
      expect(abort.errors.join('\n')).toContain('aborted as asked, by');
      expect(await templateImage(target, 'web')).toBe(target.image('2.0.0'));
      await waitUntil('the canary to be scaled away', canaryGone);
      expect((await readyImages(target, 'web')).every((image) => image === target.image('2.0.0'))).toBe(true);
    },
  );
});
