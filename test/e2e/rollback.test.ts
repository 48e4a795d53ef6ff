/** rollback end to end: reads the record and history from the cluster, restores, records who and why. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import {
  CANARY_ROLE,
  DEPLOYER_ROLE,
  deploymentManifest,
  imageOf,
  kind,
  live,
  serviceManifest,
  readyPodImages,
  startTestSandbox,
  workspace,
  historyOf,
  type HistoryEntryView,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  kubeconfig = sandbox.kubeconfigFor(DEPLOYER_ROLE);
  // Three good versions, deployed as a pipeline would, then one that failed and was rolled back.
  for (const [version, env] of [
    ['1.0.0', {}],
    ['2.0.0', {}],
    ['3.0.0', {}],
    ['4.0.0', { SANDBOX_CRASH: 'true' }],
  ] as const) {
    const ws = await workspace({
      'app.yaml': deploymentManifest({ name: 'api', image: `ghcr.io/acme/api:${version}`, env }),
    });
    const result = await runAction({
      action: 'deploy-rolling',
      cwd: ws,
      inputs: { kubeconfig, namespace: 'shop', manifests: 'app.yaml', app: 'shop-api' },
    });
    expect(result.exitCode, result.log).toBe(version === '4.0.0' ? 1 : 0);
  }
});
afterAll(async () => sandbox?.stop());

function rollback(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionResult> {
  return runAction({
    action: 'rollback',
    inputs: { kubeconfig, namespace: 'shop', ...inputs },
    env,
    timeoutMs: 60_000,
  });
}

function history(): HistoryEntryView[] {
  return historyOf(sandbox, 'shop', 'shop-api');
}

describe('rollback', () => {
  it('dry run prints the history and what would change, and changes nothing', async () => {
    const writes = sandbox.audit.writes().length;
    const result = await rollback({ app: 'shop-api', 'dry-run': 'true' });
    expect(result.exitCode, result.log).toBe(0);
    expect(sandbox.audit.writes().length).toBe(writes);
    expect(result.summary).toContain('🧪 Rollback dry run: api in shop');
    expect(result.summary).toContain('History of shop-api');
    expect(result.summary).toMatch(
      /\| deploy \| \d+ \| ghcr.io\/acme\/api:3.0.0 \| 3f78685 \| \[run\]\(https:\/\/github.com\/acme\/shop\/actions\/runs\/4242\) \| succeeded/,
    );
    expect(result.summary).toContain('rolled-back');
    expect(result.outputs['from-revision']).toBe('5');
    expect(JSON.parse(result.outputs.images!)).toEqual({ api: 'ghcr.io/acme/api:2.0.0' });
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'api'))).toBe('ghcr.io/acme/api:3.0.0');
  });

  it('rolls back to the previous revision, found from the app name alone, and records who and why', async () => {
    const result = await rollback(
      { app: 'shop-api', reason: 'checkout errors after 3.0.0' },
      { GITHUB_ACTOR: 'oncall-ana' },
    );
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs['from-revision']).toBe('5');
    expect(result.outputs['to-revision']).toBe('6');
    expect(JSON.parse(result.outputs.images!)).toEqual({ api: 'ghcr.io/acme/api:2.0.0' });
    expect(readyPodImages(sandbox, 'shop', 'api')).toEqual(Array(3).fill('ghcr.io/acme/api:2.0.0'));
    expect(history().at(-1)).toMatchObject({
      action: 'rollback',
      outcome: 'succeeded',
      from: '5',
      reason: 'checkout errors after 3.0.0',
      actor: 'oncall-ana',
    });
    expect(result.summary).toContain('↩️ Rolled back: api in shop');
  });

  it('goes to a numbered revision', async () => {
    const result = await rollback({ deployment: 'api', 'to-revision': '1' });
    expect(result.exitCode, result.log).toBe(0);
    expect(readyPodImages(sandbox, 'shop', 'api')).toEqual(Array(3).fill('ghcr.io/acme/api:1.0.0'));
  });

  it('goes to the last successful deploy from the history', async () => {
    const result = await rollback({ app: 'shop-api', 'to-revision': 'last-successful' });
    expect(result.exitCode, result.log).toBe(0);
    // The last deploy that succeeded was 3.0.0 (4.0.0 crashed and was rolled back).
    expect(readyPodImages(sandbox, 'shop', 'api')).toEqual(Array(3).fill('ghcr.io/acme/api:3.0.0'));
  });

  it('names the revisions that exist when asked for one that does not', async () => {
    const result = await rollback({ deployment: 'api', 'to-revision': '99' });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(/revisions that exist: \d+ \(ghcr.io\/acme\/api:/);
  });
});

describe('rollback of a canary-promoted app', () => {
  const app = 'orders';
  const old = 'ghcr.io/acme/orders:1.0.0';
  const promoted = 'ghcr.io/acme/orders:2.0.0';

  beforeAll(async () => {
    // A stable app deployed by other means: a Deployment and its Service, serving 1.0.0.
    sandbox.store.create(
      kind('Deployment'),
      parse(deploymentManifest({ name: app, namespace: 'shop', image: old, replicas: 3 })) as KubeObject,
    );
    sandbox.store.create(kind('Service'), {
      ...(parse(serviceManifest(app)) as KubeObject),
      metadata: { name: app, namespace: 'shop' },
    });
    await vi.waitFor(() => expect(readyPodImages(sandbox, 'shop', app)).toEqual(Array(3).fill(old)), {
      timeout: 20_000,
      interval: 100,
    });
  });

  it('after canary-step promoted 2.0.0, restores the revision before it, and says it was promoted by canary-step', async () => {
    const canary = await runAction({
      action: 'canary-step',
      inputs: {
        kubeconfig: sandbox.kubeconfigFor(CANARY_ROLE),
        namespace: 'shop',
        app,
        images: `${app}=${promoted}`,
        steps: '50,100',
        'step-duration': '1s',
        'check-interval': '250ms',
      },
      timeoutMs: 120_000,
    });
    expect(canary.exitCode, canary.log).toBe(0);
    expect(canary.outputs.phase).toBe('promoted');
    // No report-path: the report is a file of its own in RUNNER_TEMP.
    expect(canary.leftovers).toEqual([expect.stringMatching(/^canary-step-4242-\d+\.json$/)]);
    expect(canary.outputs.report!.endsWith(canary.leftovers[0]!)).toBe(true);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', app))).toBe(promoted);
    expect(live(sandbox, 'Deployment', 'shop', `${app}-canary`)).toBeUndefined();
    expect(historyOf(sandbox, 'shop', app).at(-1)).toMatchObject({
      action: 'deploy',
      strategy: 'canary',
      outcome: 'succeeded',
    });

    const result = await rollback({ app, reason: 'orders 2.0.0 double-charges' });
    expect(result.exitCode, result.log).toBe(0);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', app))).toBe(old);
    expect(readyPodImages(sandbox, 'shop', app)).toEqual(Array(3).fill(old));
    expect(JSON.parse(result.outputs.images!)).toEqual({ [app]: old });
    expect(historyOf(sandbox, 'shop', app).at(-1)).toMatchObject({
      action: 'rollback',
      strategy: 'canary',
      outcome: 'succeeded',
      deployment: app,
      reason: 'orders 2.0.0 double-charges',
      images: { [app]: old },
    });
    expect(result.log).toContain(`${app} was promoted by canary-step`);
    expect(result.summary).toMatch(
      /Rolled orders back from revision \d+ \(promoted by canary-step\) to revision \d+'s template/,
    );
    expect(result.summary).toContain(`↩️ Rolled back: ${app} in shop`);
  });
});
