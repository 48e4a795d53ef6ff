import type { ActionContext } from '@cd-actions/core/runner/action';
import { seconds } from '@cd-actions/core/inputs/duration';
import { BlueGreenDeploy } from '@cd-actions/core/strategies/blue-green/blue-green';
import { blueGreenSummary } from '@cd-actions/core/strategies/blue-green/summary';
import { runContext } from '@cd-actions/core/github/github';
import { createActionsRunner } from '@cd-actions/core/runner/runner';
import { createKube } from '@cd-actions/core/kube/kube';
import { prometheusAccess } from '@cd-actions/core/inputs/prometheus';
import { parseImageOverrides } from '@cd-actions/core/manifests/manifests';
import { setOutputs, writeSummary } from '@cd-actions/core/runner/report';
import type { BlueGreenPlan, BlueGreenSettings } from './inputs.js';

export async function deployBlueGreenStep(
  settings: BlueGreenSettings,
  plan: BlueGreenPlan,
  ctx: ActionContext,
): Promise<void> {
  const kube = await createKube({
    kubeconfig: settings.kubeconfig,
    context: settings.context,
    namespace: plan.namespace ?? settings.namespace,
  });
  const namespace = plan.namespace ?? kube.namespace;
  const deploy = new BlueGreenDeploy({
    kube,
    namespace,
    app: plan.app,
    service: settings.service ?? plan.app,
    ...(settings.previewService ? { previewService: settings.previewService } : {}),
    colorLabel: settings.colorLabel,
    route: settings.route,
    ...(settings.routeName ? { routeName: settings.routeName } : {}),
    ...(plan.deployment ? { deployment: plan.deployment } : {}),
    others: plan.others,
    ...(plan.config ? { config: plan.config } : {}),
    // With manifests the overrides were applied while planning.
    images: plan.deployment ? [] : parseImageOverrides([...(settings.images ?? [])]).overrides,
    ...(settings.prometheusUrl && settings.confirmTraffic
      ? { observe: { prometheusUrl: settings.prometheusUrl, metric: settings.trafficMetric } }
      : {}),
    prometheus: prometheusAccess(settings, kube),
    preSwitchChecks: settings.preSwitchChecks,
    postSwitchChecks: settings.postSwitchChecks,
    checkDefaults: {
      namespace,
      ...(settings.prometheusUrl ? { prometheusUrl: settings.prometheusUrl } : {}),
    },
    preSwitchDurationMs: settings.preSwitchDuration,
    verifyDurationMs: settings.verifyDuration,
    checkIntervalMs: settings.checkInterval,
    keepPrevious: settings.keepPrevious,
    scaleDownDelayMs: settings.scaleDownDelay,
    timeoutMs: settings.timeout,
    autoRollback: settings.autoRollback,
    onCancel: settings.onCancel,
    lockWaitMs: settings.lockWait,
    dryRun: settings.dryRun,
    ...(settings.githubToken ? { githubToken: settings.githubToken } : {}),
    ...(settings.environment ? { environment: settings.environment } : {}),
    run: runContext(),
    signal: ctx.signal,
    runner: await createActionsRunner(),
  });
  const outcome = await deploy.run();
  setOutputs({
    'active-color': outcome.activeColor ?? '',
    'previous-color': outcome.previousColor ?? '',
    revision: outcome.revision,
    switched: outcome.switched,
    'rolled-back': outcome.rolledBack,
    'preview-url': outcome.previewUrl,
    'failed-phase': outcome.failedPhase,
    duration: seconds(Date.now() - ctx.startedAt),
  });
  await writeSummary(
    blueGreenSummary({ app: plan.app, namespace, outcome, durationMs: Date.now() - ctx.startedAt }),
  );
  if (!outcome.ok) throw new Error(outcome.message);
}
