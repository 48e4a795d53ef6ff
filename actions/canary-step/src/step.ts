import type { ActionContext } from '@cd-actions/core/runner/action';
import { seconds } from '@cd-actions/core/inputs/duration';
import { CanaryDeploy } from '@cd-actions/core/strategies/canary/canary';
import { canarySummary, canaryReport } from '@cd-actions/core/strategies/canary/summary';
import { parseCookieRoute, parseHeaderRoute } from '@cd-actions/core/strategies/canary/plan';
import { runContext } from '@cd-actions/core/github/github';
import { createActionsRunner } from '@cd-actions/core/runner/runner';
import { createKube } from '@cd-actions/core/kube/kube';
import { prometheusAccess } from '@cd-actions/core/inputs/prometheus';
import { parseImageOverrides } from '@cd-actions/core/manifests/manifests';
import { setOutputs, writeSummary } from '@cd-actions/core/runner/report';
import { writeReportFile } from '@cd-actions/core/runner/report-file';
import type { CanaryPlan, CanarySettings } from './inputs.js';

export async function canaryStep(
  settings: CanarySettings,
  plan: CanaryPlan,
  ctx: ActionContext,
): Promise<void> {
  const kube = await createKube({
    kubeconfig: settings.kubeconfig,
    context: settings.context,
    namespace: plan.namespace ?? settings.namespace,
  });
  const namespace = plan.namespace ?? kube.namespace;
  const header = settings.headerRoute
    ? parseHeaderRoute(settings.headerRoute)
    : settings.cookieRoute
      ? parseCookieRoute(settings.cookieRoute)
      : undefined;
  const canary = new CanaryDeploy({
    kube,
    namespace,
    app: plan.app,
    ...(settings.service ? { service: settings.service } : {}),
    ...(settings.route ? { route: settings.route } : {}),
    ...(settings.routeName ? { routeName: settings.routeName } : {}),
    ...(settings.routeRule ? { ruleName: settings.routeRule } : {}),
    ...(settings.versionLabel ? { versionLabel: settings.versionLabel } : {}),
    ...(plan.deployment ? { deployment: plan.deployment } : {}),
    others: plan.others,
    ...(plan.config ? { config: plan.config } : {}),
    // With manifests the overrides were applied while planning.
    images: plan.deployment ? [] : parseImageOverrides([...(settings.images ?? [])]).overrides,
    action: settings.action,
    steps: plan.steps,
    ...(settings.weight !== undefined ? { weight: settings.weight } : {}),
    ...(header ? { headerRoute: header } : {}),
    ...(settings.dynamicStableScale !== undefined ? { dynamicStableScale: settings.dynamicStableScale } : {}),
    checks: settings.checks,
    checkDefaults: {
      namespace,
      ...(settings.prometheusUrl ? { prometheusUrl: settings.prometheusUrl } : {}),
    },
    ...(settings.prometheusUrl
      ? {
          prometheus: {
            url: settings.prometheusUrl,
            access: prometheusAccess(settings, kube),
            metric: settings.trafficMetric,
            durationMetric: settings.latencyMetric,
            statusLabel: settings.statusLabel,
            windowMs: settings.analysisWindow,
          },
        }
      : {}),
    verifySplit: settings.verifySplit,
    splitTolerance: settings.splitTolerance,
    ...(settings.maxErrorRatio !== undefined ? { maxErrorRatio: Number(settings.maxErrorRatio) } : {}),
    maxErrorIncrease: Number(settings.maxErrorIncrease ?? '0.01'),
    maxLatencyIncrease: Number(settings.maxLatencyIncrease),
    minRequests: settings.minRequests,
    stepDurationMs: settings.stepDuration,
    checkIntervalMs: settings.checkInterval,
    scaleDownDelayMs: settings.scaleDownDelay,
    timeoutMs: settings.timeout,
    onCancel: settings.onCancel,
    lockWaitMs: settings.lockWait,
    ...(settings.githubToken ? { githubToken: settings.githubToken } : {}),
    ...(settings.environment ? { environment: settings.environment } : {}),
    run: runContext(),
    signal: ctx.signal,
    runner: await createActionsRunner(),
  });
  const outcome = await canary.run();
  const report = await writeReportFile('canary-step', settings.reportPath, canaryReport(outcome));
  setOutputs({
    phase: outcome.phase,
    weight: outcome.weight,
    'stable-version': outcome.stableVersion,
    'canary-version': outcome.canaryVersion,
    'observed-split': outcome.observedSplit,
    verdict: outcome.verdict,
    'failed-phase': outcome.failedPhase,
    report,
    duration: seconds(Date.now() - ctx.startedAt),
  });
  await writeSummary(
    canarySummary({ app: plan.app, namespace, outcome, durationMs: Date.now() - ctx.startedAt }),
  );
  if (!outcome.ok) throw new Error(outcome.message);
}
