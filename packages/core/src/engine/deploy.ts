/**
 * Every deploy and rollback runs here: take the app's lock, mirror the run to a GitHub
 * deployment, run the strategy's phases (engine/phases.ts), then keep the books (record and
 * history) and say what happened and where traffic is now. The outcome and the bookkeeping are
 * kept apart: a deploy that reached its goal is not reported failed because a record write
 * failed (that is a loud warning), and a failed deploy still tries to write that it failed.
 */
import { startDeployment, type GitHubDeployment, type RunContext } from '../github/github.js';
import type { KubeObjects } from '../kube/objects.js';
import { acquireLock, LockLostError } from '../record/lock.js';
import type { Runner } from '../runner/runner.js';
import {
  errorText,
  runPhases,
  type EngineOutcome,
  type Phase,
  type StopReason,
  type TimelineEntry,
} from './phases.js';

/** How long a cancelled run may spend putting things back: the runner kills the process ~10 s after SIGINT. */
export const CANCEL_GRACE_MS = 7000;

export interface DeployRun {
  objects: KubeObjects;
  namespace: string;
  app: string;
  run: RunContext;
  runner: Runner;
  /** The runner's cancel. */
  signal: AbortSignal;
  lockWaitMs: number;
  /**
   * Other runs may ask this one to stop (lock.ts requestStop): it then puts back what it changed,
   * as after a failure. Or to promote now: the phases see that as `promoteRequested`.
   */
  stoppable?: boolean;
  /** Mirror the run to a GitHub deployment (when a token and an environment are given). */
  github?: { token?: string; environment?: string; description: string };
  phases: readonly Phase[];
  /** auto-rollback: undo after a failure; on-cancel rollback: undo after a cancel. */
  undoOnFailure: boolean;
  undoOnCancel: boolean;
  /**
   * Why a skipped undo left the changes, when the strategy, not an input, chose it (a rollback
   * whose restored version failed its checks: there is nothing further to go back to).
   */
  readonly keptBecause?: string | undefined;
  /** How long undoing after a failure may take (a cancel gets CANCEL_GRACE_MS). */
  undoBudgetMs: number;
  /** Writes the record and history for this outcome; throwing makes it a warning, never a changed outcome. */
  keepBooks(outcome: EngineOutcome): Promise<void>;
  /** Where traffic is now, read from the cluster, in words ("blue serves (ghcr.io/acme/web:1)"). */
  whereTrafficIs(outcome: EngineOutcome): Promise<string>;
  /** The one-line result: "Rolled out web to revision 4". */
  describeSuccess(): string;
  /** What the run set out to do, for failure messages: "Blue-green deploy of web". */
  what: string;
  /** The strategy's own timeline, so the engine's notes and the strategy's land in one list. */
  timeline?: TimelineEntry[];
}

export interface DeployResult extends EngineOutcome {
  message: string;
  /** Where traffic is when the step ends. */
  traffic: string;
}

/**
 * Lock, phases, books. Never throws once the lock is held: every error becomes an outcome with
 * ok false. Throws only when the lock cannot be had (nothing was changed then).
 */
export async function runDeploy(d: DeployRun): Promise<DeployResult> {
  const lock = await acquireLock({
    objects: d.objects,
    namespace: d.namespace,
    app: d.app,
    run: d.run,
    waitMs: d.lockWaitMs,
    signal: d.signal,
    ...(d.stoppable ? { stoppable: true } : {}),
    log: (text) => d.runner.info(text),
  });
  let github: GitHubDeployment | undefined;
  try {
    if (d.github?.token && d.github.environment) {
      github = await startDeployment({
        token: d.github.token,
        environment: d.github.environment,
        description: d.github.description,
        run: d.run,
        warn: (text) => d.runner.warn(text),
      });
      await github?.setStatus('in_progress', d.github.description);
    }
    const outcome = await runPhases({
      phases: d.phases,
      runner: d.runner,
      signals: {
        cancel: d.signal,
        lockLost: lock.lost,
        stopRequested: lock.stopRequested,
        promoteRequested: lock.promoteRequested,
      },
      shouldUndo: (reason) => shouldUndo(reason, d, lock.lost.reason),
      undoBudgetMs: (reason) => (reason === 'cancelled' ? CANCEL_GRACE_MS : d.undoBudgetMs),
      ...(d.timeline ? { timeline: d.timeline } : {}),
    });
    await keepBooks(d, outcome, lock.lost.reason);
    const traffic = await d
      .whereTrafficIs(outcome)
      .catch((error: unknown) => `unknown: could not read it back (${errorText(error)})`);
    const message = outcome.ok ? d.describeSuccess() : failureMessage(d, outcome, traffic);
    d.runner.info(message);
    await github?.setStatus(outcome.ok ? 'success' : 'failure', message);
    return { ...outcome, message, traffic };
  } finally {
    const released = await lock.release();
    if (released.warning) d.runner.warn(released.warning);
  }
}

function shouldUndo(reason: StopReason, d: DeployRun, lost: unknown): boolean {
  if (reason === 'lock-lost') {
    // Another run holds the lock now: writing back would make two writers, so the new holder
    // decides. With nobody holding it (renewals failed), putting back is still ours to do.
    return !(lost instanceof LockLostError && lost.holder) && d.undoOnFailure;
  }
  // A stop request asks exactly for the put-back, whatever the settings say about failures.
  if (reason === 'stop-requested') return true;
  return reason === 'cancelled' ? d.undoOnCancel : d.undoOnFailure;
}

/** Record and history writes retry their own transient failures (record/record.ts); what still fails is a loud warning. */
async function keepBooks(d: DeployRun, outcome: EngineOutcome, lost: unknown): Promise<void> {
  if (!outcome.wrote) return;
  if (lost instanceof LockLostError && lost.holder) {
    d.runner.warn(
      `The deployment record of ${d.app} was not written: run ${lost.holder.runId} of ${lost.holder.repository} holds the lock now and its record is the one that counts.`,
    );
    return;
  }
  try {
    await d.keepBooks(outcome);
  } catch (error) {
    d.runner.warn(
      `The deployment record of ${d.app} in ${d.namespace} could not be written: ${errorText(error)}. ` +
        (outcome.ok
          ? 'The deploy itself succeeded; rollback reads the history, which may now lack this deploy.'
          : 'rollback to "previous" refuses to guess until a record says how this deploy ended.'),
    );
  }
}

function failureMessage(d: DeployRun, o: EngineOutcome, traffic: string): string {
  const undone =
    o.compensation === 'none'
      ? o.wrote
        ? 'nothing that serves traffic had changed, so nothing was put back'
        : 'nothing was changed'
      : o.compensation === 'done'
        ? 'every change was put back'
        : o.compensation === 'skipped'
          ? d.keptBecause
            ? d.keptBecause
            : o.reason === 'lock-lost' && d.undoOnFailure
              ? 'nothing was put back: another run holds the lock now and decides'
              : o.reason === 'cancelled'
                ? 'the changes were left in place, as asked for a cancelled run'
                : 'the changes were left in place, as asked for a failed run (no automatic rollback)'
          : `putting back was incomplete: ${o.problems.join('; ')}`;
  return `${d.what} failed in phase ${o.failedPhase ?? 'start'}: ${o.cause}. ${capitalize(undone)}. Traffic: ${traffic}`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
