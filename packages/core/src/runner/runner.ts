/**
 * The one interface core code logs through. Core never calls @actions/core itself: the action
 * passes a Runner in (createActionsRunner below), and tests pass one that records.
 */
export interface Runner {
  info(text: string): void;
  /** A problem that does not fail the step: a job warning. */
  warn(text: string): void;
  /** Detail only a debugging user needs: shown when ACTIONS_STEP_DEBUG is set. */
  debug(text: string): void;
  /** Folds what `work` logs under one heading. The runner has no nested groups: only the engine opens them. */
  group<T>(title: string, work: () => Promise<T>): Promise<T>;
}

/** The runner's own log, loaded after input validation (see runner/io.ts for why not before). */
export async function createActionsRunner(): Promise<Runner> {
  const core = await import('@actions/core');
  return {
    info: (text) => core.info(text),
    warn: (text) => core.warning(text),
    debug: (text) => core.debug(text),
    group: (title, work) => core.group(title, work),
  };
}
