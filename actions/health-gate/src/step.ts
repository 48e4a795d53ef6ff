import type { ActionContext } from '@cd-actions/core/runner/action';
import { seconds } from '@cd-actions/core/inputs/duration';
import { collectMonitoring, type MonitoringSnapshot } from '@cd-actions/core/gate/monitoring';
import type { MonitoringSpec } from '@cd-actions/core/gate/monitoring-spec';
import { preflightGate, runGate } from '@cd-actions/core/gate/gate';
import { createPrometheusClient } from '@cd-actions/core/gate/prometheus-client';
import { prometheusAccess } from '@cd-actions/core/inputs/prometheus';
import { gateSummary } from '@cd-actions/core/gate/summary';
import type { CheckSpec } from '@cd-actions/core/gate/types';
import { InputError, type InputProblem } from '@cd-actions/core/inputs/inputs';
import { createKube, KubeConfigError, type Kube } from '@cd-actions/core/kube/kube';
import { setOutputs, writeSummary } from '@cd-actions/core/runner/report';
import { writeReportFile } from '@cd-actions/core/runner/report-file';
import { createActionsRunner } from '@cd-actions/core/runner/runner';
import { buildChecks, type GateInputs } from './inputs.js';

function needsKube(inputs: GateInputs): boolean {
  return (
    inputs.settings.prometheusVia === 'kubernetes' ||
    inputs.checks.some((c) => c.kind === 'pods' || (c.kind === 'http' && c.via === 'service-proxy'))
  );
}

/** Fills the monitoring target from the checks when the `monitoring` input does not name one. */
function monitoringTarget(spec: MonitoringSpec, checks: readonly CheckSpec[]): MonitoringSpec {
  const templated = checks.find((c) => c.kind === 'prometheus' && c.target !== undefined);
  const pods = checks.find((c) => c.kind === 'pods' && c.deployment !== undefined);
  const target = templated?.kind === 'prometheus' ? templated.target : undefined;
  return {
    ...spec,
    ...(spec.service === undefined && target
      ? { service: target.service, ...(target.version ? { version: target.version } : {}) }
      : {}),
    ...(spec.namespace === undefined && target ? { namespace: target.namespace } : {}),
    ...(spec.deployment === undefined && pods?.kind === 'pods' && pods.deployment
      ? { deployment: pods.deployment }
      : {}),
  };
}

function problem(input: string, message: string): InputProblem {
  return { input, value: '', accepted: '', message: `Input "${input}": ${message}` };
}

export async function healthGateStep(inputs: GateInputs, ctx: ActionContext): Promise<void> {
  const { settings } = inputs;
  let kube: Kube | undefined;
  if (needsKube(inputs)) {
    try {
      kube = await createKube({
        kubeconfig: settings.kubeconfig,
        context: settings.context,
        namespace: settings.namespace,
      });
    } catch (error) {
      if (error instanceof KubeConfigError) throw new InputError([problem(error.input, error.message)]);
      throw error;
    }
  }
  // Masks every header value before anything is logged.
  const access = prometheusAccess(settings, kube);
  const runner = await createActionsRunner();
  const namespace = settings.namespace ?? kube?.namespace ?? 'default';
  // The context's namespace is only known now: templates and checks default to it.
  const { checks, inputOf } =
    namespace === (settings.namespace ?? 'default') ? inputs : buildChecks(settings, namespace);
  const options = {
    checks,
    durationMs: settings.duration,
    intervalMs: settings.interval,
    initialDelayMs: settings.initialDelay,
    onNoData: settings.onNoData,
    onInconclusive: settings.onInconclusive,
    ...(settings.prometheusUrl ? { prometheusUrl: settings.prometheusUrl, prometheus: access } : {}),
    namespace,
    ...(kube ? { kube } : {}),
    signal: ctx.signal,
    log: (text: string) => runner.info(text),
  };
  const problems = await preflightGate(options);
  if (problems.length > 0) {
    throw new InputError(
      problems.map((text) => {
        const name = /^check "([^"]+)"/.exec(text)?.[1];
        return problem((name && inputOf.get(name)) ?? 'checks', text);
      }),
    );
  }

  const decision = await runGate(options);

  let monitoring: MonitoringSnapshot | undefined;
  const watch = monitoringTarget(inputs.monitoring, checks);
  if (watch.enabled && (watch.service || watch.deployment)) {
    monitoring = await collectMonitoring({
      spec: watch,
      namespace,
      windowMs: Math.min(settings.window, Math.max(settings.duration, 1000)),
      ...(settings.prometheusUrl
        ? {
            prometheusUrl: settings.prometheusUrl,
            client: createPrometheusClient(settings.prometheusUrl, access),
          }
        : {}),
      ...(kube ? { kube } : {}),
    });
  }

  const durationMs = Date.parse(decision.endedAt) - Date.parse(decision.startedAt);
  const reportPath = await writeReportFile('health-gate', settings.reportPath, {
    ...decision,
    durationMs,
    ...(monitoring ? { monitoring } : {}),
  });
  setOutputs({
    verdict: decision.verdict,
    'failed-checks': decision.checks
      .filter((c) => c.verdict === 'fail')
      .map((c) => c.name)
      .join(','),
    report: reportPath,
    duration: seconds(durationMs),
  });
  await writeSummary(gateSummary(decision, monitoring));
  if (decision.verdict === 'pass') {
    runner.info(`Health gate passed: ${decision.reason}`);
  } else if (decision.passed) {
    runner.warn(`Health gate inconclusive, passed by on-inconclusive: pass: ${decision.reason}`);
  } else if (decision.verdict === 'fail') {
    throw new Error(`Health gate failed: ${decision.reason}`);
  } else {
    throw new Error(
      `Health gate inconclusive (on-inconclusive: ${settings.onInconclusive}): ${decision.reason}`,
    );
  }
}
