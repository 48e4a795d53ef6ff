/**
 * kubectl against the whole sandbox (API server plus controllers, so rollouts really progress):
 * the generators, which send protobuf (`create deployment|service|ingress|configmap|secret|
 * namespace`, `auth can-i`) and `run`, which sends JSON; then, for every kind our actions deploy,
 * create -f, apply, get -o json, patch (strategic, merge, json), scale and rollout status where
 * they apply, and delete. Each step is judged by the store, not by kubectl's exit code alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/sandbox.js';
import { findResource, type ResourceType } from '../src/resources.js';
import type { KubeObject } from '../src/store.js';
import type { Untyped } from './api-helpers.js';
import { FAST } from './cluster-helpers.js';
import { kubectlFor, requireKubectl, type Kubectl } from './kubectl-helpers.js';

const NS = 'compat';

let sandbox: Sandbox;
let dir = '';
let kubectl: Kubectl;

beforeAll(async () => {
  await requireKubectl();
  sandbox = await startSandbox({ rps: 0, timings: FAST, namespaces: [NS] });
  dir = mkdtempSync(join(tmpdir(), 'sandbox-kubectl-compat-'));
  kubectl = kubectlFor(sandbox.kubeconfig, dir, 60_000);
});

afterAll(async () => {
  await sandbox?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function type(group: string, resource: string): ResourceType {
  const found = findResource(group, resource);
  if (!found) throw new Error(`the sandbox does not serve ${group}/${resource}`);
  return found;
}

function stored(t: ResourceType, name: string): Untyped {
  return sandbox.store.get(t, t.namespaced ? NS : undefined, name) as Untyped;
}

function writeJson(name: string, obj: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(obj));
  return file;
}

/** What kubectl prints for a client-side dry run, less the nulls and empty status Go prints. */
function sentByKubectl(obj: Untyped): Untyped {
  const strip = (value: Untyped): Untyped => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, Untyped>)
        .filter(([, v]) => v !== null)
        .map(([k, v]) => [k, strip(v)]),
    );
  };
  const { status, ...rest } = strip(obj);
  void status;
  return rest;
}

describe('kubectl generators', () => {
  const binary = (): string => {
    const file = join(dir, 'logo.bin');
    writeFileSync(file, Buffer.from([0, 1, 2, 254, 255]));
    return file;
  };

  const generators: { what: string; args: () => string[]; t: () => ResourceType; name: string }[] = [
    {
      what: 'create deployment',
      args: () => ['create', 'deployment', 'gen-web', '--image=shop/web:1.0', '--replicas=3', '--port=8080'],
      t: () => type('apps', 'deployments'),
      name: 'gen-web',
    },
    {
      what: 'create deployment --replicas=0 (a pointer zero)',
      args: () => ['create', 'deployment', 'gen-zero', '--image=shop/web:1.0', '--replicas=0'],
      t: () => type('apps', 'deployments'),
      name: 'gen-zero',
    },
    {
      what: 'create service clusterip',
      args: () => ['create', 'service', 'clusterip', 'gen-svc', '--tcp=80:8080', '--tcp=443:8443'],
      t: () => type('', 'services'),
      name: 'gen-svc',
    },
    {
      what: 'create service nodeport',
      args: () => ['create', 'service', 'nodeport', 'gen-np', '--tcp=80:8080', '--node-port=30080'],
      t: () => type('', 'services'),
      name: 'gen-np',
    },
    {
      what: 'create service externalname',
      args: () => ['create', 'service', 'externalname', 'gen-ext', '--external-name=db.example.com'],
      t: () => type('', 'services'),
      name: 'gen-ext',
    },
    {
      what: 'create ingress',
      args: () => [
        'create',
        'ingress',
        'gen-ing',
        '--class=nginx',
        '--rule=web.example.com/api*=gen-svc:80,tls=web-tls',
        '--rule=admin.example.com/=gen-svc:https',
        '--default-backend=gen-svc:80',
        '--annotation=example.com/owner=shop',
      ],
      t: () => type('networking.k8s.io', 'ingresses'),
      name: 'gen-ing',
    },
    {
      what: 'create configmap',
      args: () => [
        'create',
        'configmap',
        'gen-cm',
        '--from-literal=a=1',
        '--from-literal=empty=',
        `--from-file=${binary()}`,
      ],
      t: () => type('', 'configmaps'),
      name: 'gen-cm',
    },
    {
      what: 'create secret generic',
      args: () => [
        'create',
        'secret',
        'generic',
        'gen-secret',
        '--from-literal=token=s3cret',
        '--type=example.com/token',
      ],
      t: () => type('', 'secrets'),
      name: 'gen-secret',
    },
    {
      what: 'create secret docker-registry',
      args: () => [
        'create',
        'secret',
        'docker-registry',
        'gen-registry',
        '--docker-server=registry.example.com',
        '--docker-username=ci',
        '--docker-password=pw',
      ],
      t: () => type('', 'secrets'),
      name: 'gen-registry',
    },
    {
      what: 'create namespace',
      args: () => ['create', 'namespace', 'gen-ns'],
      t: () => type('', 'namespaces'),
      name: 'gen-ns',
    },
  ];

  for (const { what, args, t, name } of generators) {
    it(`${what}: stores everything kubectl sent`, async () => {
      const argv = [...args(), '-n', NS];
      const dryRun = JSON.parse(await kubectl.ok([...argv, '--dry-run=client', '-o', 'json']));
      expect(stored(t(), name)).toBeUndefined();
      expect(await kubectl.ok(argv)).toMatch(/ created\n$/);
      expect(stored(t(), name)).toMatchObject(sentByKubectl(dryRun));
    });
  }

  it('create deployment keeps an explicit zero and gets the server defaults', () => {
    const zero = stored(type('apps', 'deployments'), 'gen-zero');
    expect(zero.spec.replicas).toBe(0);
    expect(stored(type('apps', 'deployments'), 'gen-web').spec).toMatchObject({
      replicas: 3,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    });
  });

  it('create configmap and secret keep binary data, empty values and the type', () => {
    expect(stored(type('', 'configmaps'), 'gen-cm')).toMatchObject({
      data: { a: '1', empty: '' },
      binaryData: { 'logo.bin': Buffer.from([0, 1, 2, 254, 255]).toString('base64') },
    });
    expect(stored(type('', 'secrets'), 'gen-secret')).toMatchObject({
      type: 'example.com/token',
      data: { token: Buffer.from('s3cret').toString('base64') },
    });
  });

  it('run (a JSON body) starts a pod that the kubelet runs', async () => {
    await kubectl.ok(['run', 'gen-pod', '-n', NS, '--image=shop/web:1.0', '--env=MODE=blue', '--port=8080']);
    expect(stored(type('', 'pods'), 'gen-pod').spec.containers[0]).toMatchObject({
      name: 'gen-pod',
      image: 'shop/web:1.0',
      env: [{ name: 'MODE', value: 'blue' }],
      ports: [{ containerPort: 8080 }],
    });
    await kubectl.ok(['wait', '--for=condition=Ready', 'pod/gen-pod', '-n', NS, '--timeout=30s']);
    expect(stored(type('', 'pods'), 'gen-pod').status.phase).toBe('Running');
  });

  it('auth can-i (a protobuf SelfSubjectAccessReview) answers yes', async () => {
    expect(await kubectl.ok(['auth', 'can-i', 'create', 'deployments', '-n', NS])).toBe('yes\n');
  });
});

interface KindCase {
  kind: string;
  t: () => ResourceType;
  name: string;
  manifest(version: 1 | 2): Untyped;
  /** The field the second manifest changes, and its values before and after. */
  applied(obj: Untyped): unknown;
  before: unknown;
  after: unknown;
  /** A strategic merge patch and what it leaves; custom resources take none, as on a real cluster. */
  strategic?: { patch: Untyped; check(obj: Untyped): unknown; expected: unknown };
}

const meta = (name: string, extra: Untyped = {}): Untyped => ({
  name,
  namespace: NS,
  labels: { app: 'web', ...extra },
});

const KINDS: KindCase[] = [
  {
    kind: 'Deployment',
    t: () => type('apps', 'deployments'),
    name: 'web',
    manifest: (v) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta('web'),
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [
              {
                name: 'web',
                image: v === 1 ? 'shop/web:1.0' : 'shop/web:1.1',
                ports: [{ containerPort: 8080 }],
                env: [{ name: 'MODE', value: 'blue' }],
              },
            ],
          },
        },
      },
    }),
    applied: (obj) => obj.spec.template.spec.containers[0].image,
    before: 'shop/web:1.0',
    after: 'shop/web:1.1',
    strategic: {
      patch: {
        spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'EXTRA', value: '1' }] }] } } },
      },
      check: (obj) => obj.spec.template.spec.containers[0].env.map((e: Untyped) => e.name),
      expected: ['MODE', 'EXTRA'],
    },
  },
  {
    kind: 'Service',
    t: () => type('', 'services'),
    name: 'web',
    manifest: (v) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('web'),
      spec: {
        selector: { app: 'web' },
        ports: [{ name: 'http', port: 80, targetPort: v === 1 ? 8080 : 8081 }],
      },
    }),
    applied: (obj) => obj.spec.ports[0].targetPort,
    before: 8080,
    after: 8081,
    strategic: {
      // ports merge by port number: the new one joins the existing one instead of replacing it.
      patch: { spec: { ports: [{ name: 'metrics', port: 9090, targetPort: 9090 }] } },
      check: (obj) => obj.spec.ports.map((p: Untyped) => p.name).sort(),
      expected: ['http', 'metrics'],
    },
  },
  {
    kind: 'ConfigMap',
    t: () => type('', 'configmaps'),
    name: 'web-config',
    manifest: (v) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('web-config'),
      data: { MODE: v === 1 ? 'blue' : 'green' },
    }),
    applied: (obj) => obj.data.MODE,
    before: 'blue',
    after: 'green',
    strategic: {
      patch: { data: { EXTRA: '1' } },
      check: (obj) => obj.data,
      expected: { MODE: 'green', EXTRA: '1' },
    },
  },
  {
    kind: 'Secret',
    t: () => type('', 'secrets'),
    name: 'web-secret',
    manifest: (v) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: meta('web-secret'),
      stringData: { token: v === 1 ? 'one' : 'two' },
    }),
    applied: (obj) => obj.data.token,
    before: Buffer.from('one').toString('base64'),
    after: Buffer.from('two').toString('base64'),
    strategic: {
      patch: { data: { extra: Buffer.from('x').toString('base64') } },
      check: (obj) => Object.keys(obj.data).sort(),
      expected: ['extra', 'token'],
    },
  },
  {
    kind: 'Ingress',
    t: () => type('networking.k8s.io', 'ingresses'),
    name: 'web',
    manifest: (v) => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta('web'),
      spec: {
        ingressClassName: 'nginx',
        rules: [
          {
            host: v === 1 ? 'web.example.com' : 'shop.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    }),
    applied: (obj) => obj.spec.rules[0].host,
    before: 'web.example.com',
    after: 'shop.example.com',
    strategic: {
      patch: { spec: { tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }] } },
      check: (obj) => [obj.spec.tls, obj.spec.rules[0].host],
      expected: [[{ hosts: ['shop.example.com'], secretName: 'shop-tls' }], 'shop.example.com'],
    },
  },
  {
    kind: 'HorizontalPodAutoscaler',
    t: () => type('autoscaling', 'horizontalpodautoscalers'),
    name: 'web',
    manifest: (v) => ({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta('web'),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: v === 1 ? 5 : 8,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
          },
        ],
      },
    }),
    applied: (obj) => obj.spec.maxReplicas,
    before: 5,
    after: 8,
    strategic: {
      patch: { spec: { minReplicas: 3 } },
      check: (obj) => [obj.spec.minReplicas, obj.spec.maxReplicas, obj.spec.metrics.length],
      expected: [3, 8, 1],
    },
  },
  {
    kind: 'VirtualService',
    t: () => type('networking.istio.io', 'virtualservices'),
    name: 'web',
    manifest: (v) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: meta('web'),
      spec: {
        hosts: ['web'],
        http: [
          {
            route: [
              { destination: { host: 'web', subset: 'stable' }, weight: v === 1 ? 90 : 50 },
              { destination: { host: 'web', subset: 'canary' }, weight: v === 1 ? 10 : 50 },
            ],
          },
        ],
      },
    }),
    applied: (obj) => obj.spec.http[0].route.map((r: Untyped) => r.weight),
    before: [90, 10],
    after: [50, 50],
  },
  {
    kind: 'DestinationRule',
    t: () => type('networking.istio.io', 'destinationrules'),
    name: 'web',
    manifest: (v) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: meta('web'),
      spec: {
        host: 'web',
        subsets: [
          { name: 'stable', labels: { version: 'v1' } },
          { name: 'canary', labels: { version: v === 1 ? 'v2' : 'v3' } },
        ],
      },
    }),
    applied: (obj) => obj.spec.subsets[1].labels.version,
    before: 'v2',
    after: 'v3',
  },
  {
    kind: 'HTTPRoute',
    t: () => type('gateway.networking.k8s.io', 'httproutes'),
    name: 'web',
    manifest: (v) => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta('web'),
      spec: {
        parentRefs: [{ name: 'shop-gateway' }],
        hostnames: ['web.example.com'],
        rules: [
          {
            backendRefs: [
              { name: 'web-stable', port: 80, weight: v === 1 ? 90 : 0 },
              { name: 'web-canary', port: 80, weight: v === 1 ? 10 : 100 },
            ],
          },
        ],
      },
    }),
    applied: (obj) => obj.spec.rules[0].backendRefs.map((r: Untyped) => r.weight),
    before: [90, 10],
    after: [0, 100],
  },
];

async function rolledOut(name: string, replicas: number): Promise<void> {
  const run = await kubectl(['rollout', 'status', `deployment/${name}`, '-n', NS, '--timeout=60s']);
  expect(run.stderr).toBe('');
  expect(run.stdout).toContain(`deployment "${name}" successfully rolled out`);
  const status = stored(type('apps', 'deployments'), name).status;
  expect(status).toMatchObject({ replicas, updatedReplicas: replicas, availableReplicas: replicas });
}

describe('the kinds our actions deploy', () => {
  for (const c of KINDS) {
    it(`${c.kind}: create -f, apply, get, patch (strategic, merge, json)${c.kind === 'Deployment' ? ', rollout status, scale' : ''}, delete`, async () => {
      const t = c.t();
      const id = `${t.resource}/${c.name}`;

      expect(await kubectl.ok(['create', '-f', writeJson(`${c.kind}-1.json`, c.manifest(1))])).toContain(
        'created',
      );
      expect(c.applied(stored(t, c.name))).toEqual(c.before);
      if (c.kind === 'Deployment') await rolledOut(c.name, 2);

      expect(await kubectl.ok(['apply', '-f', writeJson(`${c.kind}-2.json`, c.manifest(2))])).toContain(
        'configured',
      );
      expect(c.applied(stored(t, c.name))).toEqual(c.after);
      if (c.kind === 'Deployment') await rolledOut(c.name, 2);

      const got = await kubectl.json<Untyped>(['get', id, '-n', NS]);
      expect(got).toMatchObject({ kind: c.kind, metadata: { name: c.name, namespace: NS } });
      expect(c.applied(got)).toEqual(c.after);
      expect(got.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain(c.kind);

      const before = stored(t, c.name).metadata.resourceVersion;
      const strategic = await kubectl([
        'patch',
        id,
        '-n',
        NS,
        '-p',
        JSON.stringify(c.strategic?.patch ?? { spec: {} }),
      ]);
      if (c.strategic) {
        expect(strategic.stderr).toBe('');
        expect(c.strategic.check(stored(t, c.name))).toEqual(c.strategic.expected);
      } else {
        expect(strategic.code).not.toBe(0);
        expect(strategic.stderr).toContain('application/strategic-merge-patch+json');
        expect(stored(t, c.name).metadata.resourceVersion).toBe(before);
      }

      await kubectl.ok([
        'patch',
        id,
        '-n',
        NS,
        '--type',
        'merge',
        '-p',
        '{"metadata":{"labels":{"patched":"merge"}}}',
      ]);
      await kubectl.ok([
        'patch',
        id,
        '-n',
        NS,
        '--type',
        'json',
        '-p',
        '[{"op":"add","path":"/metadata/labels/json","value":"yes"},{"op":"remove","path":"/metadata/labels/patched"}]',
      ]);
      expect(stored(t, c.name).metadata.labels).toEqual({ app: 'web', json: 'yes' });

      if (c.kind === 'Deployment') {
        expect(await kubectl.ok(['scale', id, '-n', NS, '--replicas=4'])).toContain('scaled');
        expect(stored(t, c.name).spec.replicas).toBe(4);
        await rolledOut(c.name, 4);
      }

      expect(await kubectl.ok(['delete', id, '-n', NS])).toContain('deleted');
      expect(stored(t, c.name)).toBeUndefined();
      if (c.kind === 'Deployment') {
        const owned = sandbox.store
          .list(type('apps', 'replicasets'), NS)
          .items.filter((rs: KubeObject) => rs.metadata.ownerReferences?.some((o) => o.name === c.name));
        expect(owned).toEqual([]);
      }
    });
  }
});
