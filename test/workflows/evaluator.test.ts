/**
 * The workflow evaluator: the expression forms of the example deploy workflow, evaluated with
 * GitHub's semantics; every other form refused by name; the example's own conditions and closing
 * status worked through for each way a deploy can end; and the runner's checks before any step.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  condition,
  evaluate,
  expressionsIn,
  interpolate,
  parseExpression,
  runJob,
  type ExpressionContext,
  type StepState,
} from './evaluator.js';
import { parseWorkflow } from './workflow.js';

const DEPLOY_WORKFLOW = resolve(import.meta.dirname, '../../workflows-examples/.github/workflows/deploy.yml');

function step(outcome: StepState['outcome'], outputs: Record<string, string> = {}): StepState {
  return { outcome, conclusion: outcome, outputs };
}

function context(over: Partial<ExpressionContext> = {}): ExpressionContext {
  return {
    inputs: new Map([
      ['environment', 'dev'],
      ['image', 'ghcr.io/acme/web:1.2.0'],
      ['strategy', 'rolling'],
    ]),
    secrets: new Map([['KUBECONFIG', 'apiVersion: v1']]),
    env: new Map([['REGION', 'eu-west-1']]),
    stepIds: new Set(['notice', 'rolling', 'blue-green', 'gate', 'rollback']),
    steps: new Map(),
    jobStatus: 'success',
    ...over,
  };
}

describe('expressions', () => {
  const ran = context({
    steps: new Map([
      ['notice', step('success', { ts: '1700000000.000100' })],
      ['gate', step('failure', { 'failed-checks': 'home', report: '/tmp/gate.json' })],
    ]),
    jobStatus: 'failure',
  });

  it.each([
    ['inputs.environment', 'dev'],
    ['secrets.KUBECONFIG', 'apiVersion: v1'],
    ['env.REGION', 'eu-west-1'],
    ['steps.notice.outputs.ts', '1700000000.000100'],
    ['steps.gate.outputs.failed-checks', 'home'],
    ['steps.gate.outcome', 'failure'],
    ['steps.gate.conclusion', 'failure'],
    ['steps.gate.outputs.verdict', null],
    ['steps.rollback.outcome', null],
    ['job.status', 'failure'],
    ["'it''s'", "it's"],
    ['42', 42],
    ['-1.5', -1.5],
    ['true', true],
    ['!false', true],
    ['success()', false],
    ['failure()', true],
    ['cancelled()', false],
    ['always()', true],
  ])('%s → %j', (source, value) => {
    expect(evaluate(source, ran)).toEqual(value);
  });

  it.each([
    // Strings compare without case; different types compare as numbers.
    ["inputs.strategy == 'Rolling'", true],
    ["inputs.strategy != 'blue-green'", true],
    ["'1' == 1", true],
    ["'' == 0", true],
    ['true == 1', true],
    // && and || give an operand, not a boolean.
    ["inputs.environment && 'set'", 'set'],
    ["'' || 'fallback'", 'fallback'],
    ['steps.gate.outputs.report || steps.rolling.outputs.report', '/tmp/gate.json'],
    ["steps.rolling.outputs.report || ''", ''],
    // ! binds tighter than ==, == than &&, && than ||; parentheses first.
    ["!(steps.gate.outcome == 'success') && 'bad' || 'good'", 'bad'],
    ["(steps.gate.outcome == 'success' || steps.gate.outcome == 'failure') && 'seen'", 'seen'],
  ])('%s → %j', (source, value) => {
    expect(evaluate(source, ran)).toEqual(value);
  });

  it('puts each ${{ }} of a text in place, a "}}" inside a string literal included', () => {
    expect(
      interpolate("health gate ${{ steps.gate.outcome }} for ${{ inputs.image }}: ${{ '}}' }}", ran),
    ).toBe('health gate failure for ghcr.io/acme/web:1.2.0: }}');
    expect(interpolate('update-ts: ${{ steps.rolling.outputs.ts }}.', ran)).toBe('update-ts: .');
    expect(() => expressionsIn('config/${{ inputs.environment .yaml')).toThrow(/unclosed/);
  });

  it('reads an if: as the runner does: success() unless it names a status function', () => {
    const failed = context({ jobStatus: 'failure' });
    expect(condition(undefined, context())).toBe(true);
    expect(condition(undefined, failed)).toBe(false);
    expect(condition("inputs.strategy == 'rolling'", failed)).toBe(false);
    expect(condition("${{ inputs.strategy == 'rolling' }}", context())).toBe(true);
    expect(condition('always()', failed)).toBe(true);
    expect(condition("failure() && inputs.strategy == 'rolling'", failed)).toBe(true);
    expect(() => condition("x ${{ inputs.strategy == 'rolling' }}", context())).toThrow(/mixes text/);
  });

  it.each([
    ['github.ref', 'github.ref'],
    ['needs.image.outputs.image', 'needs.image.outputs.image'],
    ['matrix.os', 'matrix.os'],
    ['vars.REGION', 'vars.REGION'],
    ['steps.gate.result', 'steps.gate.result'],
    ['job.container', 'job.container'],
    ["contains(inputs.image, 'web')", 'contains()'],
    ["format('{0}', inputs.image)", 'format()'],
    ['success(1)', 'arguments to success()'],
    ['inputs.replicas < 3', '< 3'],
    ['null', 'null'],
    ["steps.gate.outputs['report']", "['report']"],
    ['steps.gate.outputs.*', '.*'],
    ['"dev"', '"dev"'],
    ['inputs.environment inputs.image', 'unexpected inputs.image'],
  ])('refuses %s, naming it', (source, named) => {
    expect(() => parseExpression(source)).toThrow(named);
  });

  it('refuses a name the workflow does not declare, instead of reading it as empty', () => {
    expect(() => evaluate('inputs.envirnoment', context())).toThrow(
      /inputs\.envirnoment: no such workflow input/,
    );
    expect(() => evaluate('secrets.SLACK_TOKEN', context())).toThrow(/no such workflow secret/);
    expect(() => evaluate('env.HOME', context())).toThrow(/no such env variable/);
    expect(() => evaluate('steps.gates.outcome', context())).toThrow(/steps\.gates: no step with that id/);
  });
});

describe('the example deploy workflow', () => {
  const source = readFileSync(DEPLOY_WORKFLOW, 'utf8');
  const raw = parse(source) as {
    jobs: { deploy: { steps: { id?: string; name?: string; if?: string; with?: Record<string, string> }[] } };
  };
  const steps = raw.jobs.deploy.steps;
  const byName = (name: string): (typeof steps)[number] =>
    steps.find((s) => s.id === name || s.name === name)!;

  it('uses only forms the evaluator knows', () => {
    const workflow = parseWorkflow(source, 'deploy.yml')!;
    const expressions = workflow.jobs.flatMap((job) =>
      job.texts.flatMap((text) => expressionsIn(text.value)),
    );
    expect(expressions.length).toBeGreaterThan(20);
    for (const expression of expressions) expect(() => parseExpression(expression), expression).not.toThrow();
    for (const s of steps.filter((s) => s.if !== undefined))
      expect(() => condition(s.if, context()), s.if).not.toThrow();
  });

  /** The closing notice's status and whether the rollback step runs, for one way the deploy ended. */
  function ending(
    jobStatus: 'success' | 'failure',
    ran: Record<string, StepState>,
  ): { rollback: boolean; status: string } {
    const before = context({ jobStatus, steps: new Map(Object.entries(ran)) });
    const status = byName('Slack notice (result)').with!.status!;
    return { rollback: condition(byName('rollback').if, before), status: interpolate(status, before) };
  }

  it.each<[string, 'success' | 'failure', Record<string, StepState>, { rollback: boolean; status: string }]>([
    [
      'all went well',
      'success',
      { rolling: step('success', { 'rolled-back': 'false' }), gate: step('success') },
      { rollback: false, status: 'success' },
    ],
    [
      'the gate failed, the rollback step put the previous version back',
      'failure',
      {
        rolling: step('success', { 'rolled-back': 'false' }),
        gate: step('failure'),
        rollback: step('success'),
      },
      { rollback: true, status: 'rolled-back' },
    ],
    [
      'the gate failed and so did the rollback',
      'failure',
      {
        rolling: step('success', { 'rolled-back': 'false' }),
        gate: step('failure'),
        rollback: step('failure'),
      },
      { rollback: true, status: 'failure' },
    ],
    [
      'the rollout failed and the deploy step rolled back itself',
      'failure',
      { rolling: step('failure', { 'rolled-back': 'true' }), gate: step('skipped') },
      { rollback: false, status: 'rolled-back' },
    ],
    [
      'blue-green switched back after its post-switch checks',
      'failure',
      {
        rolling: step('skipped'),
        'blue-green': step('failure', { 'rolled-back': 'true' }),
        gate: step('skipped'),
      },
      { rollback: false, status: 'rolled-back' },
    ],
    [
      'the rollout failed and nothing was put back',
      'failure',
      { rolling: step('failure', { 'rolled-back': 'false' }), gate: step('skipped') },
      { rollback: false, status: 'failure' },
    ],
  ])('%s', (_name, jobStatus, ran, expected) => {
    // Before the rollback step: its own outcome is not known yet when its if: is read.
    const { rollback: _outcome, ...beforeRollback } = ran;
    const whether = ending(jobStatus, beforeRollback).rollback;
    expect({ rollback: whether, status: ending(jobStatus, ran).status }).toEqual(expected);
  });
});

describe('the step runner refuses before running anything', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  async function job(steps: string): Promise<{ workflow: string; workspace: string }> {
    dir = await mkdtemp(join(tmpdir(), 'evaluator-'));
    await mkdir(join(dir, '.github', 'workflows'), { recursive: true });
    const workflow = join(dir, '.github', 'workflows', 'deploy.yml');
    await writeFile(
      workflow,
      `on:\n  workflow_call:\n    inputs:\n      strategy: { type: string, default: rolling }\njobs:\n  deploy:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`,
    );
    return { workflow, workspace: dir };
  }

  const run = async (steps: string, inputs: Record<string, string> = {}) =>
    runJob({ ...(await job(steps)), job: 'deploy', inputs, secrets: {}, stepTimeoutMs: 1000 });

  it('a step that reads the output of a step it does not run', async () => {
    await expect(
      run(
        `      - id: build\n        run: echo "image=web:1" >> "$GITHUB_OUTPUT"\n` +
          `      - uses: your-org/cd-actions/actions/notify-slack@v1\n        with:\n          version: \${{ steps.build.outputs.image }}\n          status: started\n`,
      ),
    ).rejects.toThrow(/reads steps\.build, which this runner does not run \(a run: step\)/);
  });

  it('a with: key the action does not declare', async () => {
    await expect(
      run(
        `      - uses: your-org/cd-actions/actions/notify-slack@v1\n        with:\n          status: started\n          colour: red\n`,
      ),
    ).rejects.toThrow(/notify-slack has no input "colour"/);
  });

  it('a step key it does not run', async () => {
    await expect(
      run(`      - uses: your-org/cd-actions/actions/notify-slack@v1\n        continue-on-error: true\n`),
    ).rejects.toThrow(/step key "continue-on-error"/);
  });

  it('an input the workflow does not declare', async () => {
    await expect(run(`      - run: echo hi\n`, { environment: 'dev' })).rejects.toThrow(
      /passes input "environment", which it does not declare/,
    );
  });

  it('runs nothing that its if: skips, and logs the steps it does not run', async () => {
    const result = await run(
      `      - uses: actions/checkout@v5\n      - run: echo hi\n` +
        `      - id: slack\n        if: inputs.strategy == 'blue-green'\n        uses: your-org/cd-actions/actions/notify-slack@v1\n        with:\n          status: started\n`,
    );
    expect(result.status).toBe('success');
    expect(result.step('slack')).toMatchObject({ outcome: 'skipped', inputs: {} });
    expect(result.step('slack').result).toBeUndefined();
    expect(result.log).toEqual([
      'actions/checkout@v5: not run (actions/checkout@v5 is not ours)',
      'run: not run (a run: step)',
      "slack: not run (if: inputs.strategy == 'blue-green' is false)",
    ]);
  });
});
