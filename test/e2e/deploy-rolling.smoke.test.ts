import { afterAll, beforeAll, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { runAction } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { deploymentManifest, serviceManifest, startTestSandbox, workspace } from './fixtures.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => sandbox?.stop());

it('deploys', async () => {
  const ws = await workspace({ 'k8s/app.yaml': `${deploymentManifest()}---\n${serviceManifest()}` });
  const result = await runAction({
    action: 'deploy-rolling',
    cwd: ws,
    inputs: { kubeconfig: await readFile(sandbox.kubeconfig, 'utf8'), namespace: 'shop', manifests: 'k8s/*.yaml', timeout: '30s' },
    timeoutMs: 60_000,
  });
  console.log(result.log, result.outputs, result.summary);
  expect(result.exitCode).toBe(0);
});
