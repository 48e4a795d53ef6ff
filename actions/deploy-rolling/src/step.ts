import type { ActionContext } from '../../../packages/core/src/action.js';
import { seconds } from '../../../packages/core/src/action.js';
import { runContext } from '../../../packages/core/src/github.js';
import { createKube } from '../../../packages/core/src/kube.js';
import { setOutputs, writeSummary } from '../../../packages/core/src/report.js';
import type { RollingPlan } from '../../../packages/core/src/rolling-plan.js';
import { deployRolling } from '../../../packages/core/src/rolling.js';
import { rollingSummary } from '../../../packages/core/src/rolling-summary.js';
import { createActionsRunner } from '../../../packages/core/src/runner/runner.js';
import type { Settings } from './inputs.js';

export async function deployRollingStep(
  settings: Settings,
  plan: RollingPlan,
  ctx: ActionContext,
): Promise<void> {
  const annotations = Object.fromEntries(
    (settings.annotations ?? []).map((line) => [
      line.slice(0, line.indexOf('=')),
      line.slice(line.indexOf('=') + 1),
    ]),
  );

  const runner = await createActionsRunner();
  const kube = await createKube({
    kubeconfig: settings.kubeconfig,
    context: settings.context,
    namespace: plan.namespace ?? settings.namespace,
  });
  const namespace = plan.namespace ?? kube.namespace;
  const app = settings.app ?? plan.deployments[0]!;
  const outcome = await deployRolling({
    kube,
    plan,
    namespace,
    app,
    timeoutMs: settings.timeout,
    autoRollback: settings.autoRollback,
    onCancel: settings.onCancel,
    lockWaitMs: settings.lockWait,
    annotations,
    dryRun: settings.dryRun,
    githubToken: settings.githubToken,
    environment: settings.environment,
    run: runContext(),
    signal: ctx.signal,
    runner,
  });
  const first = outcome.deployments[0];
  const single = outcome.deployments.length === 1;
  const pick = (f: (d: NonNullable<typeof first>) => string | undefined): string =>
    single ? (f(first!) ?? '') : outcome.deployments.map((d) => `${d.name}=${f(d) ?? ''}`).join(',');
  setOutputs({
    revision: outcome.dryRun ? undefined : pick((d) => d.revision),
    'previous-revision': outcome.dryRun ? undefined : pick((d) => d.previousRevision),
    images: single
      ? (first?.images ?? {})
      : Object.fromEntries(outcome.deployments.map((d) => [d.name, d.images])),
    'rolled-back': outcome.rolledBack,
    duration: seconds(Date.now() - ctx.startedAt),
  });
  await writeSummary(rollingSummary({ app, namespace, outcome, durationMs: Date.now() - ctx.startedAt }));
  if (!outcome.ok) throw new Error(outcome.message);
}
