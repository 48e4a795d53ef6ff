/**
 * A rollback with checks ends with a `checks` phase on the version it restored. Until that
 * version serves, a failure puts back what served before (the engine's undo, as without checks).
 * Once it serves, nothing is put back any more: the version rolled back from is the one that was
 * bad, and there is nothing further to roll back to. So a gate that does not pass, or a cancel
 * while it runs, leaves the restored version serving, exits non-zero and says so: no flip-flop.
 */
import type { EngineOutcome, Phase } from '../engine/phases.js';
import type { GateDecision } from '../gate/types.js';
import { notPassedText, runVerifyGate } from '../strategies/rolling/gate.js';
import type { RollbackOptions } from './rollback.js';

export interface RestoredGate {
  /** The rollback's phases, with `checks` after them when checks were given. */
  phases: Phase[];
  /** Whether a stop now should put back what served before: only until the restored version serves. */
  undo(): boolean;
  /** The restored version serves: every phase before `checks` completed. */
  readonly serving: boolean;
  readonly decision: GateDecision | undefined;
}

/** `phases` as they are, or with the checks on the restored version (described by `restored()`) after them. */
export function gateRestored(o: RollbackOptions, phases: Phase[], restored: () => string): RestoredGate {
  const gate = o.gate;
  let serving = false;
  let decision: GateDecision | undefined;
  if (!gate) {
    return { phases, undo: () => true, serving, decision };
  }
  const last = phases.at(-1)!;
  return {
    phases: [
      ...phases.slice(0, -1),
      {
        ...last,
        run: async (ctx) => {
          await last.run(ctx);
          serving = true;
        },
      },
      {
        name: 'checks',
        run: async (ctx) => {
          await runVerifyGate(gate, ctx, {
            kube: o.kube,
            namespace: o.namespace,
            what: `the restored version (${restored()}) serves but did not verify`,
            keep: (d) => {
              decision = d;
            },
          });
        },
      },
    ],
    undo: () => !serving,
    get serving() {
      return serving;
    },
    get decision() {
      return decision;
    },
  };
}

/** Why the engine's skipped undo left the changes, once the restored version serves. */
export function keptBecause(g: RestoredGate): string | undefined {
  return g.undo()
    ? undefined
    : 'the restored version stays serving: it is what was rolled back to, and there is nothing further to go back to';
}

/**
 * The message of a rollback that restored its version but whose checks did not pass it (or were
 * cancelled, or lost the lock): what serves, why it stays, where traffic is.
 */
export function unverifiedMessage(
  g: RestoredGate,
  result: EngineOutcome & { traffic: string },
  o: { restored: string; from: string },
): string {
  const why =
    result.reason === 'cancelled'
      ? 'the run was cancelled while its checks ran'
      : result.reason === 'failed' && g.decision && !g.decision.passed
        ? notPassedText(g.decision)
        : (result.cause ?? 'its checks did not complete');
  return (
    `The rollback restored ${o.restored}, but the restored version did not verify: ${why}. ` +
    `There is nothing further to roll back to, so it stays serving (not switched back to ${o.from}, the version rolled back from). ` +
    `Traffic: ${result.traffic}`
  );
}

/** Whether the rollback stopped after its version was restored: in the checks, not before. */
export function restoredButUnverified(g: RestoredGate, result: EngineOutcome): boolean {
  return !result.ok && g.serving;
}
