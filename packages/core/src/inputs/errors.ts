/**
 * One bad input (or one bad entry of the deploy config file). `value` is the value as given,
 * with secrets already replaced by `***`, so a problem can be logged or annotated as is.
 */
export interface InputProblem {
  /** The action input, kebab-case as in action.yml (`config` for problems inside the config file). */
  readonly input: string;
  readonly value: string;
  /** What would have been accepted, e.g. `a duration such as 30s, 5m, 1h or 1h30m`. */
  readonly accepted: string;
  /** One line that says it all: input, value, where it came from and the accepted form. */
  readonly message: string;
  /** Set when the value came from a file, so the action can point an annotation at it. */
  readonly file?: string;
  readonly line?: number;
}

/**
 * Every problem with an action's inputs, reported at once: fixing one input per run is a slow
 * way to learn what an action wants. The message has one problem per line.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly problems: readonly InputProblem[];

  constructor(problems: readonly InputProblem[]) {
    super(problems.map((problem) => problem.message).join('\n'));
    this.problems = Object.freeze([...problems]);
  }
}
