/**
 * Bad input to deploy-blue-green: exit 1, a message that names the input, and not one write
 * reaching the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import {
  BLUE_GREEN_ROLE,
  deploymentManifest,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;
let ws: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  kubeconfig = sandbox.kubeconfigFor(BLUE_GREEN_ROLE);
  ws = await workspace({
    'k8s/good.yaml': `${deploymentManifest()}---\n${serviceManifest()}`,
    'k8s/two.yaml': `${deploymentManifest()}---\n${deploymentManifest({ name: 'api' })}`,
    'k8s/broken.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n spec: [',
    'k8s/invalid.yaml': deploymentManifest().replace('replicas: 3', 'replicas: "three"'),
    '.github/deploy.yml': 'environments:\n  staging:\n    namespace: shop\n',
  });
});
afterAll(async () => sandbox?.stop());

type Case = [title: string, inputs: Record<string, string>, input: string, mention: string];

const good = { manifests: 'k8s/good.yaml' };
const cases: Case[] = [
  ['no manifests and no images', {}, 'manifests', 'nothing to deploy'],
  ['a manifest file that does not exist', { manifests: 'k8s/missing.yaml' }, 'manifests', 'k8s/missing.yaml'],
  ['broken YAML', { manifests: 'k8s/broken.yaml' }, 'manifests', 'k8s/broken.yaml:'],
  ['two Deployments', { manifests: 'k8s/two.yaml' }, 'manifests', 'exactly one Deployment'],
  ['an invalid object (schema)', { manifests: 'k8s/invalid.yaml' }, 'manifests', 'replicas'],
  ['an images line without =', { ...good, images: 'ghcr.io/acme/web' }, 'images', 'container=image'],
  [
    'an image override matching no container',
    { ...good, images: 'api=ghcr.io/acme/api:1' },
    'images',
    'matches no container',
  ],
  ['images only, without app', { images: 'web=ghcr.io/acme/web:2' }, 'app', 'is required'],
  ['an unknown route', { ...good, route: 'nginx' }, 'route', 'one of service, istio, gateway-api'],
  [
    'a colour label that is no label key',
    { ...good, 'color-label': 'my label!' },
    'color-label',
    'label key',
  ],
  [
    'pre-switch checks that are a mapping',
    { ...good, 'pre-switch-checks': 'kind: http' },
    'pre-switch-checks',
    'list',
  ],
  [
    'a pre-switch check of an unknown kind',
    { ...good, 'pre-switch-checks': '- { kind: ping }' },
    'pre-switch-checks',
    'ping',
  ],
  [
    'a post-switch http check without url',
    { ...good, 'post-switch-checks': '- { kind: http }' },
    'post-switch-checks',
    'url',
  ],
  ['a malformed verify-duration', { ...good, 'verify-duration': '2 minutes' }, 'verify-duration', 'duration'],
  ['a keep-previous that is no boolean', { ...good, 'keep-previous': '1h' }, 'keep-previous', 'true'],
  ['yes for auto-rollback', { ...good, 'auto-rollback': 'yes' }, 'auto-rollback', 'true or false'],
  ['an unknown on-cancel', { ...good, 'on-cancel': 'ignore' }, 'on-cancel', 'one of rollback, leave'],
  [
    'a preview Service that is the live Service',
    { ...good, 'preview-service': 'web' },
    'preview-service',
    'must differ',
  ],
  ['a namespace that is not a name', { ...good, namespace: 'Shop_Prod' }, 'namespace', 'Kubernetes name'],
  ['an unknown environment', { ...good, environment: 'prod' }, 'environment', 'one of staging'],
  ['a garbage kubeconfig', { ...good, kubeconfig: 'not a kubeconfig at all' }, 'kubeconfig', 'kubeconfig'],
  [
    'an istio route whose VirtualService does not exist',
    { ...good, route: 'istio' },
    'VirtualService',
    'does not exist',
  ],
];

describe('deploy-blue-green bad input', () => {
  it.each(cases)('%s', async (_title, inputs, input, mention) => {
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await runAction({
      action: 'deploy-blue-green',
      cwd: ws,
      inputs: { kubeconfig, namespace: 'shop', ...inputs },
    });
    expect(result.exitCode, result.log).toBe(1);
    const message = result.errors.join('\n');
    expect(message).toMatch(new RegExp(`\\b${input}\\b`));
    expect(message).toContain(mention);
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
  });
});
