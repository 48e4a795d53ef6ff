import type { ActionContext } from '@cd-actions/core/runner/action';
import { seconds } from '@cd-actions/core/inputs/duration';
import { runContext } from '@cd-actions/core/github/github';
import { createKube } from '@cd-actions/core/kube/kube';
import { setOutputs, writeSummary } from '@cd-actions/core/runner/report';
import type { RollingPlan } from '@cd-actions/core/strategies/rolling/plan';
import { deployRolling } from '@cd-actions/core/strategies/rolling/rolling';
import { rollingSummary } from '@cd-actions/core/strategies/rolling/summary';
import { verifyGateOf } from '@cd-actions/core/strategies/rolling/gate-inputs';
import { writeVerifyReport } from '@cd-actions/core/strategies/rolling/gate';
import { createActionsRunner } from '@cd-actions/core/runner/runner';
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
  const gate = verifyGateOf(settings, namespace, kube);
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
    ...(gate ? { gate } : {}),
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
    verdict: outcome.gate?.verdict,
    report: outcome.gate
      ? await writeVerifyReport('deploy-rolling', settings.reportPath, outcome.gate)
      : undefined,
    duration: seconds(Date.now() - ctx.startedAt),
  });
  await writeSummary(rollingSummary({ app, namespace, outcome, durationMs: Date.now() - ctx.startedAt }));
  if (!outcome.ok) throw new Error(outcome.message);
}
