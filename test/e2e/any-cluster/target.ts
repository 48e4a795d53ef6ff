/**
 * Where the portable e2e suite runs. With E2E_KUBECONFIG set it is real-cluster mode: the cluster
 * is reached only through that kubeconfig (and Prometheus through E2E_PROMETHEUS_URL, if given),
 * as a team's CI would reach theirs. Without it, an in-process sandbox stands in. Either way the
 * tests see only a kubeconfig, a Prometheus URL and a namespace of their own, and read the
 * cluster through @kubernetes/client-node, never through the sandbox's store.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { appendFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../../packages/sandbox/src/sandbox.js';

export const EXTERNAL_KUBECONFIG = process.env.E2E_KUBECONFIG || undefined;
const EXTERNAL_PROMETHEUS = process.env.E2E_PROMETHEUS_URL || undefined;

/**
 * What a check may need beyond a cluster. Known before any test runs, so that a check whose needs
 * are not met is never registered (and so never reported as passed) but listed as not applicable.
 */
export type Capability =
  /** A Prometheus that scrapes per-version request counters of the apps (and of their load). */
  | 'prometheus'
  /** Tokens limited to a README's Role, minted by the sandbox; a real cluster would need its own RBAC set-up. */
  | 'sandbox-tokens';

export const CAPABILITIES: ReadonlySet<Capability> = new Set<Capability>(
  EXTERNAL_KUBECONFIG ? (EXTERNAL_PROMETHEUS ? ['prometheus'] : []) : ['prometheus', 'sandbox-tokens'],
);

/** A real cluster pulls images, schedules pods and probes them: minutes, not the sandbox's seconds. */
const SLOW = 300_000;

/** Where checks that were not applicable are listed, one JSON line each (scripts/e2e-cluster.ts prints them). */
const NOT_APPLICABLE_FILE = resolve(
  process.env.E2E_NOT_APPLICABLE_FILE ??
    resolve(import.meta.dirname, '../../../.tmp/e2e-not-applicable.jsonl'),
);

/**
 * `it`, when this target has what the check needs; otherwise the check is written to the
 * not-applicable list with what it lacks, and not registered as a test at all.
 */
export function check(
  file: string,
  name: string,
  needs: Capability[],
  fn: () => Promise<void>,
  timeoutMs = SLOW,
): void {
  const missing = needs.filter((need) => !CAPABILITIES.has(need));
  if (missing.length === 0) {
    it(name, fn, timeoutMs);
    return;
  }
  mkdirSync(dirname(NOT_APPLICABLE_FILE), { recursive: true });
  appendFileSync(NOT_APPLICABLE_FILE, `${JSON.stringify({ file: basename(file), check: name, missing })}\n`);
}

export interface Target {
  mode: 'external cluster' | 'in-process sandbox';
  kubeconfig: string;
  prometheus?: string;
  /** A namespace created for this file and deleted after it. */
  namespace: string;
  /** The test app's image at a version: E2E_IMAGE in real-cluster mode (see test/cluster-app/). */
  image(version: string): string;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  /** The in-process sandbox, for what only it offers (limited tokens); undefined against an external cluster. */
  sandbox?: Sandbox;
  stop(): Promise<void>;
}

/** Versions the suite deploys; a real cluster needs the test app's image under each tag. */
export const VERSIONS = ['1.0.0', '2.0.0', '3.0.0'] as const;

export async function startTarget(testFile: string): Promise<Target> {
  let sandbox: Sandbox | undefined;
  let kubeconfig = EXTERNAL_KUBECONFIG;
  let prometheus = EXTERNAL_PROMETHEUS;
  if (!kubeconfig) {
    sandbox = await startSandbox({ rps: 40, prometheus: true });
    kubeconfig = sandbox.kubeconfig;
    prometheus = sandbox.prometheus;
  }
  const config = new KubeConfig();
  config.loadFromFile(kubeconfig);
  const core = config.makeApiClient(CoreV1Api);
  const namespace = `e2e-${basename(testFile, '.test.ts')}-${randomBytes(3).toString('hex')}`;
  await core.createNamespace({
    body: { metadata: { name: namespace, labels: { 'cd-actions.dev/e2e': 'true' } } },
  });
  const imageRepository = process.env.E2E_IMAGE || 'ghcr.io/acme/web';
  return {
    mode: sandbox ? 'in-process sandbox' : 'external cluster',
    kubeconfig,
    ...(prometheus ? { prometheus } : {}),
    namespace,
    image: (version) => `${imageRepository}:${version}`,
    core,
    apps: config.makeApiClient(AppsV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    ...(sandbox ? { sandbox } : {}),
    async stop() {
      // A real cluster deletes what the namespace holds; the sandbox goes away whole.
      if (sandbox) await sandbox.stop();
      else await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}

/**
 * Starts the target before the file's checks (then `setUp`, which gets it) and stops it after
 * them, deleting the file's namespace.
 */
export function useTarget(testFile: string, setUp: (target: Target) => Promise<void> | void): void {
  let started: Target | undefined;
  beforeAll(async () => {
    started = await startTarget(testFile);
    await setUp(started);
  }, SLOW);
  afterAll(async () => started?.stop(), SLOW);
}
