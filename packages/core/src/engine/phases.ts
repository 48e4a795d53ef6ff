/**
 * The strategy engine: a deploy is a list of named phases. A phase that is about to write says
 * first how to undo that write; the engine keeps those undos on a stack. When anything goes wrong
 * after the first write (a failed check, an unexpected error, a cancel, a lost lock, a deadline),
 * the engine unwinds the stack, newest first, back to the last known-good state. So the promise
 * "traffic on a known-good version" does not depend on each strategy remembering every path.
 */
import { withRetry } from '../net/retry.js';
import type { Runner } from '../runner/runner.js';

/** How to put back one write. It must be safe whether or not the write took effect: read, then write only what differs. */
export interface Undo {
  /** What it puts back, in words: "switch Service shop/web back to blue". */
  what: string;
  run(ctx: UndoContext): Promise<void>;
}

export interface UndoContext {
  /** Aborts at the compensation deadline (a cancelled run has only the runner's grace period). */
  signal: AbortSignal;
  deadline: number;
  note: (text: string) => void;
}

export interface PhaseContext {
  /** Aborts on cancel, on a lost lock and at the deadline: pass it to every wait. */
  signal: AbortSignal;
  note(text: string): void;
  runner: Runner;
  /** Call before a write, with how to undo it. */
  undoWith(undo: Undo): void;
  /** Makes the first undo registered under `key` the only one: a re-applied object needs undoing once, to its first state. */
  undoOnce(key: string, undo: Undo): void;
  /** Says a write was made that needs no undo (it serves no traffic): a stop after it cannot claim "nothing was changed". */
  wrote(): void;
  /**
   * Aborts when another run asks this one to promote now (a canary's `action: promote`; never
   * for the other strategies). Not part of `signal`: the phases decide what it cuts short.
   */
  promoteRequested: AbortSignal;
}

export interface Phase {
  name: string;
  run(ctx: PhaseContext): Promise<void>;
}

/** An expected way for a phase to fail (a check said no, a rollout failed): the message is the whole cause. */
export class PhaseFailed extends Error {
  override readonly name = 'PhaseFailed';
}

export type StopReason = 'failed' | 'cancelled' | 'lock-lost' | 'stop-requested' | 'deadline';

export interface TimelineEntry {
  at: string;
  text: string;
}

export interface EngineOutcome {
  ok: boolean;
  /** The phase that was running when the run stopped. */
  failedPhase?: string;
  reason?: StopReason;
  /** What went wrong, in words. */
  cause?: string;
  /** Whether any write had been made (or attempted) when the run stopped. */
  wrote: boolean;
  /** none: nothing to undo; done: every undo ran; skipped: the settings said leave it; incomplete: an undo failed. */
  compensation: 'none' | 'done' | 'skipped' | 'incomplete';
  /** Undos that failed, with why. */
  problems: string[];
  timeline: TimelineEntry[];
}

export interface RunPhasesOptions {
  phases: readonly Phase[];
  runner: Runner;
  /** Cancel (the runner's SIGINT), a lost lock, another run's stop request, a deadline: any abort stops the phases. */
  signals: {
    cancel: AbortSignal;
    lockLost?: AbortSignal;
    stopRequested?: AbortSignal;
    /** Passed to the phases as `promoteRequested`: it stops nothing by itself. */
    promoteRequested?: AbortSignal;
    deadline?: number;
  };
  /** Whether to undo after this kind of stop (auto-rollback, on-cancel). */
  shouldUndo(reason: StopReason): boolean;
  /** How long compensation may take after this kind of stop. */
  undoBudgetMs(reason: StopReason): number;
  timeline?: TimelineEntry[];
}

class DeadlineExceeded extends Error {}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runPhases(o: RunPhasesOptions): Promise<EngineOutcome> {
  const timeline = o.timeline ?? [];
  const note = (text: string): void => {
    timeline.push({ at: new Date().toISOString(), text });
    o.runner.info(text);
  };
  const undos: Undo[] = [];
  let wrote = false;
  const undoKeys = new Set<string>();
  const deadline = new AbortController();
  const timer =
    o.signals.deadline === undefined
      ? undefined
      : setTimeout(
          () => deadline.abort(new DeadlineExceeded('the step ran out of time')),
          Math.max(0, o.signals.deadline - Date.now()),
        );
  timer?.unref();
  const signal = AbortSignal.any([
    o.signals.cancel,
    deadline.signal,
    ...(o.signals.lockLost ? [o.signals.lockLost] : []),
    ...(o.signals.stopRequested ? [o.signals.stopRequested] : []),
  ]);
  const ctx: PhaseContext = {
    signal,
    note,
    runner: o.runner,
    promoteRequested: o.signals.promoteRequested ?? new AbortController().signal,
    undoWith: (undo) => {
      o.runner.debug(`undo registered: ${undo.what}`);
      undos.push(undo);
    },
    wrote: () => {
      wrote = true;
    },
    undoOnce: (key, undo) => {
      if (undoKeys.has(key)) return;
      undoKeys.add(key);
      o.runner.debug(`undo registered: ${undo.what}`);
      undos.push(undo);
    },
  };

  let current: Phase | undefined;
  try {
    for (const phase of o.phases) {
      current = phase;
      signal.throwIfAborted();
      const started = Date.now();
      await o.runner.group(phase.name, () => phase.run(ctx));
      o.runner.debug(
        `phase ${phase.name} done in ${Date.now() - started} ms; ${undos.length} undo(s) on the stack`,
      );
    }
    // Every phase done is the goal reached: a cancel that comes now has nothing left to stop.
    return { ok: true, wrote: wrote || undos.length > 0, compensation: 'none', problems: [], timeline };
  } catch (error) {
    const reason: StopReason = o.signals.cancel.aborted
      ? 'cancelled'
      : o.signals.lockLost?.aborted
        ? 'lock-lost'
        : o.signals.stopRequested?.aborted
          ? 'stop-requested'
          : deadline.signal.aborted
            ? 'deadline'
            : 'failed';
    const cause =
      reason === 'cancelled'
        ? 'the run was cancelled'
        : reason === 'lock-lost'
          ? errorText(o.signals.lockLost!.reason)
          : reason === 'stop-requested'
            ? errorText(o.signals.stopRequested!.reason)
            : reason === 'deadline'
              ? `the step ran out of time (${errorText(error)})`
              : errorText(error);
    note(`${current?.name ?? 'start'}: ${cause}`);
    const outcome: EngineOutcome = {
      ok: false,
      ...(current ? { failedPhase: current.name } : {}),
      reason,
      cause,
      wrote: wrote || undos.length > 0,
      compensation: 'none',
      problems: [],
      timeline,
    };
    if (undos.length === 0) return outcome;
    if (!o.shouldUndo(reason)) {
      outcome.compensation = 'skipped';
      return outcome;
    }
    outcome.problems = await o.runner.group('compensate', () =>
      unwind(undos, Date.now() + o.undoBudgetMs(reason), note),
    );
    outcome.compensation = outcome.problems.length === 0 ? 'done' : 'incomplete';
    return outcome;
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/**
 * Runs the undos newest first. Each is retried on any error until the deadline: an undo reads
 * before it writes, so repeating it is safe, and a 409 or a dropped connection is exactly what a
 * retry fixes. An undo that still fails does not stop the older ones.
 */
async function unwind(undos: Undo[], deadline: number, note: (text: string) => void): Promise<string[]> {
  const problems: string[] = [];
  // An undo that waits (a rollout, a read-back) stops a little before the unwind's own deadline,
  // so it can say what it saw last instead of being cut off by the retry's "gave up".
  const undoDeadline = deadline - Math.min(1000, (deadline - Date.now()) / 10);
  for (const undo of [...undos].reverse()) {
    note(`undo: ${undo.what}`);
    try {
      await withRetry((_attempt, signal) => undo.run({ signal, deadline: undoDeadline, note }), {
        deadlineMs: Math.max(1, deadline - Date.now()),
        maxAttempts: 8,
        classify: (error) => ({ retry: !(error instanceof PhaseFailed), reason: errorText(error) }),
        onRetry: (info) => note(`undo: ${undo.what}: retrying after ${info.reason}`),
      });
    } catch (error) {
      problems.push(`could not ${undo.what}: ${errorText(error)}`);
    }
  }
  return problems;
}
