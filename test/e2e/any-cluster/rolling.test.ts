/**
 * deploy-rolling and rollback on any cluster: the committed bundles, run as the runner runs them,
 * against the target's kubeconfig; every outcome read back through the Kubernetes API.
 */
import { describe, expect } from 'vitest';
import type { ActionResult } from '../../../packages/sandbox/src/harness.js';
import { DEPLOYER_ROLE } from '../fixtures.js';
import {
  deploymentYaml,
  exists,
  historyOf,
  readyImages,
  recordOf,
  runOn,
  serviceYaml,
  startLoad,
  templateImage,
} from './cluster.js';
import { check, useTarget, type Target } from './target.js';

const FILE = import.meta.filename;
let target: Target;

useTarget(FILE, async (started) => {
  target = started;
  await startLoad(target, 'web');
});

function app(version: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    'k8s/app.yaml': `${deploymentYaml(target, { name: 'web', version, env })}---\n${serviceYaml('web')}`,
  };
}

function run(
  action: 'deploy-rolling' | 'rollback',
  files: Record<string, string>,
  inputs: Record<string, string | undefined>,
): Promise<ActionResult> {
  return runOn(target, action, files, inputs);
}

/** What 5xx share the app's own version answered over the last 10 s, as Prometheus sees it. */
function errorRateCheck(version: string): string {
  const selector = `namespace="${target.namespace}",service="web",version="${version}"`;
  return `- kind: prometheus
  name: error-rate
  query: (sum(rate(http_requests_total{${selector},code=~"5.."}[10s])) or vector(0)) / sum(rate(http_requests_total{${selector}}[10s]))
  requests-query: sum(increase(http_requests_total{${selector}}[10s]))
  min-requests: 10
  condition: "< 0.05"
`;
}

describe('deploy-rolling and rollback, on any cluster', () => {
  check(
    FILE,
    'a first deploy creates the app, records it in the cluster and releases its lock',
    [],
    async () => {
      const result = await run('deploy-rolling', app('1.0.0'), { manifests: 'k8s/app.yaml' });
      expect(result.exitCode, result.log).toBe(0);
      expect(result.outputs).toMatchObject({ revision: '1', 'rolled-back': 'false' });
      expect(await readyImages(target, 'web')).toEqual([target.image('1.0.0'), target.image('1.0.0')]);
      const deployment = await target.apps.readNamespacedDeployment({
        name: 'web',
        namespace: target.namespace,
      });
      expect(recordOf(deployment)).toMatchObject({ strategy: 'rolling', phase: 'succeeded', app: 'web' });
      expect(await historyOf(target, 'web')).toMatchObject([{ action: 'deploy', outcome: 'succeeded' }]);
      expect(
        await exists(() =>
          target.custom.getNamespacedCustomObject({
            group: 'coordination.k8s.io',
            version: 'v1',
            namespace: target.namespace,
            plural: 'leases',
            name: 'cd-actions-lock-web',
          }),
        ),
      ).toBe(false);
    },
  );

  check(
    FILE,
    'a version that never becomes ready fails the job and is rolled back to the serving one',
    [],
    async () => {
      const result = await run('deploy-rolling', app('2.0.0', { SANDBOX_NEVER_READY: 'true' }), {
        manifests: 'k8s/app.yaml',
        timeout: '30s',
      });
      expect(result.exitCode, result.log).toBe(1);
      expect(result.outputs['rolled-back']).toBe('true');
      expect(await templateImage(target, 'web')).toBe(target.image('1.0.0'));
      expect(await readyImages(target, 'web')).toEqual([target.image('1.0.0'), target.image('1.0.0')]);
      expect((await historyOf(target, 'web')).at(-1)).toMatchObject({
        action: 'deploy',
        outcome: 'rolled-back',
      });
    },
  );

  check(
    FILE,
    'a healthy new version passes its Prometheus check after the rollout',
    ['prometheus'],
    async () => {
      const result = await run('deploy-rolling', app('2.0.0'), {
        manifests: 'k8s/app.yaml',
        checks: errorRateCheck('2.0.0'),
        'prometheus-url': target.prometheus,
        'initial-delay': '10s',
        'verify-duration': '15s',
        'check-interval': '2s',
      });
      expect(result.exitCode, result.log).toBe(0);
      expect(result.outputs.verdict).toBe('pass');
      expect(await readyImages(target, 'web')).toEqual([target.image('2.0.0'), target.image('2.0.0')]);
    },
  );

  check(FILE, 'a version that answers 500s fails its check and is rolled back', ['prometheus'], async () => {
    const result = await run('deploy-rolling', app('3.0.0', { SANDBOX_ERROR_RATE: '1' }), {
      manifests: 'k8s/app.yaml',
      checks: errorRateCheck('3.0.0'),
      'prometheus-url': target.prometheus,
      'initial-delay': '10s',
      'verify-duration': '30s',
      'check-interval': '2s',
    });
    expect(result.exitCode, result.log).toBe(1);
    expect(result.outputs).toMatchObject({ verdict: 'fail', 'rolled-back': 'true' });
    expect(await templateImage(target, 'web')).not.toBe(target.image('3.0.0'));
    expect((await readyImages(target, 'web')).every((image) => image !== target.image('3.0.0'))).toBe(true);
  });

  check(FILE, 'rollback puts the previous revision back and says which', [], async () => {
    const before = await templateImage(target, 'web');
    const result = await run('rollback', {}, { app: 'web', reason: 'e2e on any cluster' });
    expect(result.exitCode, result.log).toBe(0);
    const after = await templateImage(target, 'web');
    expect(after).not.toBe(before);
    expect(await readyImages(target, 'web')).toEqual([after, after]);
    expect(Number(result.outputs['to-revision'])).toBeGreaterThan(0);
    expect((await historyOf(target, 'web')).at(-1)).toMatchObject({
      action: 'rollback',
      outcome: 'succeeded',
    });
  });

  check(FILE, "deploys with no more rights than the README's Role", ['sandbox-tokens'], async () => {
    const limited = target.sandbox!.kubeconfigFor({ ...DEPLOYER_ROLE, namespaces: [target.namespace] });
    const result = await run('deploy-rolling', app('3.0.0'), {
      manifests: 'k8s/app.yaml',
      kubeconfig: limited,
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(await readyImages(target, 'web')).toEqual([target.image('3.0.0'), target.image('3.0.0')]);
  });
});
