/**
 * The example pipeline runs: the deploy workflow of workflows-examples/
 * (.github/workflows/deploy.yml) for the dev environment, its job's steps run in order by the
 * step runner of test/workflows/evaluator.ts — our actions' committed bundles against the sandbox,
 * with `with:`, `if:` and step outputs evaluated as the runner would — in a copy of the example
 * folder, with the Role its README documents. A healthy release ends deployed with a success
 * notice; a release whose home page fails the dev gate is put back by the workflow's rollback
 * step, the job fails, and the notice says rolled back.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import type { FaultRule } from '../../packages/sandbox/src/faults.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { runJob, type JobRun } from '../workflows/evaluator.js';
import { DEPLOYER_ROLE, imageOf, kind, live, readyPodImages, startTestSandbox } from './fixtures.js';

const EXAMPLES = resolve(import.meta.dirname, '../../workflows-examples');
const WORKFLOW = '.github/workflows/deploy.yml';
const ENVIRONMENT = 'dev';
/** A channel the Slack stand-in has: it knows only #deploys, #alerts and #general. */
const SLACK_CHANNEL = '#deploys';

const GOOD = 'ghcr.io/acme/storefront-web:1.0.0';
const BROKEN = 'ghcr.io/acme/storefront-web:1.1.0';

interface DevEntry {
  namespace: string;
  app: string;
}

let sandbox: Sandbox;
let checkout: string;
let dev: DevEntry;
let kubeconfig: string;
let stopPages: () => void;

/**
 * The page `/` each image serves: the app's index (what the dev gate's `home` check looks for)
 * or, for BROKEN, 500s. The sandbox tells versions apart by the pods' `version` label, which the
 * example keeps `stable` for every release; so the page follows the image the Deployment rolls
 * out, switching the moment its template changes (the gate runs once the rollout is done).
 */
function servePagesByImage(namespace: string, deployment: string): () => void {
  const pageOf = (image: string | undefined): Pick<FaultRule, 'status' | 'body'> =>
    image === BROKEN
      ? { status: 500, body: { error: 'the release under test is broken' } }
      : { status: 200, body: '<script src="flutter_bootstrap.js" async></script>' };
  let served: string | undefined;
  let removeRule = (): void => undefined;
  const stopWatch = sandbox.store.watch(kind('Deployment'), namespace, undefined, (event) => {
    if (event.object.metadata.name !== deployment || event.type === 'DELETED') return;
    const image = imageOf(event.object);
    if (image === served) return;
    served = image;
    removeRule();
    removeRule = sandbox.faults.add({
      target: 'workload',
      name: `page of ${image}`,
      match: { path: /^\/$/ },
      ...pageOf(image),
    });
  });
  return () => {
    stopWatch();
    removeRule();
  };
}

/** A checkout of the example folder, its dev notices sent to a channel the Slack stand-in has. */
async function exampleCheckout(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'example-pipeline-'));
  await cp(EXAMPLES, dir, { recursive: true });
  const configPath = join(dir, '.github', 'deploy.yml');
  const config = parseDocument(await readFile(configPath, 'utf8'));
  config.setIn(['environments', ENVIRONMENT, 'slack', 'channel'], SLACK_CHANNEL);
  await writeFile(configPath, config.toString());
  return dir;
}

/** The example's deploy workflow for dev, called as pipeline.yml calls it, with this image. */
function release(image: string): Promise<JobRun> {
  return runJob({
    workflow: join(checkout, WORKFLOW),
    job: 'deploy',
    inputs: { environment: ENVIRONMENT, image },
    secrets: { KUBECONFIG: kubeconfig, SLACK_BOT_TOKEN: sandbox.slack.token },
    workspace: checkout,
    env: { SLACK_API_URL: `${sandbox.slack.url}/api` },
    stepTimeoutMs: 4 * 60_000,
  });
}

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
  const config = parse(await readFile(join(EXAMPLES, '.github', 'deploy.yml'), 'utf8')) as {
    environments: Record<string, DevEntry>;
  };
  dev = config.environments[ENVIRONMENT]!;
  sandbox = await startTestSandbox({ namespaces: [dev.namespace], rps: 5 });
  checkout = await exampleCheckout();
  // The README's KUBECONFIG: limited to the environment's namespace, with the Roles of
  // deploy-rolling and health-gate (get on services/proxy for the gate's http checks).
  kubeconfig = sandbox.kubeconfigFor({
    ...DEPLOYER_ROLE,
    name: `example-${ENVIRONMENT}`,
    namespaces: [dev.namespace],
    resources: [...DEPLOYER_ROLE.resources, 'services/proxy'],
  });
  stopPages = servePagesByImage(dev.namespace, dev.app);
});
afterAll(async () => {
  stopPages?.();
  await sandbox?.stop();
  if (checkout) await rm(checkout, { recursive: true, force: true });
});

describe(`the example deploy workflow, ${ENVIRONMENT} (rolling)`, () => {
  it('a healthy release: deployed, gated, the job succeeds and the notice says success', async () => {
    const run = await release(GOOD);

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
    const run = await release(BROKEN);

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
