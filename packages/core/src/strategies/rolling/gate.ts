/**
 * The gate run once a version serves: after deploy-rolling's rollout (a failure rolls back) and
 * after a rollback restored a version (a failure is reported, never undone: the version rolled
 * back from is the one that was bad). The checks, the preflight before any write, the phase's
 * verdict, and the short form of the decision the record and history keep.
 */
import { PhaseFailed, type PhaseContext } from '../../engine/phases.js';
import { preflightGate, runGate } from '../../gate/gate.js';
import type { GateDecision, GateOptions } from '../../gate/types.js';
import type { Kube } from '../../kube/kube.js';
import type { RecordedGate } from '../../record/record.js';
import { writeReportFile } from '../../runner/report-file.js';

/** The checks and how to observe them (verify-duration, check-interval and the gate settings). */
export type VerifyGate = Pick<
  GateOptions,
  | 'checks'
  | 'durationMs'
  | 'intervalMs'
  | 'initialDelayMs'
  | 'onNoData'
  | 'onInconclusive'
  | 'prometheusUrl'
  | 'prometheus'
>;

export function recordedGate(decision: GateDecision): RecordedGate {
  return {
    verdict: decision.verdict,
    passed: decision.passed,
    reason: decision.reason,
    checks: decision.checks.map((c) => ({ name: c.name, verdict: c.verdict })),
    startedAt: decision.startedAt,
    endedAt: decision.endedAt,
  };
}

function options(gate: VerifyGate, kube: Kube, namespace: string): GateOptions {
  return {
    checks: gate.checks,
    durationMs: gate.durationMs,
    // The schedule needs the duration to hold at least one interval.
    intervalMs: Math.min(gate.intervalMs, gate.durationMs),
    ...(gate.initialDelayMs ? { initialDelayMs: gate.initialDelayMs } : {}),
    ...(gate.onNoData ? { onNoData: gate.onNoData } : {}),
    ...(gate.onInconclusive ? { onInconclusive: gate.onInconclusive } : {}),
    ...(gate.prometheusUrl ? { prometheusUrl: gate.prometheusUrl } : {}),
    ...(gate.prometheus ? { prometheus: gate.prometheus } : {}),
    namespace,
    kube,
  };
}

/**
 * What can be known about the checks before anything is written: a query Prometheus rejects, a
 * Deployment or Service a check names that does not exist. A pods check on a Deployment the run
 * deploys is left out (on a first deploy it exists only after the apply). Throws naming input
 * "checks".
 */
export async function preflightVerifyGate(
  gate: VerifyGate,
  o: { kube: Kube; namespace: string; deploys?: ReadonlySet<string>; signal?: AbortSignal },
): Promise<void> {
  const checks = gate.checks.filter(
    (c) => !(c.kind === 'pods' && c.deployment !== undefined && o.deploys?.has(c.deployment)),
  );
  if (checks.length === 0) return;
  const problems = await preflightGate({
    ...options({ ...gate, checks }, o.kube, o.namespace),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  if (problems.length > 0) {
    throw new Error(`Input "checks": ${problems.join('; ')}; nothing was changed`);
  }
}

/** The checks that did not pass, by name: the failed ones, else (inconclusive) those without a verdict. */
function checksNotPassed(decision: GateDecision): string[] {
  const failed = decision.checks.filter((c) => c.verdict === 'fail');
  return (failed.length > 0 ? failed : decision.checks.filter((c) => c.verdict !== 'pass')).map(
    (c) => c.name,
  );
}

/** `check(s) "a", "b" failed (why)`, or why the checks were inconclusive: names first, then the gate's reason. */
export function notPassedText(decision: GateDecision): string {
  const names = checksNotPassed(decision)
    .map((n) => `"${n}"`)
    .join(', ');
  return decision.verdict === 'fail'
    ? `check(s) ${names} failed (${decision.reason})`
    : `the checks were inconclusive (on-inconclusive: fail; no verdict from ${names}): ${decision.reason}`;
}

/**
 * Runs the gate as an engine phase and keeps its decision with `keep` (even a cancelled one).
 * A cancel or a lost lock is rethrown as such; a gate that did not pass is a PhaseFailed that
 * begins with `what` and names the checks.
 */
export async function runVerifyGate(
  gate: VerifyGate,
  ctx: PhaseContext,
  o: { kube: Kube; namespace: string; what: string; keep: (decision: GateDecision) => void },
): Promise<GateDecision> {
  ctx.note(
    `checks: ${gate.checks.map((c) => c.name).join(', ')} for ${gate.durationMs / 1000}s, every ${Math.min(gate.intervalMs, gate.durationMs) / 1000}s`,
  );
  const decision = await runGate({
    ...options(gate, o.kube, o.namespace),
    signal: ctx.signal,
    log: (text) => ctx.runner.info(`checks: ${text}`),
  });
  o.keep(decision);
  ctx.note(`checks: ${decision.verdict}${decision.passed ? '' : ' (not passed)'}: ${decision.reason}`);
  ctx.signal.throwIfAborted();
  if (!decision.passed) throw new PhaseFailed(`${o.what}: ${notPassedText(decision)}`);
  return decision;
}

/**
 * The decision record as a JSON file (at `path`, else a new one in RUNNER_TEMP), shaped as
 * health-gate writes its own ({ verdict, checks, ... }), so notify-slack's `report` reads it;
 * returns its path.
 */
export function writeVerifyReport(
  action: string,
  path: string | undefined,
  decision: GateDecision,
): Promise<string> {
  return writeReportFile(action, path, {
    ...decision,
    durationMs: Date.parse(decision.endedAt) - Date.parse(decision.startedAt),
  });
}
