/**
 * The frame every action's main runs in: one place that turns a cancel (SIGINT/SIGTERM from the
 * runner) into an AbortSignal and any error into exactly one core.setFailed.
 */
import * as core from './io.js';

export interface ActionContext {
  /** Aborted when the runner cancels the run. */
  signal: AbortSignal;
  startedAt: number;
}

export async function runAction(main: (ctx: ActionContext) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) {
      core.warning(`Received ${signal}: the run was cancelled; stopping safely`);
      controller.abort(new Error(`cancelled by ${signal}`));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await main({ signal: controller.signal, startedAt: Date.now() });
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Ends the process once the step is done: an open keep-alive socket must not hold the runner. */
export function finish(): void {
  process.exit(process.exitCode ?? 0);
}
