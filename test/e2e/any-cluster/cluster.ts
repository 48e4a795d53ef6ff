/**
 * The portable suite's manifests and its reads of the cluster, all through the Kubernetes API, so
 * they mean the same against a real cluster and against the sandbox.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  runAction,
  type ActionResult,
  type RunActionOptions,
} from '../../../packages/sandbox/src/harness.js';
import { workspace } from '../fixtures.js';
import type { Target } from './target.js';

let runs = 0;

/**
 * Runs a committed bundle against the target with its kubeconfig and namespace (inputs may
 * override both). With E2E_SUMMARY_DIR set, the job summary is kept there, as the kind workflow
 * uploads them.
 */
export async function runOn(
  target: Target,
  action: string,
  files: Record<string, string>,
  inputs: Record<string, string | undefined>,
  /** The runner's side: another run (GITHUB_RUN_ID), or a hook on the output as it comes. */
  runner: Pick<RunActionOptions, 'env' | 'onOutput'> = {},
): Promise<ActionResult> {
  const result = await runAction({
    ...runner,
    action,
    cwd: await workspace(files),
    inputs: {
      kubeconfig: await readFile(target.kubeconfig, 'utf8'),
      namespace: target.namespace,
      timeout: '3m',
      ...inputs,
    },
    timeoutMs: 280_000,
  });
  const summaries = process.env.E2E_SUMMARY_DIR;
  if (summaries) {
    await mkdir(summaries, { recursive: true });
    runs += 1;
    const name = `${target.namespace}-${String(runs).padStart(2, '0')}-${action}-exit${result.exitCode}.md`;
    await writeFile(join(summaries, name), result.summary);
  }
  return result;
}

export interface AppSpec {
  name: string;
  version: string;
  replicas?: number;
  /** The test app's behaviour (test/cluster-app/README.md; the same contract as the sandbox's workloads). */
  env?: Record<string, string>;
  /** Label the pods `version: <version>` (rolling); blue-green sets the label to the colour itself. */
  versionLabel?: boolean;
}

/**
 * A Deployment of the test app with what a real cluster needs and the sandbox ignores: a readiness
 * probe on /ready, the version label handed to the app through the downward API (its metrics label
 * requests with it), and IfNotPresent so images loaded into a kind node are used.
 */
export function deploymentYaml(target: Target, app: AppSpec): string {
  const env = Object.entries(app.env ?? {})
    .map(([name, value]) => `            - { name: ${name}, value: ${JSON.stringify(value)} }\n`)
    .join('');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${app.name}
  labels: { app: ${app.name} }
spec:
  replicas: ${app.replicas ?? 2}
  progressDeadlineSeconds: 600
  selector:
    matchLabels: { app: ${app.name} }
  strategy:
    type: RollingUpdate
    rollingUpdate: { maxSurge: 1, maxUnavailable: 0 }
  template:
    metadata:
      labels: { app: ${app.name}${app.versionLabel === false ? '' : `, version: "${app.version}"`} }
    spec:
      terminationGracePeriodSeconds: 5
      containers:
        - name: app
          image: ${target.image(app.version)}
          imagePullPolicy: IfNotPresent
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet: { path: /ready, port: 8080 }
            periodSeconds: 1
          env:
            - name: VERSION
              valueFrom:
                fieldRef: { fieldPath: "metadata.labels['version']" }
${env}`;
}

export function serviceYaml(name: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: { app: ${name} }
  ports:
    - { port: 80, targetPort: 8080 }
`;
}

function isReady(pod: V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Images of the app's Ready pods, sorted. */
export async function readyImages(target: Target, app: string): Promise<string[]> {
  const pods = await target.core.listNamespacedPod({
    namespace: target.namespace,
    labelSelector: `app=${app}`,
  });
  return pods.items
    .filter(isReady)
    .map((pod) => pod.spec?.containers[0]?.image ?? '')
    .sort();
}

export async function templateImage(target: Target, name: string): Promise<string | undefined> {
  const deployment = await target.apps.readNamespacedDeployment({ name, namespace: target.namespace });
  return deployment.spec?.template.spec?.containers[0]?.image;
}

/** The deployment record our actions keep in an annotation of the object they manage. */
export function recordOf(object: {
  metadata?: { annotations?: Record<string, string> };
}): Record<string, unknown> {
  return JSON.parse(object.metadata?.annotations?.['cd-actions.dev/record'] ?? '{}') as Record<
    string,
    unknown
  >;
}

/** The app's history entries as the ConfigMap in the cluster holds them, oldest first. */
export async function historyOf(target: Target, app: string): Promise<Record<string, unknown>[]> {
  const configMap = await target.core
    .readNamespacedConfigMap({ name: `cd-actions-history-${app}`, namespace: target.namespace })
    .catch(() => undefined);
  return Object.entries(configMap?.data ?? {})
    .filter(([key]) => key.startsWith('entry-'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, text]) => JSON.parse(text) as Record<string, unknown>);
}

/** Whether an object still exists, by a read that must answer 404 when it does not. */
export async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (error) {
    if ((error as { code?: number }).code === 404) return false;
    throw error;
  }
}

/** Polls until `condition` holds, or fails naming what it waited for. */
export async function waitUntil(
  what: string,
  condition: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Steady load on a Service from inside the cluster, as users' traffic would come: a Deployment of
 * the test app in its load mode, which counts what it sent in Prometheus. The sandbox sends its own
 * load to every Service, so there the load pod is only a simulated pod.
 */
export async function startLoad(target: Target, service: string): Promise<void> {
  const name = `load-${service}`;
  const labels = { app: name };
  await target.apps.createNamespacedDeployment({
    namespace: target.namespace,
    body: {
      metadata: { name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: 'load',
                image: target.image(VERSION_OF_LOAD),
                imagePullPolicy: 'IfNotPresent',
                args: ['load', `http://${service}.${target.namespace}.svc/`, '--rps', '20'],
              },
            ],
          },
        },
      },
    },
  });
}
const VERSION_OF_LOAD = '1.0.0';

/** An instant query; NaN when Prometheus has no sample (no data is not zero). */
export async function promValue(target: Target, query: string): Promise<number> {
  const url = new URL('/api/v1/query', target.prometheus);
  url.searchParams.set('query', query);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Prometheus answered ${response.status} to ${query}`);
  const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
  const first = body.data.result[0];
  return first ? Number(first.value[1]) : Number.NaN;
}
