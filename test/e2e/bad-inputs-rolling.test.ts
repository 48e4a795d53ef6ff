/**
 * Bad input to deploy-rolling and rollback: exit 1, a message that names the input, and not one
 * write reaching the cluster. Also health-gate's report-path, the one file input that is written.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aliasBomb } from '@cd-actions/core/testing/alias-bomb';
import { runAction } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { DEPLOYER_ROLE, deploymentManifest, startTestSandbox, workspace } from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;
let ws: string;
/** A folder beside the workspace, holding a manifest the workspace must not reach. */
let outside: string;

/** The first line of the runner's /etc/passwd: what `config: ../../etc/passwd` must never print. */
const PASSWD_LINE = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!;

/** A port nothing listens on: an API server that cannot be reached. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise((done) => server.close(done));
  return port;
}

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
    '.github/bomb.yml': `environments:\n  staging:\n    namespace: shop\n${aliasBomb()}`,
    'k8s/bomb.yaml': aliasBomb(),
    'notes/passwd': readFileSync('/etc/passwd', 'utf8'),
  });
  outside = await mkdtemp(join(tmpdir(), 'outside-workspace-'));
  await writeFile(join(outside, 'app.yaml'), deploymentManifest({ name: 'intruder' }));
  // A link at the top (its folder is checked before listing) and one a `**` glob walks into.
  await symlink(outside, join(ws, 'linked'));
  await mkdir(join(ws, 'deep'));
  await symlink(outside, join(ws, 'deep', 'inner'));
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
    'a manifests glob that leads out of the workspace',
    { manifests: '../*/app.yaml' },
    'manifests',
    'the path leads out of the workspace',
  ],
  [
    'manifests at an absolute path elsewhere',
    { manifests: '/etc/*.conf' },
    'manifests',
    'outside the workspace',
  ],
  [
    'manifests behind a symbolic link to outside',
    { manifests: 'linked/app.yaml' },
    'manifests',
    'follows a symbolic link',
  ],
  [
    'a glob that walks through a symbolic link to outside',
    { manifests: 'deep/**/*.yaml' },
    'manifests',
    'follows a symbolic link',
  ],
  [
    'a manifest that is an alias bomb',
    { manifests: 'k8s/bomb.yaml' },
    'manifests',
    'k8s/bomb.yaml:1: invalid YAML',
  ],
  [
    'a config path that leads out of the workspace',
    { manifests: 'k8s/good.yaml', config: '../../etc/passwd' },
    'config',
    'the path leads out of the workspace',
  ],
  [
    'a config file that is an alias bomb',
    { manifests: 'k8s/good.yaml', environment: 'staging', config: '.github/bomb.yml' },
    'config',
    '.github/bomb.yml:5: its aliases expand past 100 copies',
  ],
  // Annotations over the API server's 256 KiB are refused too (actions/deploy-rolling/src/inputs.test.ts),
  // but not here: Linux caps one environment string at 128 KiB (MAX_ARG_STRLEN), so an INPUT_ANNOTATIONS
  // that large cannot even start the action (spawn E2BIG), on a runner as in this harness.
  [
    'an annotation key the API server refuses',
    { manifests: 'k8s/good.yaml', annotations: 'Team Name=payments' },
    'annotations',
    'an annotation key',
  ],

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

  it.each([
    ['a path out of the workspace', '../../etc/passwd'],
    ['a file in the workspace that is no config', 'notes/passwd'],
  ])('deploy-rolling: config given %s never prints the file', async (_title, config) => {
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await runAction({
      action: 'deploy-rolling',
      cwd: ws,
      inputs: { kubeconfig, namespace: 'shop', manifests: 'k8s/good.yaml', environment: 'staging', config },
    });
    expect(result.exitCode, result.log).toBe(1);
    expect(result.errors.join('\n')).toMatch(/\bconfig\b/);
    expect(result.log).not.toContain(PASSWD_LINE);
    expect(result.summary).not.toContain(PASSWD_LINE);
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
  });

  it('deploy-rolling and rollback: an unreachable API server is named, with what to check', async () => {
    const port = await closedPort();
    const unreachable = kubeconfig.replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      `server: https://127.0.0.1:${port}`,
    );
    expect(unreachable).toContain(`127.0.0.1:${port}`);
    for (const [action, inputs] of [
      ['deploy-rolling', { manifests: 'k8s/good.yaml' }],
      ['rollback', { app: 'web' }],
    ] as const) {
      const result = await runAction({
        action,
        cwd: ws,
        inputs: { kubeconfig: unreachable, namespace: 'shop', ...inputs },
      });
      expect(result.exitCode, result.log).toBe(1);
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]).toContain(
        `failed: cannot reach the Kubernetes API server at https://127.0.0.1:${port} (ECONNREFUSED: nothing accepts connections there)`,
      );
      expect(result.errors[0]).toContain('Next: check the server URL of the cluster in the kubeconfig input');
      expect(result.errors[0]).not.toContain('fetch failed');
    }
  });
});

describe('health-gate: report-path stays in the workspace or RUNNER_TEMP', () => {
  it('refuses a report path that leads out, and writes nothing there', async () => {
    const escape = `../${basename(ws)}-escaped-report.json`;
    const target = join(ws, escape);
    const result = await runAction({
      action: 'health-gate',
      cwd: ws,
      inputs: { url: 'http://127.0.0.1:9/healthz', duration: '1s', interval: '1s', 'report-path': escape },
    });
    expect(result.exitCode, result.log).toBe(1);
    expect(result.errors.join('\n')).toContain(
      `Input "report-path" has value ${JSON.stringify(escape)}: the path leads out of the workspace`,
    );
    expect(existsSync(target)).toBe(false);
    expect(result.outputs.report).toBeUndefined();
  });
});
