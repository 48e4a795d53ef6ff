/**
 * The example pipeline runs: the deploy workflow of workflows-examples/
 * (.github/workflows/deploy.yml) for the dev environment, its job's steps run in order by the
 * step runner of test/workflows/evaluator.ts — our actions' committed bundles against the sandbox,
 * with `with:`, `if:` and step outputs evaluated as the runner would — in a copy of the example
 * folder, with the Role its README documents. A healthy release ends deployed with a success
 * notice; a release whose home page fails the dev gate is put back by the workflow's rollback
 * step, the job fails, and the notice says rolled back. The setup (checkout, Role, pages by image)
 * is test/workflows/example-release.ts, which the demo runs too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import type { JobRun } from '../workflows/evaluator.js';
import {
  EXAMPLE_ENVIRONMENT as ENVIRONMENT,
  EXAMPLE_IMAGES,
  EXAMPLE_SLACK_CHANNEL as SLACK_CHANNEL,
  exampleTarget,
  prepareExample,
  releaseExample,
  type Example,
} from '../workflows/example-release.js';
import { imageOf, live, readyPodImages, startTestSandbox } from './fixtures.js';

const GOOD = EXAMPLE_IMAGES.healthy;
const BROKEN = EXAMPLE_IMAGES.broken;
const dev = exampleTarget();

let sandbox: Sandbox;
let example: Example;

/** Every step's outcome, by id or name, for a message that shows the whole run. */
function outcomes(run: JobRun): Record<string, string> {
  return Object.fromEntries(run.steps.map((step) => [step.id ?? step.label, step.outcome]));
}

function explain(run: JobRun): string {
  return [
    ...run.log,
    ...run.steps.flatMap((step) =>
      step.result && step.outcome === 'failure' ? [`--- ${step.label}`, step.result.log.slice(-4000)] : [],
    ),
  ].join('\n');
}

/** The notice the started step posted, as it stands after the closing step updated it. */
function finalNotice(run: JobRun): { header: string; color: string; text: string } {
  const ts = run.step('notice').outputs.ts;
  expect(ts, explain(run)).toMatch(/^\d{10}\.\d{6}$/);
  const message = sandbox.slack.message(SLACK_CHANNEL, ts!);
  expect(message?.method).toBe('chat.update');
  const blocks = message?.blocks as { text?: { text: string } }[] | undefined;
  const attachments = message?.attachments as { color: string }[] | undefined;
  return {
    header: blocks?.[0]?.text?.text ?? '',
    color: attachments?.[0]?.color ?? '',
    text: JSON.stringify(attachments ?? []),
  };
}

/** The config the Deployment's pod template mounts: the ConfigMaps its volumes name, with their data. */
function mountedConfigData(namespace: string, deployment: string): string[] {
  const template = live(sandbox, 'Deployment', namespace, deployment) as
    { spec: { template: { spec: { volumes?: { configMap?: { name: string } }[] } } } } | undefined;
  return (template?.spec.template.spec.volumes ?? []).flatMap((volume) => {
    const name = volume.configMap?.name;
    const configMap = name
      ? (live(sandbox, 'ConfigMap', namespace, name) as { data?: object } | undefined)
      : undefined;
    return configMap?.data ? [JSON.stringify(configMap.data)] : [];
  });
}

beforeAll(async () => {
  sandbox = await startTestSandbox({ namespaces: [dev.namespace], rps: 5 });
  example = await prepareExample(sandbox);
});
afterAll(async () => {
  await example?.stop();
  await sandbox?.stop();
});

describe(`the example deploy workflow, ${ENVIRONMENT} (rolling)`, () => {
  it('a healthy release: deployed, gated, the job succeeds and the notice says success', async () => {
    const run = await releaseExample(example, GOOD);

    expect(run.status, explain(run)).toBe('success');
    expect(outcomes(run), explain(run)).toMatchObject({
      notice: 'success',
      rolling: 'success',
      'blue-green': 'skipped',
      gate: 'success',
      rollback: 'skipped',
      'Slack notice (result)': 'success',
    });
    expect(run.step('rolling').outputs['rolled-back']).toBe('false');
    expect(run.step('gate').outputs.verdict).toBe('pass');
    expect(run.steps.find((s) => s.label === 'Slack notice (result)')?.inputs.status).toBe('success');

    const deployment = live(sandbox, 'Deployment', dev.namespace, dev.app);
    expect(imageOf(deployment)).toBe(GOOD);
    expect(readyPodImages(sandbox, dev.namespace, dev.app)).toEqual([GOOD, GOOD]);
    // The release shipped config/dev.yaml with it.
    expect(mountedConfigData(dev.namespace, dev.app).join('\n')).toContain('environment: dev');

    const notice = finalNotice(run);
    expect(notice.header).toBe(`:white_check_mark: ${dev.app} ${GOOD} deployed to ${ENVIRONMENT}`);
    expect(notice.color).toBe('#2EB67D');
  }, 300_000);

  it('a release that fails its gate: the rollback step puts the previous image back, the job fails, the notice says rolled back', async () => {
    expect(
      imageOf(live(sandbox, 'Deployment', dev.namespace, dev.app)),
      'the healthy release runs first',
    ).toBe(GOOD);
    const run = await releaseExample(example, BROKEN);

    expect(run.status, explain(run)).toBe('failure');
    expect(outcomes(run), explain(run)).toMatchObject({
      notice: 'success',
      rolling: 'success',
      'blue-green': 'skipped',
      gate: 'failure',
      rollback: 'success',
      'Slack notice (result)': 'success',
    });
    // The rollout itself was fine: the deploy step did not roll back, the gate caught the release.
    expect(run.step('rolling').outputs['rolled-back']).toBe('false');
    expect(run.step('gate').outputs.verdict).toBe('fail');
    expect(run.step('gate').outputs['failed-checks']).toContain('home');
    expect(run.step('rollback').inputs.reason).toBe(
      `health gate failure for ${BROKEN}: ${run.step('gate').outputs['failed-checks']}`,
    );

    const deployment = live(sandbox, 'Deployment', dev.namespace, dev.app);
    expect(imageOf(deployment)).toBe(GOOD);
    expect(readyPodImages(sandbox, dev.namespace, dev.app)).toEqual([GOOD, GOOD]);

    expect(run.steps.find((s) => s.label === 'Slack notice (result)')?.inputs.status).toBe('rolled-back');
    const notice = finalNotice(run);
    expect(notice.header).toBe(`:rewind: ${dev.app} rolled back on ${ENVIRONMENT}`);
    expect(notice.color).toBe('#ECB22E');
    // The gate's report reached the notice: the report file the gate step left in RUNNER_TEMP.
    expect(notice.text).toContain('Gate verdict: fail');
    expect(notice.text).toContain('`home` fail');
  }, 300_000);
});
