import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_TYPES } from '../../../sandbox/src/resources.js';
import { startSandbox, type Sandbox } from '../../../sandbox/src/sandbox.js';
import { findAutoscaled } from './autoscalers.js';
import { createKube, type Kube } from './kube.js';
import { KubeObjects } from './objects.js';

const type = (kind: string) => RESOURCE_TYPES.find((t) => t.kind === kind)!;
const quiet = { env: {}, homeDir: '/nonexistent', setSecret: () => undefined };
let sandbox: Sandbox;
const kubes: Kube[] = [];

async function objectsFor(kubeconfig: string): Promise<KubeObjects> {
  const kube = await createKube({ kubeconfig, namespace: 'shop' }, quiet);
  kubes.push(kube);
  return new KubeObjects(kube);
}

function hpa(name: string, target: { kind: string; name: string }) {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: 'shop' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', ...target }, minReplicas: 1, maxReplicas: 9 },
  };
}

beforeAll(async () => {
  sandbox = await startSandbox({ rps: 0, namespaces: ['shop'] });
  for (const name of ['web', 'api', 'other']) {
    sandbox.store.create(type('Deployment'), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'shop' },
      spec: {
        replicas: 4,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image: 'x:1' }] } },
      },
    });
  }
  sandbox.store.create(type('HorizontalPodAutoscaler'), hpa('web', { kind: 'Deployment', name: 'web' }));
  sandbox.store.create(type('HorizontalPodAutoscaler'), hpa('api', { kind: 'StatefulSet', name: 'api' }));
  sandbox.store.create(type('HorizontalPodAutoscaler'), hpa('other', { kind: 'Deployment', name: 'other' }));
});
afterAll(async () => {
  await sandbox.stop();
});

describe('findAutoscaled', () => {
  it('names the Deployments among those deployed that an HPA scales, with their live replicas', async () => {
    const objects = await objectsFor(await readFile(sandbox.kubeconfig, 'utf8'));
    const found = await findAutoscaled(objects, 'shop', ['web', 'api', 'new'], () => undefined);
    expect(Object.fromEntries(found)).toEqual({ web: { hpa: 'web', replicas: 4 } });
  });

  it('warns and finds none when the identity may not list HPAs', async () => {
    const objects = await objectsFor(
      sandbox.kubeconfigFor({
        name: 'no-hpa',
        namespaces: ['shop'],
        verbs: ['get', 'list'],
        resources: ['deployments.apps'],
      }),
    );
    const warnings: string[] = [];
    const found = await findAutoscaled(objects, 'shop', ['web'], (m) => warnings.push(m));
    expect(found.size).toBe(0);
    expect(warnings).toEqual([
      "Could not list HorizontalPodAutoscalers in shop (403): if one scales web, the manifest's replicas override it. Grant list on horizontalpodautoscalers.autoscaling.",
    ]);
  });
});
