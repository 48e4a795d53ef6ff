/** Manifests and sandbox set-up shared by the e2e tests. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RESOURCE_TYPES, type ResourceType } from '../../packages/sandbox/src/resources.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';

export const FAST_TIMINGS = {
  podStartMs: 50,
  readyAfterMs: 100,
  crashRestartMs: 150,
  progressCheckMs: 200,
  // Pods answer for 1.5 s after deletion, longer than the slowest node's kube-proxy lag (below),
  // as a preStop sleep makes them do on a real cluster.
  terminationMs: 1500,
  // The data plane lags the API as a real one does: kube-proxy up to 1 s, a mesh's push 0.5 s.
  dataPlane: { kubeProxyMs: 1000, meshPushMs: 500 },
};

export function startTestSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({ rps: 0, timings: FAST_TIMINGS, namespaces: ['shop', 'other'], ...options });
}

export interface AppOptions {
  name?: string;
  namespace?: string;
  image?: string;
  replicas?: number;
  env?: Record<string, string>;
  progressDeadlineSeconds?: number;
}

export function deploymentManifest(o: AppOptions = {}): string {
  const name = o.name ?? 'web';
  const env = Object.entries(o.env ?? {})
    .map(([k, v]) => `            - name: ${k}\n              value: "${v}"`)
    .join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${o.namespace ? `  namespace: ${o.namespace}\n` : ''}  labels:
    app: ${name}
spec:
  replicas: ${o.replicas ?? 3}
  progressDeadlineSeconds: ${o.progressDeadlineSeconds ?? 600}
  selector:
    matchLabels:
      app: ${name}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: ${name}
          image: ${o.image ?? 'ghcr.io/acme/web:1.0.0'}
          ports:
            - containerPort: 8080
${env ? `          env:\n${env}\n` : ''}`;
}

export function serviceManifest(name = 'web'): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector:
    app: ${name}
  ports:
    - port: 80
      targetPort: 8080
`;
}

/** A workspace folder with the given files, as a checkout would have them. */
export async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'workspace-'));
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(path, '..'), { recursive: true }));
    await writeFile(path, text);
  }
  return dir;
}

/**
 * What every deploy and rollback touches: the app's objects, its history, its config-files
 * ConfigMaps (listed and deleted once unused; ReplicaSets and pods listed to see what refers to
 * them) and its lock. A sandbox token has one verb list for all its resources, so it grants
 * every verb the README Roles give any of them.
 */
const APP_RESOURCES = [
  'deployments.apps',
  'replicasets.apps',
  'pods',
  'events',
  'configmaps',
  'services',
  'leases.coordination.k8s.io',
];

/** The minimal rights deploy-rolling and rollback document (actions/deploy-rolling/README.md), as a sandbox token. */
export const DEPLOYER_ROLE = {
  name: 'deployer',
  namespaces: ['shop'],
  verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
  resources: [...APP_RESOURCES, 'horizontalpodautoscalers.autoscaling'],
};

/** The Role in actions/deploy-blue-green/README.md: the app's objects, plus EndpointSlices, the Service proxy and the routes. */
export const BLUE_GREEN_ROLE = {
  ...DEPLOYER_ROLE,
  name: 'blue-green',
  resources: [
    ...APP_RESOURCES,
    'horizontalpodautoscalers.autoscaling',
    'endpointslices.discovery.k8s.io',
    'services/proxy',
    'virtualservices.networking.istio.io',
    'httproutes.gateway.networking.k8s.io',
  ],
};

/** The Role in actions/canary-step/README.md: the app's objects, the Service proxy, and the four routers' objects. */
export const CANARY_ROLE = {
  ...DEPLOYER_ROLE,
  name: 'canary',
  resources: [
    ...APP_RESOURCES,
    'services/proxy',
    'virtualservices.networking.istio.io',
    'destinationrules.networking.istio.io',
    'httproutes.gateway.networking.k8s.io',
    'ingresses.networking.k8s.io',
  ],
};

/** canary-step with dynamic-stable-scale: it also lists autoscalers, to refuse one that scales the stable. */
export const CANARY_DYNAMIC_ROLE = {
  ...CANARY_ROLE,
  name: 'canary-dynamic',
  resources: [...CANARY_ROLE.resources, 'horizontalpodautoscalers.autoscaling'],
};

export function kind(name: string): ResourceType {
  const found = RESOURCE_TYPES.find((t) => t.kind === name);
  if (!found) throw new Error(`no resource type ${name}`);
  return found;
}

/** Reads an object straight from the sandbox's store: what the cluster really holds. */
export function live(
  sandbox: Sandbox,
  kindName: string,
  namespace: string,
  name: string,
): KubeObject | undefined {
  return sandbox.store.get(kind(kindName), namespace, name);
}

export function imageOf(deployment: KubeObject | undefined): string | undefined {
  return (deployment as { spec?: { template?: { spec?: { containers?: { image: string }[] } } } } | undefined)
    ?.spec?.template?.spec?.containers?.[0]?.image;
}

/** Pods of a Deployment that are Ready, by image. */
export function readyPodImages(sandbox: Sandbox, namespace: string, app: string): string[] {
  return sandbox.store
    .list(kind('Pod'), namespace)
    .items.filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp)
    .filter((p) =>
      (p as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions?.some(
        (c) => c.type === 'Ready' && c.status === 'True',
      ),
    )
    .map((p) => (p as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image)
    .sort();
}

export interface HistoryEntryView {
  action: string;
  strategy: string;
  deployment: string;
  outcome: string;
  revision?: string;
  from?: string;
  to?: string;
  reason?: string;
  actor: string;
  images: Record<string, string>;
}

/** The app's history as the ConfigMap in the cluster holds it, oldest first. */
export function historyOf(sandbox: Sandbox, namespace: string, app: string): HistoryEntryView[] {
  const cm = live(sandbox, 'ConfigMap', namespace, `cd-actions-history-${app}`) as
    { data?: Record<string, string> } | undefined;
  return Object.entries(cm?.data ?? {})
    .filter(([key]) => key.startsWith('entry-'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, text]) => JSON.parse(text) as HistoryEntryView);
}

/**
 * A HorizontalPodAutoscaler `name` on Deployment `target` in shop that, as under load, has scaled
 * it to `replicas` (the sandbox runs no HPA controller). Returns its removal.
 */
export function autoscaled(sandbox: Sandbox, name: string, target: string, replicas: number): () => void {
  sandbox.store.create(kind('HorizontalPodAutoscaler'), {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: 'shop' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
      minReplicas: 2,
      maxReplicas: 10,
    },
  });
  const deployment = live(sandbox, 'Deployment', 'shop', target)!;
  sandbox.store.update(kind('Deployment'), {
    ...deployment,
    spec: { ...(deployment.spec as object), replicas },
  });
  return () => sandbox.store.delete(kind('HorizontalPodAutoscaler'), 'shop', name);
}

/**
 * Two or more versions of an app side by side behind one Service `app` (selecting `app` only),
 * one Deployment `<app>-<version>` each with two pods labelled `version: <version>`, each with
 * its own environment (SANDBOX_ERROR_RATE for its share of 500s): a canary beside its stable.
 */
export function createVersions(
  sandbox: Sandbox,
  app: string,
  versions: Record<string, Record<string, string>>,
  namespace = 'shop',
): void {
  for (const [version, env] of Object.entries(versions)) {
    const labels = { app, version };
    sandbox.store.create(kind('Deployment'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${app}-${version}`, namespace, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: app,
                image: `ghcr.io/acme/${app}:${version}`,
                ports: [{ containerPort: 8080 }],
                env: Object.entries(env).map(([name, value]) => ({ name, value })),
              },
            ],
          },
        },
      },
    });
  }
  sandbox.store.create(kind('Service'), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: app, namespace },
    spec: { selector: { app }, ports: [{ port: 80, targetPort: 8080 }] },
  });
}
