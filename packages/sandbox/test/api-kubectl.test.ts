/**
 * The real kubectl (the machine's, or the v1.35 that scripts/setup.sh brings where it has none)
 * against the API server: apply (client- and server-side), get -o yaml/json/jsonpath, patch,
 * scale, set image, label, rollout history and undo over ReplicaSets shaped as the deployment
 * controller shapes them, delete.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { findResource } from '../src/resources.js';
import { startTestApi, type TestApi, type Untyped } from './api-helpers.js';

// On PATH, where `npm test` puts node_modules/.bin first: scripts/setup.sh links kubectl there
// when the machine has none. KUBECTL_BIN picks another one.
const KUBECTL = process.env.KUBECTL_BIN ?? 'kubectl';
const deployments = findResource('apps', 'deployments')!;
const replicasets = findResource('apps', 'replicasets')!;

let t: TestApi;
let dir = '';
let kubeconfig = '';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], config = kubeconfig): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      KUBECTL,
      ['--kubeconfig', config, '--cache-dir', join(dir, 'cache'), ...args],
      { timeout: 30_000, env: { ...process.env, HOME: dir, KUBECONFIG: '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function ok(args: string[]): Promise<string> {
  const run = await kubectl(args);
  if (run.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${run.code}): ${run.stderr}`);
  return run.stdout;
}

function manifest(image: string, replicas = 2): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: ${image}
          ports: [{containerPort: 8080}]
          env: [{name: MODE, value: blue}]
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
  namespace: shop
spec:
  hosts: [web]
  http:
    - route:
        - destination: {host: web, subset: stable}
          weight: 100
`;
}

function writeManifest(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sandbox-kubectl-'));
  await new Promise<void>((resolve, reject) =>
    execFile(KUBECTL, ['version', '--client'], (error) =>
      error
        ? reject(
            new Error(`cannot run ${KUBECTL} (${error.message}): run scripts/setup.sh, or set KUBECTL_BIN`),
          )
        : resolve(),
    ),
  );
  t = await startTestApi();
  kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, t.api.kubeconfig(), { mode: 0o600 });
});

afterAll(async () => {
  await t?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('kubectl', () => {
  it('applies client-side, reports unchanged, and reads back with -o yaml, json and jsonpath', async () => {
    const file = writeManifest('v1.yaml', manifest('shop/web:1.0'));
    const first = await ok(['apply', '-f', file]);
    expect(first).toContain('namespace/shop created');
    expect(first).toContain('deployment.apps/web created');
    expect(first).toContain('virtualservice.networking.istio.io/web created');
    expect(await ok(['apply', '-f', file])).toContain('deployment.apps/web unchanged');
    const changed = await ok(['apply', '-f', writeManifest('v2.yaml', manifest('shop/web:1.1', 3))]);
    expect(changed).toContain('deployment.apps/web configured');

    const yaml = parseYaml(await ok(['get', 'deployment', 'web', '-n', 'shop', '-o', 'yaml']));
    expect(yaml.spec.replicas).toBe(3);
    expect(yaml.spec.template.spec.containers[0].image).toBe('shop/web:1.1');
    expect(yaml.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain(
      'shop/web:1.1',
    );
    const json = JSON.parse(await ok(['get', 'svc', 'web', '-n', 'shop', '-o', 'json']));
    expect(json.spec.ports[0]).toMatchObject({ name: 'http', port: 80, targetPort: 8080 });
    expect(
      await ok(['get', 'vs', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.http[0].route[0].weight}']),
    ).toBe('100');
    const list = await ok([
      'get',
      'deploy,svc',
      '-n',
      'shop',
      '-o',
      'jsonpath={range .items[*]}{.kind}/{.metadata.name} {end}',
    ]);
    expect(list.trim()).toBe('Deployment/web Service/web');
    expect(await ok(['get', 'deployments', '-A', '-l', 'app=web', '-o', 'name'])).toBe(
      'deployment.apps/web\n',
    );
    // Server-side printing: the columns kube-apiserver's Table has.
    const table = await ok(['get', 'deploy,svc', '-n', 'shop']);
    expect(table).toMatch(
      /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\ndeployment\.apps\/web\s+0\/3\s+0\s+0\s+\d+s/,
    );
    expect(table).toMatch(/service\/web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP/);
  });

  it('creates namespaces, configmaps and secrets from generators (protobuf bodies)', async () => {
    expect(await ok(['create', 'namespace', 'gen'])).toBe('namespace/gen created\n');
    await ok(['create', 'configmap', 'settings', '-n', 'gen', '--from-literal=a=1', '--from-literal=b=2']);
    await ok(['create', 'secret', 'generic', 'token', '-n', 'gen', '--from-literal=token=s3cret']);
    const configmaps = findResource('', 'configmaps')!;
    const secrets = findResource('', 'secrets')!;
    expect(t.store.get(configmaps, 'gen', 'settings')?.data).toEqual({ a: '1', b: '2' });
    expect(t.store.get(secrets, 'gen', 'token')).toMatchObject({
      type: 'Opaque',
      data: { token: 'czNjcmV0' },
    });
    const deployment = await kubectl(['create', 'deployment', 'd', '-n', 'gen', '--image', 'nginx']);
    expect(deployment.stdout, deployment.stderr).toBe('deployment.apps/d created\n');
    expect(t.store.get(findResource('apps', 'deployments')!, 'gen', 'd')?.spec).toMatchObject({
      template: { spec: { containers: [{ image: 'nginx' }] } },
    });
  });

  it('leaves the cluster alone on a server dry run', async () => {
    const before = t.store.currentRevision;
    const dry = await ok([
      'apply',
      '--dry-run=server',
      '-f',
      writeManifest('dry.yaml', manifest('shop/web:9.9', 7)),
    ]);
    expect(dry).toContain('deployment.apps/web configured (server dry run)');
    expect(t.store.currentRevision).toBe(before);
    expect(t.store.get(deployments, 'shop', 'web')!.spec).toMatchObject({ replicas: 3 });
  });

  it('applies server-side with conflicts and --force-conflicts', async () => {
    const file = writeManifest('ssa.yaml', manifest('shop/web:2.0', 3));
    const conflict = await kubectl([
      'apply',
      '--server-side',
      '--field-manager',
      'other-pipeline',
      '-f',
      file,
    ]);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with');
    expect(conflict.stderr).toContain('.spec.template.spec.containers[name="web"].image');
    const forced = await ok([
      'apply',
      '--server-side',
      '--field-manager',
      'other-pipeline',
      '--force-conflicts',
      '-f',
      file,
    ]);
    expect(forced).toContain('deployment.apps/web serverside-applied');
    const managers = JSON.parse(
      await ok(['get', 'deploy', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields']),
    ).metadata.managedFields.map(
      (m: { manager: string; operation: string }) => `${m.manager}:${m.operation}`,
    );
    expect(managers).toContain('other-pipeline:Apply');
    expect(
      await ok([
        'get',
        'deploy',
        'web',
        '-n',
        'shop',
        '-o',
        'jsonpath={.spec.template.spec.containers[0].image}',
      ]),
    ).toBe('shop/web:2.0');
  });

  it('patches, scales, labels and sets images', async () => {
    expect(
      await ok([
        'patch',
        'deploy',
        'web',
        '-n',
        'shop',
        '-p',
        '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"EXTRA","value":"1"}]}]}}}}',
      ]),
    ).toContain('patched');
    const env = await ok([
      'get',
      'deploy',
      'web',
      '-n',
      'shop',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].env[*].name}',
    ]);
    expect(env).toBe('MODE EXTRA');
    await ok([
      'patch',
      'deploy',
      'web',
      '-n',
      'shop',
      '--type',
      'merge',
      '-p',
      '{"spec":{"minReadySeconds":5}}',
    ]);
    await ok([
      'patch',
      'deploy',
      'web',
      '-n',
      'shop',
      '--type',
      'json',
      '-p',
      '[{"op":"add","path":"/metadata/labels/tier","value":"front"}]',
    ]);
    expect(await ok(['scale', 'deploy/web', '-n', 'shop', '--replicas', '4'])).toContain(
      'deployment.apps/web scaled',
    );
    expect(await ok(['label', 'deploy', 'web', '-n', 'shop', 'team=payments'])).toContain('labeled');
    expect(await ok(['set', 'image', 'deployment/web', '-n', 'shop', 'web=shop/web:3.0'])).toContain(
      'image updated',
    );
    const stored = t.store.get(deployments, 'shop', 'web')!;
    expect(stored.spec).toMatchObject({
      replicas: 4,
      minReadySeconds: 5,
      template: { spec: { containers: [{ image: 'shop/web:3.0' }] } },
    });
    expect(stored.metadata.labels).toEqual({ app: 'web', tier: 'front', team: 'payments' });
    const bad = await kubectl([
      'patch',
      'deploy',
      'web',
      '-n',
      'shop',
      '--type',
      'merge',
      '-p',
      '{"spec":{"replicas":"many"}}',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('is invalid');
  });

  it('shows rollout history and undoes to an earlier revision from the ReplicaSets', async () => {
    const deploy = t.store.get(deployments, 'shop', 'web')!;
    const template = (image: string, hash: string) => {
      const tpl = structuredClone((deploy.spec as Untyped).template);
      tpl.metadata.labels['pod-template-hash'] = hash;
      tpl.spec.containers[0].image = image;
      return tpl;
    };
    // What the deployment controller would have left behind for two revisions.
    for (const [revision, image, hash] of [
      ['1', 'shop/web:1.0', 'aaaa1'],
      ['2', 'shop/web:3.0', 'bbbb2'],
    ] as const) {
      t.store.create(replicasets, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `web-${hash}`,
          namespace: 'shop',
          labels: { app: 'web', 'pod-template-hash': hash },
          annotations: { 'deployment.kubernetes.io/revision': revision },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: 'web',
              uid: deploy.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } },
          template: template(image, hash),
        },
      });
    }
    const history = await ok(['rollout', 'history', 'deployment/web', '-n', 'shop']);
    expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);
    expect(await ok(['rollout', 'history', 'deployment/web', '-n', 'shop', '--revision', '1'])).toContain(
      'shop/web:1.0',
    );
    expect(await ok(['rollout', 'undo', 'deployment/web', '-n', 'shop', '--to-revision', '1'])).toContain(
      'deployment.apps/web rolled back',
    );
    const image = await ok([
      'get',
      'deploy',
      'web',
      '-n',
      'shop',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(image).toBe('shop/web:1.0');
  });

  it('follows rollout status over a watch until the deployment reports complete', async () => {
    const current = t.store.get(deployments, 'shop', 'web')!;
    const generation = current.metadata.generation ?? 1;
    const replicas = (current.spec as { replicas: number }).replicas;
    const setStatus = (ready: number): void => {
      const latest = t.store.get(deployments, 'shop', 'web')!;
      latest.status = {
        observedGeneration: generation,
        replicas,
        updatedReplicas: replicas,
        readyReplicas: ready,
        availableReplicas: ready,
        conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }],
      };
      t.store.update(deployments, latest, { subresource: 'status' });
    };
    setStatus(0);
    // The way the controller would finish the rollout while kubectl watches.
    const waiting = kubectl(['rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout', '20s']);
    setTimeout(() => setStatus(replicas), 700);
    const run = await waiting;
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('deployment "web" successfully rolled out');
  });

  it('deletes with cascade and reports permission errors', async () => {
    const limitedToken = t.api.addToken({ name: 'reader', namespaces: ['shop'], verbs: ['get', 'list'] });
    const limited = join(dir, 'reader-kubeconfig');
    writeFileSync(limited, t.api.kubeconfig({ token: limitedToken, namespace: 'shop' }), { mode: 0o600 });
    expect((await kubectl(['get', 'deploy', 'web', '-o', 'name'], limited)).stdout).toBe(
      'deployment.apps/web\n',
    );
    expect((await kubectl(['auth', 'can-i', 'list', 'deployments'], limited)).stdout).toBe('yes\n');
    const cannot = await kubectl(['auth', 'can-i', 'delete', 'deployments'], limited);
    expect(cannot).toMatchObject({ code: 1, stdout: 'no\n' });
    const denied = await kubectl(['delete', 'deploy', 'web'], limited);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'deployments.apps "web" is forbidden: User "reader" cannot delete resource "deployments" in API group "apps" in the namespace "shop"',
    );

    expect(await ok(['delete', 'deployment', 'web', '-n', 'shop'])).toContain(
      'deployment.apps "web" deleted',
    );
    expect(t.store.list(replicasets, 'shop').items).toEqual([]);
    const gone = await kubectl(['get', 'deploy', 'web', '-n', 'shop']);
    expect(gone.stderr).toContain('Error from server (NotFound): deployments.apps "web" not found');
  });
});
