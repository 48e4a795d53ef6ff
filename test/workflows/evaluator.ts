/**
 * Runs one job of a workflow the way the GitHub runner does, as far as our actions go: a small
 * evaluator for exactly the expression forms the example deploy workflow uses, and a step runner
 * that runs the committed bundles of our actions in order, through the sandbox harness, with
 * `with:` values, `if:` conditions and `steps.<id>.outputs.<name>` evaluated as the runner would.
 *
 * Nothing more general on purpose: a form the evaluator does not know (`github.*`, `contains()`,
 * `<`, `null`, an index) throws, naming it, so the e2e fails when the example grows one instead
 * of silently reading it as empty. `run:` steps and other actions (checkout...) are not run; a
 * job whose expressions read one of those steps is refused, as its value would be made up.
 * Cancellation is not simulated: `cancelled()` is false and no step is cancelled.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import { ourAction } from './contract.js';
import { parseWorkflow, type Step, type WorkflowCall } from './workflow.js';

const root = resolve(import.meta.dirname, '../..');

// ---------------------------------------------------------------------------------------------
// Expressions

export type Value = string | number | boolean | null;
export type Outcome = 'success' | 'failure' | 'cancelled' | 'skipped';
export type JobStatus = 'success' | 'failure' | 'cancelled';

/** A step as the `steps` context shows it once it has run (or been skipped). */
export interface StepState {
  readonly outcome: Outcome;
  readonly conclusion: Outcome;
  readonly outputs: Readonly<Record<string, string>>;
}

export interface ExpressionContext {
  /** Every declared input of the workflow, with the value given or its default. */
  readonly inputs: ReadonlyMap<string, Value>;
  /** Every declared secret; one the caller did not pass is ''. */
  readonly secrets: ReadonlyMap<string, string>;
  readonly env: ReadonlyMap<string, string>;
  /** Every step id of the job: a name outside it is a typo, not a step yet to run. */
  readonly stepIds: ReadonlySet<string>;
  /** The steps that have run so far, by id. */
  readonly steps: ReadonlyMap<string, StepState>;
  readonly jobStatus: JobStatus;
}

/** An expression form this evaluator does not know, or one that reads something undeclared. */
export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

const STATUS_FUNCTIONS = ['success', 'failure', 'cancelled', 'always'] as const;
type StatusFunction = (typeof STATUS_FUNCTIONS)[number];
type Operator = '==' | '!=' | '&&' | '||';

type Node =
  | { readonly kind: 'literal'; readonly value: Value }
  | { readonly kind: 'path'; readonly path: readonly string[] }
  | { readonly kind: 'call'; readonly name: StatusFunction }
  | { readonly kind: 'not'; readonly operand: Node }
  | { readonly kind: 'binary'; readonly op: Operator; readonly left: Node; readonly right: Node };

type Token =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'word'; readonly value: string }
  | { readonly kind: 'op'; readonly value: Operator | '!' | '(' | ')' };

const SEGMENT = '[A-Za-z_][A-Za-z0-9_-]*';
const WORD = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})*`);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    if (rest.startsWith("'")) {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= source.length) throw new ExpressionError(`unterminated string in "${source}"`);
        if (source[j] === "'") {
          if (source[j + 1] !== "'") break;
          j += 1; // '' is a quote inside the string
        }
        value += source[j];
        j += 1;
      }
      tokens.push({ kind: 'string', value });
      i = j + 1;
      continue;
    }
    const op = /^(==|!=|&&|\|\||!|\(|\))/.exec(rest);
    if (op) {
      tokens.push({ kind: 'op', value: op[0] as Operator | '!' | '(' | ')' });
      i += op[0].length;
      continue;
    }
    const number = /^-?\d+(?:\.\d+)?(?![\w.])/.exec(rest);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const word = WORD.exec(rest);
    // A path that goes on with `.*`, `[` or a trailing dot is a form we do not know.
    if (word && !/^[.[]/.test(rest.slice(word[0].length))) {
      // Named here, before its arguments (a comma...) would be reported instead.
      const call = /^\s*\(/.test(rest.slice(word[0].length));
      if (call && !STATUS_FUNCTIONS.includes(word[0] as StatusFunction))
        throw new ExpressionError(`unknown function ${word[0]}() in "${source}"`);
      tokens.push({ kind: 'word', value: word[0] });
      i += word[0].length;
      continue;
    }
    throw new ExpressionError(`unknown form "${rest.slice(0, 24)}" in "${source}"`);
  }
  return tokens;
}

/** Whether a context path has one of the shapes we evaluate. */
function knownPath(path: readonly string[]): boolean {
  const [context, second, third] = path;
  switch (context) {
    case 'inputs':
    case 'secrets':
    case 'env':
      return path.length === 2;
    case 'job':
      return path.length === 2 && second === 'status';
    case 'steps':
      return (
        (path.length === 3 && (third === 'outcome' || third === 'conclusion')) ||
        (path.length === 4 && third === 'outputs')
      );
    default:
      return false;
  }
}

/** Parses one expression (the text inside `${{ }}`, or an `if:`). */
export function parseExpression(source: string): Node {
  const tokens = tokenize(source);
  let at = 0;
  const peek = (): Token | undefined => tokens[at];
  const isOp = (value: string): boolean => peek()?.kind === 'op' && peek()?.value === value;
  const fail = (what: string): never => {
    throw new ExpressionError(`${what} in "${source}"`);
  };

  const primary = (): Node => {
    const token = tokens[at++];
    if (!token) return fail('unexpected end');
    if (token.kind === 'string' || token.kind === 'number') return { kind: 'literal', value: token.value };
    if (token.kind === 'op') {
      if (token.value === '!') return { kind: 'not', operand: primary() };
      if (token.value !== '(') return fail(`unexpected "${token.value}"`);
      const inner = or();
      if (!isOp(')')) fail('missing ")"');
      at += 1;
      return inner;
    }
    if (token.value === 'true' || token.value === 'false')
      return { kind: 'literal', value: token.value === 'true' };
    if (isOp('(')) {
      at += 1;
      // The tokenizer refused any other function by name.
      const name = token.value as StatusFunction;
      if (!isOp(')')) fail(`arguments to ${token.value}()`);
      at += 1;
      return { kind: 'call', name };
    }
    const path = token.value.split('.');
    if (!knownPath(path)) fail(`unknown form "${token.value}"`);
    return { kind: 'path', path };
  };
  const binary = (next: () => Node, ops: readonly Operator[]) => (): Node => {
    let left = next();
    for (let token = peek(); token?.kind === 'op' && ops.includes(token.value as Operator); token = peek()) {
      at += 1;
      left = { kind: 'binary', op: token.value as Operator, left, right: next() };
    }
    return left;
  };
  const equality = binary(primary, ['==', '!=']);
  const and = binary(equality, ['&&']);
  const or: () => Node = binary(and, ['||']);

  const node = or();
  if (at < tokens.length) {
    const extra = tokens[at]!;
    fail(`unexpected ${extra.kind === 'string' ? `'${extra.value}'` : String(extra.value)}`);
  }
  return node;
}

function truthy(value: Value): boolean {
  return !(value === false || value === null || value === '' || value === 0 || Number.isNaN(value));
}

function toNumber(value: Value): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  return value.trim() === '' ? 0 : Number(value);
}

/** GitHub's loose equality: strings ignore case; values of different types compare as numbers. */
function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toUpperCase() === b.toUpperCase();
  if (typeof a === typeof b) return a === b;
  return toNumber(a) === toNumber(b);
}

/** A value as `${{ }}` puts it into a string. */
function asText(value: Value): string {
  return value === null ? '' : String(value);
}

function lookup(path: readonly string[], context: ExpressionContext): Value {
  const [name, key, field, output] = path as [string, string, string?, string?];
  const declared = <T>(map: ReadonlyMap<string, T>, what: string): T => {
    if (!map.has(key))
      throw new ExpressionError(`${name}.${key}: no such ${what} (${[...map.keys()].join(', ')})`);
    return map.get(key)!;
  };
  switch (name) {
    case 'inputs':
      return declared(context.inputs, 'workflow input');
    case 'secrets':
      return declared(context.secrets, 'workflow secret');
    case 'env':
      return declared(context.env, 'env variable');
    case 'job':
      return context.jobStatus;
    default: {
      if (!context.stepIds.has(key))
        throw new ExpressionError(`steps.${key}: no step with that id in the job`);
      // A step that has not run yet is not in the context: null, as on the runner.
      const step = context.steps.get(key);
      if (!step) return null;
      if (field === 'outputs') return step.outputs[output!] ?? null;
      return field === 'outcome' ? step.outcome : step.conclusion;
    }
  }
}

function evaluateNode(node: Node, context: ExpressionContext): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'path':
      return lookup(node.path, context);
    case 'call':
      if (node.name === 'always') return true;
      return context.jobStatus === node.name;
    case 'not':
      return !truthy(evaluateNode(node.operand, context));
    case 'binary': {
      const left = evaluateNode(node.left, context);
      // && and || give one of their operands, as in JavaScript.
      if (node.op === '&&') return truthy(left) ? evaluateNode(node.right, context) : left;
      if (node.op === '||') return truthy(left) ? left : evaluateNode(node.right, context);
      const same = equal(left, evaluateNode(node.right, context));
      return node.op === '==' ? same : !same;
    }
  }
}

export function evaluate(source: string, context: ExpressionContext): Value {
  return evaluateNode(parseExpression(source), context);
}

interface Span {
  readonly start: number;
  /** Just past the closing `}}`. */
  readonly end: number;
  readonly expression: string;
}

/** Where each `${{ }}` of a text is; a `}}` inside a string literal does not close it. */
function spans(text: string): Span[] {
  const found: Span[] = [];
  for (let start = text.indexOf('${{'); start >= 0; start = text.indexOf('${{', found.at(-1)!.end)) {
    let i = start + 3;
    let quoted = false;
    while (i < text.length && (quoted || !text.startsWith('}}', i))) {
      if (text[i] === "'") quoted = !quoted; // '' inside a string toggles twice
      i += 1;
    }
    if (i >= text.length) throw new ExpressionError(`unclosed "\${{" in "${text}"`);
    found.push({ start, end: i + 2, expression: text.slice(start + 3, i) });
  }
  return found;
}

/** The `${{ }}` expressions of a text, in order, each without its braces. */
export function expressionsIn(text: string): string[] {
  return spans(text).map((span) => span.expression);
}

/** A text with each `${{ expression }}` replaced by its value. */
export function interpolate(text: string, context: ExpressionContext): string {
  let result = '';
  let from = 0;
  for (const span of spans(text)) {
    result += text.slice(from, span.start) + asText(evaluate(span.expression, context));
    from = span.end;
  }
  return result + text.slice(from);
}

function usesStatusFunction(node: Node): boolean {
  switch (node.kind) {
    case 'call':
      return true;
    case 'not':
      return usesStatusFunction(node.operand);
    case 'binary':
      return usesStatusFunction(node.left) || usesStatusFunction(node.right);
    default:
      return false;
  }
}

/** An `if:` (bare, or one `${{ }}`) as the runner reads it; absent, it is `success()`. */
export function conditionExpression(condition: string | undefined): Node {
  if (condition === undefined) return { kind: 'call', name: 'success' };
  const trimmed = condition.trim();
  const wrapped = expressionsIn(trimmed);
  let source = trimmed;
  if (wrapped.length > 0) {
    if (wrapped.length !== 1 || trimmed !== `\${{${wrapped[0]}}}`)
      throw new ExpressionError(`unknown form: an if: that mixes text and \${{ }} ("${condition}")`);
    source = wrapped[0]!;
  }
  const node = parseExpression(source);
  // The runner adds success() unless the condition names a status function itself.
  return usesStatusFunction(node)
    ? node
    : { kind: 'binary', op: '&&', left: { kind: 'call', name: 'success' }, right: node };
}

export function condition(text: string | undefined, context: ExpressionContext): boolean {
  return truthy(evaluateNode(conditionExpression(text), context));
}

/** The step ids an expression reads (`steps.<id>.…`). */
function stepsRead(node: Node, into = new Set<string>()): Set<string> {
  if (node.kind === 'path' && node.path[0] === 'steps') into.add(node.path[1]!);
  if (node.kind === 'not') stepsRead(node.operand, into);
  if (node.kind === 'binary') {
    stepsRead(node.left, into);
    stepsRead(node.right, into);
  }
  return into;
}

// ---------------------------------------------------------------------------------------------
// The step runner

/** The step keys we run; any other (continue-on-error, timeout-minutes...) is a form we do not know. */
const STEP_KEYS = new Set(['id', 'name', 'if', 'uses', 'with', 'run']);

interface RawStep {
  readonly name?: string;
  readonly if?: string | boolean;
  readonly run?: string;
  readonly [key: string]: unknown;
}

interface RawWorkflow {
  readonly env?: Record<string, string>;
  readonly on?: { workflow_call?: { inputs?: Record<string, { default?: string | boolean | number }> } };
  readonly jobs?: Record<string, { env?: Record<string, string>; steps?: RawStep[] }>;
}

interface ActionYml {
  readonly inputs?: Record<string, { default?: string } | null>;
}

export interface JobRunOptions {
  /** The workflow file, inside `workspace` (its `.github/workflows/...`). */
  readonly workflow: string;
  readonly job: string;
  /** What the calling job passes (`with:`), by the workflow_call input names. */
  readonly inputs: Readonly<Record<string, string | number | boolean>>;
  readonly secrets: Readonly<Record<string, string>>;
  /** The checkout the steps run in (k8s/, config/, .github/deploy.yml). */
  readonly workspace: string;
  /** Environment of every action's process, over the runner's own (SLACK_API_URL...). */
  readonly env?: Readonly<Record<string, string>>;
  /** The longest one step may run before it is killed (and fails). */
  readonly stepTimeoutMs: number;
}

export interface StepRun {
  /** The step's name, else its id, else its `uses:`. */
  readonly label: string;
  readonly id?: string;
  /** Our action, when the step uses one. */
  readonly action?: string;
  readonly outcome: Outcome;
  /** Why it did not run: its `if:` was false, or it is not one of our actions. */
  readonly notRun?: string;
  /** The inputs it ran with, defaults included. */
  readonly inputs: Readonly<Record<string, string>>;
  readonly outputs: Readonly<Record<string, string>>;
  readonly result?: ActionResult;
}

export interface JobRun {
  readonly status: JobStatus;
  readonly steps: readonly StepRun[];
  /** One line per step: what ran, what was skipped and why. */
  readonly log: readonly string[];
  /** The run of the step with this id; throws for an id the job does not have. */
  step(id: string): StepRun;
}

function actionInputs(action: string): Map<string, string | undefined> {
  const path = join(root, 'actions', action, 'action.yml');
  if (!existsSync(path)) throw new Error(`no action "${action}" in actions/`);
  const yml = parse(readFileSync(path, 'utf8')) as ActionYml;
  return new Map(Object.entries(yml.inputs ?? {}).map(([name, declared]) => [name, declared?.default]));
}

interface ParsedJob {
  readonly file: string;
  /** The contract parser's view of each step (id, uses, with:, line) beside the raw keys it leaves out (if, name, run). */
  readonly steps: readonly { readonly step: Step; readonly raw: RawStep }[];
  readonly call: WorkflowCall | undefined;
  readonly raw: RawWorkflow;
}

function readJob(options: JobRunOptions): ParsedJob {
  const source = readFileSync(options.workflow, 'utf8');
  const file = relative(options.workspace, options.workflow);
  const workflow = parseWorkflow(source, file);
  const job = workflow?.jobs.find((j) => j.id === options.job);
  if (!workflow || !job) throw new Error(`${file}: no job "${options.job}"`);
  const raw = parse(source) as RawWorkflow;
  const rawSteps = raw.jobs?.[options.job]?.steps ?? [];
  return { file, steps: job.steps.map((step, i) => ({ step, raw: rawSteps[i]! })), call: workflow.call, raw };
}

/** The `inputs` context: what the caller passes, else the declared default; a required one missing is refused. */
function inputsOf(options: JobRunOptions, job: ParsedJob): Map<string, Value> {
  const defaults = job.raw.on?.workflow_call?.inputs ?? {};
  const declared = job.call?.inputs ?? [];
  for (const name of Object.keys(options.inputs)) {
    if (!declared.some((d) => d.name === name))
      throw new Error(`${job.file}: the caller passes input "${name}", which it does not declare`);
  }
  return new Map(
    declared.map((input) => {
      const value = options.inputs[input.name] ?? defaults[input.name]?.default;
      if (value === undefined && input.required)
        throw new Error(`${job.file}: input "${input.name}" is required`);
      return [input.name, value ?? ''];
    }),
  );
}

/** The `secrets` context: every declared secret, '' when the caller does not pass it. */
function secretsOf(options: JobRunOptions, job: ParsedJob): Map<string, string> {
  const declared = job.call?.secrets ?? [];
  for (const name of Object.keys(options.secrets)) {
    if (!declared.some((d) => d.name === name))
      throw new Error(`${job.file}: the caller passes secret "${name}", which it does not declare`);
  }
  return new Map(declared.map((d) => [d.name, options.secrets[d.name] ?? '']));
}

/**
 * Checks everything that can be checked before a step runs: every key of every step is one we
 * run, every expression parses, every `with:` key of our actions is declared (the runner would only warn; the contract test refuses it), and no expression
 * reads a step this runner does not run.
 */
function checkJob(file: string, steps: readonly { step: Step; raw: RawStep }[]): void {
  const notRun = new Map<string, string>();
  for (const { step, raw } of steps) {
    const where = `${file}:${step.line}`;
    for (const key of Object.keys(raw)) {
      if (!STEP_KEYS.has(key)) throw new ExpressionError(`${where}: unknown form: step key "${key}"`);
    }
    const read = new Set<string>();
    const texts = [raw.name ?? '', ...step.with.map((entry) => entry.value)];
    for (const text of texts) for (const e of expressionsIn(text)) stepsRead(parseExpression(e), read);
    if (raw.if !== undefined) stepsRead(conditionExpression(String(raw.if)), read);
    for (const id of read) {
      const why = notRun.get(id);
      if (why)
        throw new Error(
          `${where}: reads steps.${id}, which this runner does not run (${why}); run it here or drop the read`,
        );
    }
    const action = ourAction(step.uses);
    if (action) {
      const declared = actionInputs(action);
      for (const entry of step.with) {
        if (!declared.has(entry.name)) throw new Error(`${where}: ${action} has no input "${entry.name}"`);
      }
    } else if (step.id) {
      notRun.set(
        step.id,
        raw.run !== undefined ? 'a run: step' : `${step.uses ?? 'no uses:'} is not one of ours`,
      );
    }
  }
}

/** Runs the job's steps in order, as the runner does, and returns how each ended. */
export async function runJob(options: JobRunOptions): Promise<JobRun> {
  const job = readJob(options);
  const { steps, raw } = job;
  checkJob(job.file, steps);
  const inputs = inputsOf(options, job);
  const secrets = secretsOf(options, job);
  const stepIds = new Set(steps.flatMap(({ step }) => step.id ?? []));
  const states = new Map<string, StepState>();
  const runs: StepRun[] = [];
  const log: string[] = [];
  let jobStatus: JobStatus = 'success';
  const context = (env: ReadonlyMap<string, string>): ExpressionContext => ({
    inputs,
    secrets,
    env,
    stepIds,
    steps: states,
    jobStatus,
  });
  // Workflow and job env, later ones winning, their own expressions read with an empty env.
  const envEntries = { ...raw.env, ...raw.jobs?.[options.job]?.env };
  const env = new Map(
    Object.entries(envEntries).map(([k, v]) => [k, interpolate(String(v), context(new Map()))]),
  );
  // One RUNNER_TEMP for the whole job, as on the runner: a report a step writes there is read by a later step.
  const runnerTemp = await mkdtemp(join(tmpdir(), 'job-'));
  try {
    for (const { step, raw: rawStep } of steps) {
      const label = rawStep.name ? interpolate(rawStep.name, context(env)) : (step.id ?? step.uses ?? 'run');
      const action = ourAction(step.uses);
      const record = (run: Omit<StepRun, 'label' | 'inputs' | 'outputs'> & Partial<StepRun>): void => {
        const full: StepRun = {
          label,
          ...(step.id ? { id: step.id } : {}),
          ...(action ? { action } : {}),
          inputs: {},
          outputs: {},
          ...run,
        };
        runs.push(full);
        if (step.id)
          states.set(step.id, { outcome: full.outcome, conclusion: full.outcome, outputs: full.outputs });
        if (full.outcome === 'failure') jobStatus = 'failure';
        log.push(`${label}: ${full.notRun ? `not run (${full.notRun})` : full.outcome}`);
      };

      if (!condition(rawStep.if === undefined ? undefined : String(rawStep.if), context(env))) {
        record({ outcome: 'skipped', notRun: `if: ${String(rawStep.if ?? 'success()')} is false` });
        continue;
      }
      if (!action) {
        // checkJob made sure nothing reads it: it counts as a step that succeeded.
        record({
          outcome: 'success',
          notRun: rawStep.run !== undefined ? 'a run: step' : `${step.uses} is not ours`,
        });
        continue;
      }
      const declared = actionInputs(action);
      const given: Record<string, string> = {};
      for (const entry of step.with) given[entry.name] = interpolate(entry.value, context(env));
      // The runner gives every declared input with a default that the step does not set.
      for (const [name, fallback] of declared) {
        if (!(name in given) && fallback !== undefined) given[name] = fallback;
      }
      const result = await runAction({
        action,
        inputs: given,
        cwd: options.workspace,
        env: { ...Object.fromEntries(env), ...options.env, RUNNER_TEMP: runnerTemp },
        timeoutMs: options.stepTimeoutMs,
      });
      record({
        outcome: result.exitCode === 0 ? 'success' : 'failure',
        inputs: given,
        outputs: result.outputs,
        result,
      });
    }
  } finally {
    await rm(runnerTemp, { recursive: true, force: true });
  }
  return {
    status: jobStatus,
    steps: runs,
    log,
    step(id) {
      const run = runs.find((r) => r.id === id);
      if (!run)
        throw new Error(
          `no step "${id}" ran or was skipped (${runs.map((r) => r.id ?? r.label).join(', ')})`,
        );
      return run;
    },
  };
}
