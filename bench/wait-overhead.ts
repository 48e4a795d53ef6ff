/**
 * Wait overhead of deploy-rolling: from the moment the sandbox marks a rollout complete to the
 * moment the action's process exits, beside `kubectl rollout status` and a 10 s polling loop
 * watching the same rollouts in the same run.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runAction } from '../packages/sandbox/src/harness.js';
import { RESOURCE_TYPES } from '../packages/sandbox/src/resources.js';
import { startSandbox } from '../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../packages/sandbox/src/store.js';
import { median, printTable } from './measure.js';

const RUNS = Number(process.env.BENCH_WAIT_RUNS ?? 20);
const POLL_MS = 10_000;
const deployments = RESOURCE_TYPES.find((t) => t.kind === 'Deployment')!;

interface DeploymentLike extends KubeObject {
  spec: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
  };
}

function complete(d: DeploymentLike): boolean {
  const s = d.status ?? {};
  const want = d.spec.replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    s.updatedReplicas === want &&
    s.replicas === want &&
    s.availableReplicas === want
  );
}

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 120_000 }, () => resolve(performance.now())),
  );
}

export async function waitOverhead(): Promise<void> {
  const sandbox = await startSandbox({
    rps: 0,
    namespaces: ['bench'],
    timings: { podStartMs: 50, readyAfterMs: 100, crashRestartMs: 150, progressCheckMs: 200 },
  });
  try {
    const kubeconfig = sandbox.api.kubeconfig({ namespace: 'bench' });
    const kubeconfigFile = join(sandbox.kubeconfig, '..', 'bench-kubeconfig');
    await writeFile(kubeconfigFile, kubeconfig, { mode: 0o600 });
    const first = await runAction({
      action: 'deploy-rolling',
      inputs: { kubeconfig, namespace: 'bench', manifests: 'app.yaml' },
      cwd: await import('node:fs/promises').then(async (fs) => {
        const dir = await fs.mkdtemp(join(sandbox.kubeconfig, '..', 'ws-'));
        await fs.writeFile(
          join(dir, 'app.yaml'),
          `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: web }\nspec:\n  replicas: 3\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec: { containers: [{ name: web, image: "ghcr.io/acme/web:0" }] }\n`,
        );
        return dir;
      }),
    });
    if (first.exitCode !== 0) throw new Error(`first deploy failed:\n${first.log}`);

    const action: number[] = [];
    const kubectl: number[] = [];
    const polling: number[] = [];
    for (let i = 1; i <= RUNS; i++) {
      let completedAt = 0;
      const generationBefore = sandbox.store.get(deployments, 'bench', 'web')!.metadata.generation ?? 0;
      const stop = sandbox.store.watch(deployments, 'bench', undefined, (e) => {
        const d = e.object as DeploymentLike;
        if (!completedAt && (d.metadata.generation ?? 0) > generationBefore && complete(d))
          completedAt = performance.now();
      });
      const actionDone = runAction({
        action: 'deploy-rolling',
        inputs: { kubeconfig, namespace: 'bench', images: `web=ghcr.io/acme/web:${i}`, deployment: 'web' },
      }).then((r) => {
        if (r.exitCode !== 0) throw new Error(`deploy ${i} failed:\n${r.log}`);
        return performance.now();
      });
      // The others start once the action has changed the template, as they would after a kubectl apply.
      while (
        (sandbox.store.get(deployments, 'bench', 'web')!.metadata.generation ?? 0) === generationBefore
      ) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const kubectlDone = run('kubectl', [
        '--kubeconfig',
        kubeconfigFile,
        '-n',
        'bench',
        'rollout',
        'status',
        'deployment/web',
        '--timeout=60s',
      ]);
      const pollDone = (async (): Promise<number> => {
        for (;;) {
          if (complete(sandbox.store.get(deployments, 'bench', 'web') as DeploymentLike))
            return performance.now();
          await new Promise((r) => setTimeout(r, POLL_MS));
        }
      })();
      const [a, k, p] = await Promise.all([actionDone, kubectlDone, pollDone]);
      stop();
      if (!completedAt) throw new Error('the sandbox never marked the rollout complete');
      action.push(a - completedAt);
      kubectl.push(k - completedAt);
      polling.push(p - completedAt);
    }
    const row = (name: string, values: number[]): (string | number)[] => [
      name,
      median(values).toFixed(0),
      (median(values) / median(action)).toFixed(1),
      Math.min(...values).toFixed(0),
      Math.max(...values).toFixed(0),
    ];
    printTable(
      `Wait overhead: rollout complete (sandbox) → waiter exits, median of ${RUNS} rollouts (target for deploy-rolling: < 100 ms)`,
      ['waiter', 'median ms', 'x deploy-rolling', 'min ms', 'max ms'],
      [
        row('deploy-rolling (watch)', action),
        row('kubectl rollout status', kubectl),
        row(`polling every ${POLL_MS / 1000} s`, polling),
      ],
    );
  } finally {
    await sandbox.stop();
  }
}
