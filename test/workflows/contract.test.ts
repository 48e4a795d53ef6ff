import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { CROSS_INPUT_REQUIREMENTS, loadActions, type ActionContract } from './actions.js';
import {
  applyAllowances,
  checkDeployConfig,
  checkWorkflow,
  ourAction,
  type Allowance,
  type ContractContext,
  type Environments,
  type Problem,
} from './contract.js';
import { parseWorkflow, yamlBlocks, type Workflow } from './workflow.js';

const root = resolve(import.meta.dirname, '../..');
const examples = join(root, 'workflows-examples');

/**
 * Problems known and let pass, each until the change that ends it. The test fails when one no
 * longer matches anything, so an entry is removed as soon as its reason is gone.
 */
const ALLOWED: readonly Allowance[] = [];

let actions: Map<string, ActionContract>;
beforeAll(async () => {
  actions = await loadActions(root);
});

const SNIPPET_USES = /uses:\s*\S+\/cd-actions\/actions\//;

function exampleWorkflows(): Workflow[] {
  const dir = join(examples, '.github', 'workflows');
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .map((name) => {
      const path = join(dir, name);
      const workflow = parseWorkflow(readFileSync(path, 'utf8'), relative(root, path));
      if (!workflow) throw new Error(`${path} is not a workflow`);
      return workflow;
    });
}

/** The README snippets that use our actions: the root README's and each action's. */
function readmeSnippets(): Workflow[] {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'actions')).map((name) => join('actions', name, 'README.md')),
  ];
  return files.flatMap((file) => {
    let markdown: string;
    try {
      markdown = readFileSync(join(root, file), 'utf8');
    } catch {
      return [];
    }
    return yamlBlocks(markdown, SNIPPET_USES).flatMap(
      (block) => parseWorkflow(block.text, file, block.line - 1) ?? [],
    );
  });
}

function exampleContext(environments: Environments, workflows: readonly Workflow[]): ContractContext {
  return {
    actions,
    requirements: CROSS_INPUT_REQUIREMENTS,
    environments,
    workflows: new Map(workflows.map((w) => [relative(examples, join(root, w.file)), w])),
    workspace: examples,
  };
}

describe('workflows-examples and the README snippets', () => {
  const configFile = join(examples, '.github', 'deploy.yml');

  it('the example deploy config passes the actions schema, and every gate.checks parses', () => {
    const { environments, problems } = checkDeployConfig(
      readFileSync(configFile, 'utf8'),
      relative(root, configFile),
    );
    expect(problems.map((p) => p.message)).toEqual([]);
    expect([...environments.keys()]).toEqual(['dev', 'test', 'staging', 'production']);
    for (const [name, entry] of environments)
      expect(entry.has('gate.checks'), `${name} has a health gate`).toBe(true);
  });

  it('use every action, from the four workflows of the pipeline', () => {
    const workflows = exampleWorkflows();
    expect(workflows.map((w) => w.file.split('/').at(-1)).sort()).toEqual([
      'canary.yml',
      'deploy.yml',
      'pipeline.yml',
      'rollback.yml',
    ]);
    const used = new Set(
      workflows.flatMap((w) =>
        w.jobs.flatMap((job) => job.steps.flatMap((step) => ourAction(step.uses) ?? [])),
      ),
    );
    expect([...used].sort()).toEqual([...actions.keys()].sort());
    expect(readmeSnippets().length).toBeGreaterThanOrEqual(10);
  });

  it('keep the contract of every action they use, and of every workflow they call', () => {
    const { environments } = checkDeployConfig(readFileSync(configFile, 'utf8'), 'deploy.yml');
    const workflows = exampleWorkflows();
    const context = exampleContext(environments, workflows);
    const problems = [
      ...workflows.flatMap((w) => checkWorkflow(w, context)),
      ...readmeSnippets().flatMap((w) => checkWorkflow(w, { ...context, workspace: undefined })),
    ];
    const { problems: left, unused } = applyAllowances(problems, ALLOWED);

    expect(left.map((p) => p.message)).toEqual([]);
    expect(unused, 'allow-list entries that match nothing any more: remove them').toEqual([]);
  });
});

describe('the contract check finds', () => {
  const CONFIG = `
environments:
  checked:
    app: web
    gate:
      checks: [{ kind: pods, deployment: web }]
    slack: { channel: C0123456789 }
  bare:
    namespace: shop
`;
  function check(source: string, workflows: Record<string, string> = {}): Problem[] {
    const { environments, problems } = checkDeployConfig(CONFIG, 'deploy.yml');
    expect(problems).toEqual([]);
    const called = Object.entries(workflows).map(([path, text]) => parseWorkflow(text, path)!);
    const context: ContractContext = {
      actions,
      requirements: CROSS_INPUT_REQUIREMENTS,
      environments,
      workflows: new Map(called.map((w) => [w.file, w])),
      workspace: root,
    };
    return checkWorkflow(parseWorkflow(source, 'broken.yml')!, context);
  }
  const rules = (problems: Problem[]): string[] => problems.map((p) => `${p.rule} ${p.line}`);

  it('a with: key the action does not declare, on its line', () => {
    const problems = check(`
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - uses: your-org/cd-actions/actions/deploy-rolling@v1
        with:
          manifest: k8s/*.yaml
`);
    expect(rules(problems)).toEqual(['unknown-input 8']);
    expect(problems[0]!.message).toContain('no input "manifest"');
  });

  it('an action that does not exist', () => {
    expect(rules(check('- uses: your-org/cd-actions/actions/deploy-rollin@v1'))).toEqual([
      'unknown-action 1',
    ]);
  });

  it('a required input not given', () => {
    const problems = check(`
- uses: your-org/cd-actions/actions/notify-slack@v1
  with:
    webhook-url: \${{ secrets.SLACK_WEBHOOK }}
`);
    expect(problems.map((p) => [p.rule, p.input])).toEqual([['missing-input', 'status']]);
  });

  it('an input required unless the deploy config supplies it, for every environment the step may run in', () => {
    const gate = (environment: string) => `
- uses: your-org/cd-actions/actions/health-gate@v1
  with:
    environment: ${environment}
`;
    expect(check(gate('checked'))).toEqual([]);
    const bare = check(gate('bare'));
    expect(rules(bare)).toEqual(['missing-input 2']);
    expect(bare[0]!.message).toContain('"checks" or "url" or "query" or "deployment" is required');
    expect(bare[0]!.message).toContain('gate.checks');
    // An expression may name any environment: each must supply it.
    expect(rules(check(gate('${{ inputs.environment }}')))).toEqual(['missing-input 2']);
  });

  it('the requirements across inputs: app or deployment, channel with token', () => {
    const rollback = (environment: string) => `
- uses: your-org/cd-actions/actions/rollback@v1
  with:
    environment: ${environment}
`;
    expect(check(rollback('checked'))).toEqual([]);
    expect(check(rollback('bare')).map((p) => p.input)).toEqual(['app']);
    const notice = (environment: string) => `
- uses: your-org/cd-actions/actions/notify-slack@v1
  with:
    token: \${{ secrets.SLACK_BOT_TOKEN }}
    environment: ${environment}
    status: started
`;
    expect(check(notice('checked'))).toEqual([]);
    expect(check(notice('bare')).map((p) => p.input)).toEqual(['channel']);
  });

  it('an environment the deploy config does not define', () => {
    expect(
      rules(
        check(
          '- { uses: your-org/cd-actions/actions/health-gate@v1, with: { environment: prod, url: https://x.example } }',
        ),
      ),
    ).toEqual(['unknown-environment 1']);
  });

  it('literal values the action would refuse, checks included', () => {
    const problems = check(`
- uses: your-org/cd-actions/actions/canary-step@v1
  with:
    images: web=ghcr.io/acme/web:1
    route: istoi
    weight: 150
- uses: your-org/cd-actions/actions/deploy-rolling@v1
  with:
    images: web=ghcr.io/acme/web:1
    checks: |
      - { kind: pods }
      - { kind: prometheus, template: success-rate, service: web }
`);
    expect(rules(problems)).toEqual(['bad-value 5', 'bad-value 6', 'bad-value 10']);
    expect(problems[0]!.message).toContain('"istoi"');
    expect(problems[2]!.message).toMatch(/deployment/);
    expect(problems[2]!.message).toMatch(/no Prometheus URL/);
  });

  it('an output the action does not declare, and a step that does not exist', () => {
    const problems = check(`
- id: gate
  uses: your-org/cd-actions/actions/health-gate@v1
  with: { url: https://shop.example.com/healthz }
- if: always()
  uses: your-org/cd-actions/actions/notify-slack@v1
  with:
    webhook-url: \${{ secrets.SLACK_WEBHOOK }}
    status: \${{ steps.gate.outputs.verdicts == 'pass' && 'success' || 'failure' }}
    report: \${{ steps.gaet.outputs.report }}
    text: \${{ steps.gate.outputs.failed-checks }}
`);
    expect(rules(problems)).toEqual(['unknown-output 9', 'unknown-step 10']);
    expect(problems[0]!.message).toContain('health-gate has no output "verdicts"');
  });

  const CALLED = `
on:
  workflow_call:
    inputs:
      environment: { type: string, required: true }
      image: { type: string, required: true }
      strategy: { type: string, required: true, default: rolling }
    secrets:
      KUBECONFIG: { required: true }
      SLACK_BOT_TOKEN: { required: false }
    outputs:
      revision: { value: '\${{ jobs.deploy.outputs.revision }}' }
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps: [{ run: 'true' }]
`;

  it('workflow_call inputs and secrets that a caller leaves out or that the workflow does not declare', () => {
    const problems = check(
      `
jobs:
  dev:
    uses: ./.github/workflows/deploy.yml
    with:
      environment: dev
      imgae: ghcr.io/acme/web:1
    secrets:
      SLACK_TOKEN: \${{ secrets.SLACK_TOKEN }}
  test:
    uses: ./.github/workflows/deploy.yml
    with: { environment: test, image: ghcr.io/acme/web:1 }
    secrets: inherit
  prod:
    uses: ./.github/workflows/deplyo.yml
`,
      { '.github/workflows/deploy.yml': CALLED },
    );
    expect(problems.map((p) => p.message.replace(/^broken\.yml:\d+: /, ''))).toEqual([
      'job dev calls .github/workflows/deploy.yml: passes input "imgae", which it does not declare',
      'job dev calls .github/workflows/deploy.yml: does not pass the required input "image"',
      'job dev calls .github/workflows/deploy.yml: passes secret "SLACK_TOKEN", which it does not declare',
      'job dev calls .github/workflows/deploy.yml: does not pass the required secret "KUBECONFIG"',
      'job prod calls .github/workflows/deplyo.yml: no such workflow',
    ]);
  });

  it('needs.<job>.outputs that the job does not declare, or that the job does not need', () => {
    const problems = check(
      `
jobs:
  build:
    runs-on: ubuntu-latest
    outputs: { image: '\${{ steps.name.outputs.image }}' }
    steps: [{ id: name, run: 'echo image=x >> "$GITHUB_OUTPUT"' }]
  deploy:
    needs: build
    uses: ./.github/workflows/deploy.yml
    with: { environment: dev, image: '\${{ needs.build.outputs.imgae }}' }
    secrets: inherit
  report:
    needs: deploy
    runs-on: ubuntu-latest
    steps:
      - run: echo "\${{ needs.deploy.outputs.revision }} \${{ needs.deploy.outputs.revisions }} \${{ needs.build.outputs.image }}"
`,
      { '.github/workflows/deploy.yml': CALLED },
    );
    expect(problems.map((p) => p.message.replace(/^broken\.yml:\d+: /, ''))).toEqual([
      'job deploy: needs.build.outputs.imgae: job build declares no output "imgae"',
      'job report: needs.deploy.outputs.revisions: job deploy declares no output "revisions"',
      'job report: needs.build.outputs.image: "build" is not in the job\'s needs',
    ]);
  });

  it('problems in a README snippet, on the line of the README', () => {
    const markdown = [
      '# An action',
      '',
      '```yaml',
      '- uses: your-org/cd-actions/actions/rollback@v1',
      '  with:',
      '    app: web',
      '    to-revison: previous',
      '```',
      '',
      '```yaml',
      'checks: |',
      '  - { kind: pods, deployment: web }',
      '```',
    ].join('\n');
    const blocks = yamlBlocks(markdown, SNIPPET_USES);
    expect(blocks.map((b) => b.line)).toEqual([4]);
    const snippet = parseWorkflow(blocks[0]!.text, 'README.md', blocks[0]!.line - 1)!;
    const problems = checkWorkflow(snippet, exampleContext(new Map(), []));
    expect(problems.map((p) => `${p.rule} ${p.file}:${p.line} ${p.input}`)).toEqual([
      'unknown-input README.md:7 to-revison',
    ]);
  });

  it('problems an allowance covers pass, and an allowance that covers nothing is reported', () => {
    const problems = check(`
- uses: your-org/cd-actions/actions/deploy-rolling@v1
  with: { images: 'web=ghcr.io/acme/web:1', feature-flags: config/dev.yaml, manifest: k8s/ }
`);
    const allowances: Allowance[] = [
      { rule: 'unknown-input', action: 'deploy-rolling', input: 'feature-flags', why: 'coming' },
      { rule: 'unknown-input', action: 'rollback', input: 'feature-flags', why: 'stale' },
    ];
    const { problems: left, unused } = applyAllowances(problems, allowances);
    expect(left.map((p) => p.input)).toEqual(['manifest']);
    expect(unused.map((a) => a.why)).toEqual(['stale']);
  });

  it('a broken deploy config, with the line of the problem', () => {
    const { problems } = checkDeployConfig(
      'environments:\n  dev:\n    strategy: bluegreen\n  test:\n    gate:\n      checks: [{ kind: http }]\n',
      'deploy.yml',
    );
    expect(problems.map((p) => `${p.rule} ${p.line}`)).toEqual(['deploy-config 3']);
    const checks = checkDeployConfig(
      'environments:\n  test:\n    gate:\n      checks: [{ kind: http }]\n',
      'd.yml',
    );
    expect(checks.problems.map((p) => `${p.line} ${p.message}`)).toEqual([
      expect.stringMatching(/^4 d\.yml:4: environments\.test\.gate\.checks: .*url/),
    ]);
  });
});

describe('the requirements across inputs are the actions own rules', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  });

  /** Runs the action's own input validation with these inputs; the error's text, or '' when it passes. */
  async function validate(action: string, inputs: Record<string, string>): Promise<string> {
    const workspace = mkdtempSync(join(tmpdir(), 'contract-'));
    process.env.GITHUB_WORKSPACE = workspace;
    for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
    const module = (await import(join(root, 'actions', action, 'src', 'inputs.ts'))) as {
      getInputs?: () => unknown;
      readNotifySlackSettings?: () => unknown;
    };
    try {
      (module.getInputs ?? module.readNotifySlackSettings)!();
      return '';
    } catch (error) {
      return (error as Error).message;
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  }

  it.each(CROSS_INPUT_REQUIREMENTS.map((r) => [`${r.action}: ${r.anyOf.join(' or ')}`, r] as const))(
    '%s',
    async (_, requirement) => {
      const missing = await validate(requirement.action, requirement.probe);
      expect(missing).toMatch(/required/);
      expect(missing).toContain(`"${requirement.anyOf[0]}"`);
      expect(await validate(requirement.action, { ...requirement.probe, ...requirement.satisfy })).toBe('');
    },
  );
});
