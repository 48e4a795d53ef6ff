/**
 * The contract between a workflow and our actions, checked across files as actionlint cannot:
 * every `uses:` of an action against its action.yml (unknown `with:` keys, missing required
 * inputs counting what the deploy config supplies, literal values the action would refuse),
 * `steps.<id>.outputs.<name>` against the outputs the action declares, calls of reusable
 * workflows against their `workflow_call` inputs and secrets, and `needs.<job>.outputs.<name>`
 * against the outputs the job declares.
 */
import { parseDeployConfig, type ConfigEntryValue } from '@cd-actions/core/config/config';
import { fillChecks, parseChecks } from '@cd-actions/core/gate/parse';
import type { ActionContract, CrossInputRequirement } from './actions.js';
import type { Entry, Job, Step, Workflow, WorkflowCall } from './workflow.js';

export type Rule =
  | 'unknown-action'
  | 'unknown-input'
  | 'missing-input'
  | 'bad-value'
  | 'unknown-environment'
  | 'unknown-step'
  | 'unknown-output'
  | 'call-target'
  | 'call-input'
  | 'call-secret'
  | 'needs-output'
  | 'deploy-config';

export interface Problem {
  readonly file: string;
  readonly line: number;
  readonly rule: Rule;
  /** The action and input concerned, when there are: what an allowance matches on. */
  readonly action?: string;
  readonly input?: string;
  readonly message: string;
}

/** The deploy config's environments: name → leaf key (`gate.checks`) → value. */
export type Environments = ReadonlyMap<string, ReadonlyMap<string, ConfigEntryValue>>;

export interface ContractContext {
  readonly actions: ReadonlyMap<string, ActionContract>;
  readonly requirements: readonly CrossInputRequirement[];
  readonly environments: Environments;
  /** Reusable workflows a job may call, by the path it names (`.github/workflows/deploy.yml`). */
  readonly workflows: ReadonlyMap<string, Workflow>;
  /**
   * Where relative paths in literal inputs resolve. Undefined for README snippets: the files they
   * name are in the reader's repository, so inputs that read a file are not judged there.
   */
  readonly workspace: string | undefined;
}

const DEFAULT_CONFIG = '.github/deploy.yml';
const CHECK_INPUTS = new Set(['checks', 'pre-switch-checks', 'post-switch-checks']);
/** Inputs whose literal value may name a file that must exist (a PEM bundle). */
const FILE_READING_INPUTS = new Set(['prometheus-ca', 'payload-file-path']);
/** Stands in for a Prometheus URL that a workflow gives by expression or the config supplies. */
const SOME_PROMETHEUS = 'http://prometheus.invalid:9090';
/** The placeholders the deploy actions fill in their checks (`${color}`...), as their own rules fill them. */
const CHECK_PLACEHOLDERS = {
  color: 'blue',
  deployment: 'app-blue',
  canary: 'app-canary',
  version: 'canary',
  stable: 'app',
};

/** The action a `uses:` names, if it is one of ours: `<owner>/cd-actions/actions/<name>@<ref>` or `./actions/<name>`. */
export function ourAction(uses: string | undefined): string | undefined {
  if (uses === undefined) return undefined;
  return (/^[^/\s]+\/cd-actions\/actions\/([^@/\s]+)@\S+$/.exec(uses) ??
    /^\.\/actions\/([^@/\s]+)$/.exec(uses))?.[1];
}

const isExpression = (value: string): boolean => value.includes('${{');

/** The environments whose config entry a step reads: one literal, every one for an expression. */
function environmentsOf(step: Step, context: ContractContext): string[] {
  const given = new Map(step.with.map((entry) => [entry.name, entry.value]));
  const config = given.get('config');
  if (config !== undefined && config !== DEFAULT_CONFIG) return [];
  const environment = given.get('environment');
  if (environment === undefined || environment === '') return [];
  if (isExpression(environment)) return [...context.environments.keys()];
  return context.environments.has(environment) ? [environment] : [];
}

function checkStep(file: string, job: Job, step: Step, context: ContractContext): Problem[] {
  const name = ourAction(step.uses);
  if (name === undefined) return [];
  const action = context.actions.get(name);
  const at = (line: number, rule: Rule, message: string, input?: string): Problem => ({
    file,
    line,
    rule,
    action: name,
    ...(input !== undefined ? { input } : {}),
    message: `${file}:${line}: job ${job.id}, ${name}: ${message}`,
  });
  if (!action) {
    return [at(step.line, 'unknown-action', `no action "${name}" in actions/ (${step.uses})`)];
  }
  const problems: Problem[] = [];
  const given = new Map(step.with.filter((entry) => entry.value !== '').map((entry) => [entry.name, entry]));
  const environments = environmentsOf(step, context);

  const environment = given.get('environment');
  if (
    environment &&
    !isExpression(environment.value) &&
    context.environments.size > 0 &&
    !context.environments.has(environment.value) &&
    given.get('config') === undefined
  ) {
    problems.push(
      at(
        environment.line,
        'unknown-environment',
        `environment "${environment.value}" is not in the deploy config (${[...context.environments.keys()].join(', ')})`,
        'environment',
      ),
    );
  }

  for (const entry of step.with) {
    if (!action.inputs.has(entry.name)) {
      problems.push(
        at(
          entry.line,
          'unknown-input',
          `no input "${entry.name}"; it has ${[...action.inputs.keys()].join(', ')}`,
          entry.name,
        ),
      );
    }
  }

  /** Given by the step, or supplied by the config entry of every environment the step may run in. */
  const present = (input: string): boolean => {
    if (given.has(input)) return true;
    const key = action.configKeys.get(input);
    return (
      key !== undefined &&
      environments.length > 0 &&
      environments.every((env) => context.environments.get(env)?.has(key))
    );
  };
  const whereFrom = (inputs: readonly string[]): string => {
    const keys = inputs.flatMap((input) => action.configKeys.get(input) ?? []);
    return keys.length > 0 ? ` (nor ${keys.join(', ')} of the environment in the deploy config)` : '';
  };

  for (const [input, declared] of action.inputs) {
    if (declared.required && !present(input))
      problems.push(
        at(step.line, 'missing-input', `input "${input}" is required${whereFrom([input])}`, input),
      );
  }
  for (const requirement of context.requirements.filter((r) => r.action === name)) {
    if (!requirementApplies(requirement, given)) continue;
    if (requirement.anyOf.some(present)) continue;
    const names = requirement.anyOf.map((input) => `"${input}"`).join(' or ');
    const condition = requirement.when ? ` with "${requirement.when.input}"` : '';
    problems.push(
      at(
        step.line,
        'missing-input',
        `input ${names} is required${condition}${whereFrom(requirement.anyOf)}`,
        requirement.anyOf[0],
      ),
    );
  }

  for (const entry of step.with) {
    const problem = badValue(entry, action, (input) => present(input), context.workspace);
    if (problem) problems.push(at(entry.line, 'bad-value', problem, entry.name));
  }
  return problems;
}

function requirementApplies(requirement: CrossInputRequirement, given: ReadonlyMap<string, Entry>): boolean {
  const when = requirement.when;
  if (!when) return true;
  const value = given.get(when.input)?.value;
  if (when.is === 'given') return value !== undefined;
  if (value === undefined) return true;
  // An expression may be any value: the requirement cannot be judged, so it is not charged.
  return !isExpression(value) && when.is.absentOr.includes(value);
}

/** A literal value the action would refuse, parsed by the action's own input spec. */
function badValue(
  entry: Entry,
  action: ActionContract,
  present: (input: string) => boolean,
  workspace: string | undefined,
): string | undefined {
  const spec = action.spec[entry.name];
  if (!spec || isExpression(entry.value) || entry.value === '') return undefined;
  if (workspace === undefined && FILE_READING_INPUTS.has(entry.name)) return undefined;
  const roots = { workspace: workspace ?? '/nonexistent-workspace', runnerTemp: undefined };
  const parsed = spec.parse(entry.value.trim(), { roots });
  if (!parsed.ok) {
    const reason = parsed.reason ? `${parsed.reason}; ` : '';
    return `input "${entry.name}" has value ${JSON.stringify(entry.value)}: ${reason}expected ${parsed.accepted ?? spec.accepted}`;
  }
  if (!CHECK_INPUTS.has(entry.name)) return undefined;
  const { problems } = parseChecks(fillChecks(parsed.value, CHECK_PLACEHOLDERS), {
    namespace: 'default',
    prometheusUrl: present('prometheus-url') ? SOME_PROMETHEUS : undefined,
  });
  return problems.length > 0 ? `input "${entry.name}": ${problems.join('; ')}` : undefined;
}

function stepOutputs(file: string, job: Job, context: ContractContext): Problem[] {
  const problems: Problem[] = [];
  const steps = new Map(
    job.steps.flatMap((step) => (step.id === undefined ? [] : [[step.id, step] as const])),
  );
  for (const text of job.texts) {
    for (const [, id, output] of text.value.matchAll(
      /\bsteps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g,
    )) {
      const step = steps.get(id!);
      const where = `${file}:${text.line}: job ${job.id}`;
      if (!step) {
        problems.push({
          file,
          line: text.line,
          rule: 'unknown-step',
          message: `${where}: steps.${id}.outputs.${output}: no step with id "${id}" in the job`,
        });
        continue;
      }
      const name = ourAction(step.uses);
      const action = name === undefined ? undefined : context.actions.get(name);
      if (action && !action.outputs.has(output!)) {
        problems.push({
          file,
          line: text.line,
          rule: 'unknown-output',
          action: action.name,
          message: `${where}: steps.${id}.outputs.${output}: ${action.name} has no output "${output}"; it has ${[...action.outputs].join(', ')}`,
        });
      }
    }
  }
  return problems;
}

function localWorkflow(uses: string | undefined): string | undefined {
  return uses === undefined ? undefined : /^\.\/(.+\.ya?ml)$/.exec(uses)?.[1];
}

function checkCall(file: string, job: Job, context: ContractContext): Problem[] {
  const path = localWorkflow(job.uses);
  if (path === undefined) return [];
  const at = (line: number, rule: Rule, message: string): Problem => ({
    file,
    line,
    rule,
    message: `${file}:${line}: job ${job.id} calls ${path}: ${message}`,
  });
  const target = context.workflows.get(path);
  if (!target) return [at(job.line, 'call-target', 'no such workflow')];
  if (!target.call) return [at(job.line, 'call-target', 'it has no workflow_call trigger')];
  const problems: Problem[] = [];
  const compare = (rule: Rule, kind: string, passed: readonly Entry[], declared: WorkflowCall) => {
    const list = rule === 'call-input' ? declared.inputs : declared.secrets;
    const names = new Set(list.map((d) => d.name));
    for (const entry of passed) {
      if (!names.has(entry.name))
        problems.push(at(entry.line, rule, `passes ${kind} "${entry.name}", which it does not declare`));
    }
    const given = new Set(passed.map((entry) => entry.name));
    for (const declaration of list) {
      if (declaration.required && !declaration.hasDefault && !given.has(declaration.name))
        problems.push(at(job.line, rule, `does not pass the required ${kind} "${declaration.name}"`));
    }
  };
  compare('call-input', 'input', job.with, target.call);
  if (job.secrets !== 'inherit') compare('call-secret', 'secret', job.secrets, target.call);
  return problems;
}

function needsOutputs(file: string, workflow: Workflow, job: Job, context: ContractContext): Problem[] {
  const problems: Problem[] = [];
  const jobs = new Map(workflow.jobs.map((j) => [j.id, j]));
  for (const text of job.texts) {
    for (const [, id, output] of text.value.matchAll(
      /\bneeds\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g,
    )) {
      const where = `${file}:${text.line}: job ${job.id}: needs.${id}.outputs.${output}`;
      const needed = jobs.get(id!);
      const problem = (message: string): Problem => ({
        file,
        line: text.line,
        rule: 'needs-output',
        message: `${where}: ${message}`,
      });
      if (!job.needs.includes(id!)) {
        problems.push(problem(`"${id}" is not in the job's needs`));
        continue;
      }
      if (!needed) {
        problems.push(problem(`no job "${id}"`));
        continue;
      }
      const called = localWorkflow(needed.uses);
      const outputs = called === undefined ? needed.outputs : context.workflows.get(called)?.call?.outputs;
      if (outputs && !outputs.includes(output!))
        problems.push(problem(`job ${id} declares no output "${output}"`));
    }
  }
  return problems;
}

/** Every problem of one workflow (or README snippet). */
export function checkWorkflow(workflow: Workflow, context: ContractContext): Problem[] {
  return workflow.jobs.flatMap((job) => [
    ...job.steps.flatMap((step) => checkStep(workflow.file, job, step, context)),
    ...stepOutputs(workflow.file, job, context),
    ...checkCall(workflow.file, job, context),
    ...needsOutputs(workflow.file, workflow, job, context),
  ]);
}

/**
 * The deploy config as the actions read it (the schema, with the line of each issue) and the
 * gate.checks of every environment as the gate parses them. Returns its environments for the
 * workflow checks.
 */
export function checkDeployConfig(
  text: string,
  file: string,
): { environments: Environments; problems: Problem[] } {
  const loaded = parseDeployConfig(text, file);
  if (!loaded.ok) {
    return {
      environments: new Map(),
      problems: loaded.problems.map((p) => ({
        file,
        line: p.line ?? 1,
        rule: 'deploy-config' as const,
        message: p.message,
      })),
    };
  }
  const environments =
    loaded.config?.environments ?? new Map<string, ReadonlyMap<string, ConfigEntryValue>>();
  const problems: Problem[] = [];
  for (const [name, entry] of environments) {
    const checks = entry.get('gate.checks');
    if (!checks) continue;
    const prometheusUrl = entry.get('gate.prometheus-url')?.value;
    const parsed = parseChecks(checks.value, {
      namespace: 'default',
      prometheusUrl: typeof prometheusUrl === 'string' ? prometheusUrl : undefined,
    });
    problems.push(
      ...parsed.problems.map((p) => ({
        file,
        line: checks.line,
        rule: 'deploy-config' as const,
        message: `${file}:${checks.line}: environments.${name}.gate.checks: ${p}`,
      })),
    );
  }
  return { environments, problems };
}

/** A problem the check knows about and lets pass for now, with why and until when. */
export interface Allowance {
  readonly rule: Rule;
  readonly action: string;
  readonly input: string;
  readonly why: string;
}

/** The problems no allowance covers, and the allowances that covered nothing (stale ones). */
export function applyAllowances(
  problems: readonly Problem[],
  allowances: readonly Allowance[],
): { problems: Problem[]; unused: Allowance[] } {
  const used = new Set<Allowance>();
  const left = problems.filter((problem) => {
    const allowance = allowances.find(
      (a) => a.rule === problem.rule && a.action === problem.action && a.input === problem.input,
    );
    if (allowance) used.add(allowance);
    return !allowance;
  });
  return { problems: left, unused: allowances.filter((a) => !used.has(a)) };
}
