import type { ActionContext } from '@cd-actions/core/runner/action';
import { seconds } from '@cd-actions/core/inputs/duration';
import { runContext } from '@cd-actions/core/github/github';
import { InputError } from '@cd-actions/core/inputs/inputs';
import { createKube } from '@cd-actions/core/kube/kube';
import { setOutputs, writeSummary } from '@cd-actions/core/runner/report';
import { rollback, RollbackInputError } from '@cd-actions/core/rollback/rollback';
import { rollbackSummary } from '@cd-actions/core/rollback/summary';
import { createActionsRunner } from '@cd-actions/core/runner/runner';
import { verifyGateOf } from '@cd-actions/core/strategies/rolling/gate-inputs';
import { writeVerifyReport } from '@cd-actions/core/strategies/rolling/gate';
import type { getInputs } from './inputs.js';

type Settings = ReturnType<typeof getInputs>;

export async function rollbackStep(settings: Settings, ctx: ActionContext): Promise<void> {
  const runner = await createActionsRunner();
  const kube = await createKube(
    { kubeconfig: settings.kubeconfig, context: settings.context, namespace: settings.namespace },
    { warn: (text) => runner.warn(text) },
  );
  const gate = verifyGateOf(settings, kube.namespace, kube);
  const outcome = await rollback({
    kube,
    namespace: kube.namespace,
    app: settings.app,
    deployment: settings.deployment,
    toRevision: settings.toRevision,
    reason: settings.reason,
    ...(gate ? { gate } : {}),
    dryRun: settings.dryRun,
    timeoutMs: settings.timeout,
    githubToken: settings.githubToken,
    environment: settings.environment,
    run: runContext(),
    signal: ctx.signal,
    runner,
  }).catch((error: unknown) => {
    if (error instanceof RollbackInputError) {
      throw new InputError([{ input: error.input, value: '', accepted: '', message: error.message }]);
    }
    throw error;
  });
  setOutputs({
    'from-revision': outcome.fromRevision,
    'to-revision': outcome.dryRun ? undefined : outcome.toRevision,
    images: outcome.ok || outcome.restored ? outcome.images : undefined,
    'active-color': outcome.activeColor,
    verdict: outcome.gate?.verdict,
    report: outcome.gate ? await writeVerifyReport('rollback', settings.reportPath, outcome.gate) : undefined,
    duration: seconds(Date.now() - ctx.startedAt),
  });
  await writeSummary(rollbackSummary(outcome, kube.namespace));
  if (!outcome.ok) throw new Error(outcome.message);
}
