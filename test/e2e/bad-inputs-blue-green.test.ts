/**
 * Bad input to deploy-blue-green: exit 1, a message that names the input, and not one write
 * reaching the cluster.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliasBomb } from '@cd-actions/core/testing/alias-bomb';
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
    '.github/bomb.yml': `environments:\n  staging:\n    namespace: shop\n${aliasBomb()}`,
    'notes/passwd': readFileSync('/etc/passwd', 'utf8'),
  });
});

/** The first line of the runner's /etc/passwd: what `config: ../../etc/passwd` must never print. */
const PASSWD_LINE = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;
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
  [
    'an app too long for <app>-green',
    { ...good, app: `web-${'x'.repeat(56)}` },
    'app',
    'at most 57 characters so that the names made from it (<name>-blue, <name>-green) stay within the 63-character limit',
  ],
  [
    'manifests that lead out of the workspace',
    { manifests: '../../etc/*.yaml' },
    'manifests',
    'the path leads out of the workspace',
  ],
  [
    'a config path that leads out of the workspace',
    { ...good, config: '../../etc/passwd' },
    'config',
    'the path leads out of the workspace',
  ],
  [
    'a config file that is an alias bomb',
    { ...good, environment: 'staging', config: '.github/bomb.yml' },
    'config',
    '.github/bomb.yml:5: its aliases expand past 100 copies',
  ],
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
  ['a scale-down-delay over an hour', { ...good, 'scale-down-delay': '2h' }, 'scale-down-delay', '1h'],
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

describe('deploy-blue-green: files and servers it cannot use', () => {
  it.each(['../../etc/passwd', 'notes/passwd'])('config %s: the file is never printed', async (config) => {
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await runAction({
      action: 'deploy-blue-green',
      cwd: ws,
      inputs: { kubeconfig, namespace: 'shop', ...good, environment: 'staging', config },
    });
    expect(result.exitCode, result.log).toBe(1);
    expect(result.errors.join('\n')).toMatch(/\bconfig\b/);
    expect(result.log).not.toContain(PASSWD_LINE);
    expect(result.summary).not.toContain(PASSWD_LINE);
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
  });

  it('an unreachable API server is named, with what to check', async () => {
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const { port } = probe.address() as AddressInfo;
    await new Promise((done) => probe.close(done));
    const unreachable = kubeconfig.replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      `server: https://127.0.0.1:${port}`,
    );
    expect(unreachable).toContain(`127.0.0.1:${port}`);
    const result = await runAction({
      action: 'deploy-blue-green',
      cwd: ws,
      inputs: { kubeconfig: unreachable, namespace: 'shop', ...good },
    });
    expect(result.exitCode, result.log).toBe(1);
    expect(result.errors.join('\n')).toContain(
      `cannot reach the Kubernetes API server at https://127.0.0.1:${port} (ECONNREFUSED: nothing accepts connections there). Next: check the server URL of the cluster in the kubeconfig input`,
    );
    expect(result.errors.join('\n')).not.toContain('fetch failed');
  });
});
