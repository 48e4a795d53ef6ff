/**
 * Bad input to deploy-rolling and rollback: exit 1, a message that names the input, and not one
 * write reaching the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { DEPLOYER_ROLE, deploymentManifest, startTestSandbox, workspace } from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;
let ws: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  kubeconfig = sandbox.kubeconfigFor(DEPLOYER_ROLE);
  ws = await workspace({
    'k8s/good.yaml': deploymentManifest(),
    'k8s/broken.yaml': 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n spec: [',
    'k8s/invalid.yaml': deploymentManifest().replace('replicas: 3', 'replicas: "three"'),
    'k8s/typo.yaml': deploymentManifest().replace('  replicas: 3', '  replica: 3'),
    'k8s/noname.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n',
    'k8s/badimage.yaml': deploymentManifest({ image: 'ghcr.io/acme/Web:1.0.0' }),
    'k8s/elsewhere.yaml': deploymentManifest({ namespace: 'other' }),
    'k8s/service-only.yaml':
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports: [{ port: 80 }]\n',
    '.github/deploy.yml': 'environments:\n  staging:\n    namespace: shop\n    strategy: rolling\n',
  });
});
afterAll(async () => sandbox?.stop());

type Case = [title: string, inputs: Record<string, string>, input: string, mention: string];

const rollingCases: Case[] = [
  ['no manifests and no images', {}, 'manifests', 'nothing to deploy'],
  ['a manifest file that does not exist', { manifests: 'k8s/missing.yaml' }, 'manifests', 'k8s/missing.yaml'],
  ['a glob that matches nothing', { manifests: 'deploy/**/*.yaml' }, 'manifests', 'matches no file'],
  ['broken YAML', { manifests: 'k8s/broken.yaml' }, 'manifests', 'k8s/broken.yaml:'],
  ['an object without a name', { manifests: 'k8s/noname.yaml' }, 'manifests', 'metadata.name'],
  ['an invalid object (schema)', { manifests: 'k8s/invalid.yaml' }, 'manifests', 'replicas'],
  [
    'a field the kind does not declare (a typo)',
    { manifests: 'k8s/typo.yaml' },
    'manifests',
    '.spec.replica: field not declared in schema',
  ],
  [
    'a bad image reference in a manifest',
    { manifests: 'k8s/badimage.yaml' },
    'manifests',
    'ghcr.io/acme/Web:1.0.0',
  ],
  [
    'a bad image reference in images',
    { manifests: 'k8s/good.yaml', images: 'web=ghcr.io/acme/web:bad tag' },
    'images',
    'container=image',
  ],
  [
    'an images line without =',
    { manifests: 'k8s/good.yaml', images: 'ghcr.io/acme/web' },
    'images',
    'container=image',
  ],
  [
    'an image override matching no container',
    { manifests: 'k8s/good.yaml', images: 'api=ghcr.io/acme/api:1' },
    'images',
    'matches no container',
  ],
  [
    'an unknown Deployment',
    { images: 'web=ghcr.io/acme/web:2', deployment: 'nope' },
    'deployment',
    'Deployments there',
  ],
  ['a manifest in another namespace', { manifests: 'k8s/elsewhere.yaml' }, 'manifests', 'namespace "other"'],
  ['manifests with no Deployment', { manifests: 'k8s/service-only.yaml' }, 'manifests', 'no Deployment'],
  [
    'a malformed timeout',
    { manifests: 'k8s/good.yaml', timeout: '10 minutes' },
    'timeout',
    'a duration such as',
  ],
  [
    'yes for a strict boolean',
    { manifests: 'k8s/good.yaml', 'auto-rollback': 'yes' },
    'auto-rollback',
    'true or false',
  ],
  [
    'an unknown on-cancel',
    { manifests: 'k8s/good.yaml', 'on-cancel': 'ignore' },
    'on-cancel',
    'one of rollback, leave',
  ],
  [
    'a namespace that is not a name',
    { manifests: 'k8s/good.yaml', namespace: 'Shop_Prod' },
    'namespace',
    'Kubernetes name',
  ],
  [
    'an unknown environment',
    { manifests: 'k8s/good.yaml', environment: 'prod' },
    'environment',
    'one of staging',
  ],
  [
    'a garbage kubeconfig',
    { manifests: 'k8s/good.yaml', kubeconfig: 'not a kubeconfig at all' },
    'kubeconfig',
    'kubeconfig',
  ],
  [
    'a context the kubeconfig lacks',
    { manifests: 'k8s/good.yaml', context: 'prod-cluster' },
    'context',
    'prod-cluster',
  ],
  [
    'a namespace the token may not touch',
    { manifests: 'k8s/good.yaml', namespace: 'other' },
    'namespace',
    'forbidden',
  ],
];

const rollbackCases: Case[] = [
  ['neither app nor deployment', {}, 'app', 'exactly one of'],
  ['both app and deployment', { app: 'web', deployment: 'web' }, 'app', 'exactly one of'],
  [
    'a to-revision that is not a number',
    { app: 'web', 'to-revision': 'last' },
    'to-revision',
    'previous, last-successful, or a revision number',
  ],
  [
    'a revision that does not exist',
    { deployment: 'web', 'to-revision': '42' },
    'to-revision',
    'revisions that exist',
  ],
  ['an unknown Deployment', { deployment: 'nope' }, 'deployment', 'Deployments there'],
  ['an app with no history', { app: 'ghost' }, 'app', 'no deployment history'],
  ['a malformed timeout', { app: 'web', timeout: '-5m' }, 'timeout', 'a duration such as'],
  ['yes for dry-run', { app: 'web', 'dry-run': 'yes' }, 'dry-run', 'true or false'],
];

describe('bad input', () => {
  beforeAll(async () => {
    // A real Deployment with two revisions, so rollback cases fail on their input, not on emptiness.
    const ok = await runAction({
      action: 'deploy-rolling',
      cwd: ws,
      inputs: { kubeconfig, namespace: 'shop', manifests: 'k8s/good.yaml' },
    });
    expect(ok.exitCode, ok.log).toBe(0);
  });

  /** Exit 1, the input named with what it accepts, and not one write reaching the cluster. */
  async function expectRejected(
    action: string,
    inputs: Record<string, string>,
    input: string,
    mention: string,
  ) {
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await runAction({ action, cwd: ws, inputs: { kubeconfig, namespace: 'shop', ...inputs } });
    expect(result.exitCode).toBe(1);
    const message = result.errors.join('\n');
    expect(message).toMatch(new RegExp(`\\b${input}\\b`));
    expect(message).toContain(mention);
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
  }

  it.each(rollingCases)('deploy-rolling: %s', (_title, inputs, input, mention) =>
    expectRejected('deploy-rolling', inputs, input, mention),
  );

  it('deploy-rolling: a kubeconfig whose exec credential plugin is not installed', () =>
    expectRejected(
      'deploy-rolling',
      {
        manifests: 'k8s/good.yaml',
        kubeconfig: kubeconfig.replace(
          /token: .*/,
          'exec: { apiVersion: client.authentication.k8s.io/v1beta1, command: aws-not-installed, args: [eks, get-token] }',
        ),
      },
      'kubeconfig',
      'gets its credentials by running "aws-not-installed", which is not installed on this runner',
    ));

  it.each(rollbackCases)('rollback: %s', (_title, inputs, input, mention) =>
    expectRejected('rollback', inputs, input, mention),
  );
});
