/**
 * The example pipeline, set up against a sandbox: the deploy workflow of workflows-examples/
 * (.github/workflows/deploy.yml) for the dev environment, in a copy of the example folder, with
 * the Role its README documents and pages that tell a healthy release from a broken one. Shared
 * by the e2e test (test/e2e/example-pipeline.test.ts), which asserts what each release leaves,
 * and the demo (scripts/demo.ts), which shows it: one setup, so the demo runs what the test checks.
 */
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, parseDocument } from 'yaml';
import type { FaultRule } from '../../packages/sandbox/src/faults.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { DEPLOYER_ROLE, imageOf, kind } from '../e2e/fixtures.js';
import { runJob, type JobRun } from './evaluator.js';

const EXAMPLES = resolve(import.meta.dirname, '../../workflows-examples');
const WORKFLOW = '.github/workflows/deploy.yml';
export const EXAMPLE_ENVIRONMENT = 'dev';
/** A channel the Slack stand-in has: it knows only #deploys, #alerts and #general. */
export const EXAMPLE_SLACK_CHANNEL = '#deploys';

/** A release whose home page loads the app, and one whose home page answers 500. */
export const EXAMPLE_IMAGES = {
  healthy: 'ghcr.io/acme/storefront-web:1.0.0',
  broken: 'ghcr.io/acme/storefront-web:1.1.0',
} as const;

/** Where the example deploys for dev, as its .github/deploy.yml says. */
export interface ExampleTarget {
  readonly namespace: string;
  readonly app: string;
}

/** The dev entry of the example's config: the namespace the sandbox must have before it starts. */
export function exampleTarget(): ExampleTarget {
  const config = parse(readFileSync(join(EXAMPLES, '.github', 'deploy.yml'), 'utf8')) as {
    environments: Record<string, ExampleTarget>;
  };
  const { namespace, app } = config.environments[EXAMPLE_ENVIRONMENT]!;
  return { namespace, app };
}

export interface Example extends ExampleTarget {
  readonly sandbox: Sandbox;
  /** The copy of the example folder the job runs in. */
  readonly checkout: string;
  /** The README's KUBECONFIG secret for dev. */
  readonly kubeconfig: string;
  /** Stops serving the pages and removes the checkout. */
  stop(): Promise<void>;
}

/**
 * The page `/` each image serves: the app's index (what the dev gate's `home` check looks for)
 * or, for the broken image, 500s. The sandbox tells versions apart by the pods' `version` label,
 * which the example keeps `stable` for every release; so the page follows the image the
 * Deployment rolls out, switching the moment its template changes (the gate runs once the
 * rollout is done). The rule matches only `stable` pods, leaving other apps of the sandbox alone.
 */
function servePagesByImage(sandbox: Sandbox, { namespace, app }: ExampleTarget): () => void {
  const pageOf = (image: string | undefined): Pick<FaultRule, 'status' | 'body'> =>
    image === EXAMPLE_IMAGES.broken
      ? { status: 500, body: { error: 'the release under test is broken' } }
      : { status: 200, body: '<script src="flutter_bootstrap.js" async></script>' };
  let served: string | undefined;
  let removeRule = (): void => undefined;
  const stopWatch = sandbox.store.watch(kind('Deployment'), namespace, undefined, (event) => {
    if (event.object.metadata.name !== app || event.type === 'DELETED') return;
    const image = imageOf(event.object);
    if (image === served) return;
    served = image;
    removeRule();
    removeRule = sandbox.faults.add({
      target: 'workload',
      name: `page of ${image}`,
      match: { path: /^\/$/, version: 'stable' },
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
  config.setIn(['environments', EXAMPLE_ENVIRONMENT, 'slack', 'channel'], EXAMPLE_SLACK_CHANNEL);
  await writeFile(configPath, config.toString());
  return dir;
}

/** Sets the example up in a sandbox started with the namespace of `exampleTarget()`. */
export async function prepareExample(sandbox: Sandbox): Promise<Example> {
  const target = exampleTarget();
  if (!sandbox.store.get(kind('Namespace'), undefined, target.namespace))
    throw new Error(`the sandbox has no namespace ${target.namespace}: start it with that namespace`);
  const checkout = await exampleCheckout();
  // The README's KUBECONFIG: limited to the environment's namespace, with the Roles of
  // deploy-rolling and health-gate (get on services/proxy for the gate's http checks).
  const kubeconfig = sandbox.kubeconfigFor({
    ...DEPLOYER_ROLE,
    name: `example-${EXAMPLE_ENVIRONMENT}`,
    namespaces: [target.namespace],
    resources: [...DEPLOYER_ROLE.resources, 'services/proxy'],
  });
  const stopPages = servePagesByImage(sandbox, target);
  return {
    ...target,
    sandbox,
    checkout,
    kubeconfig,
    async stop() {
      stopPages();
      await rm(checkout, { recursive: true, force: true });
    },
  };
}

/** The example's deploy workflow for dev, called as pipeline.yml calls it, with this image. */
export function releaseExample(example: Example, image: string): Promise<JobRun> {
  const { sandbox } = example;
  return runJob({
    workflow: join(example.checkout, WORKFLOW),
    job: 'deploy',
    inputs: { environment: EXAMPLE_ENVIRONMENT, image },
    secrets: { KUBECONFIG: example.kubeconfig, SLACK_BOT_TOKEN: sandbox.slack.token },
    workspace: example.checkout,
    env: { SLACK_API_URL: `${sandbox.slack.url}/api` },
    stepTimeoutMs: 4 * 60_000,
  });
}
