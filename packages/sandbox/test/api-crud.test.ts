import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { findResource } from '../src/resources.js';
import {
  configMap,
  deployment,
  expectApiError,
  startTestApi,
  type TestApi,
  type Untyped,
} from './api-helpers.js';

const deployments = findResource('apps', 'deployments')!;
const replicasets = findResource('apps', 'replicasets')!;
const pods = findResource('', 'pods')!;

let t: TestApi;
let workload: Server;
let workloadPort = 0;
const proxied: { method: string; url: string; body: string; auth?: string; custom?: string }[] = [];

beforeAll(async () => {
  workload = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      proxied.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body,
        auth: req.headers.authorization,
        custom: req.headers['x-custom'] as string,
      });
      res.writeHead(207, { 'Content-Type': 'text/plain', 'X-From': 'pod' });
      res.end(`pod says ${req.url}`);
    });
  });
  await new Promise<void>((resolve) => workload.listen(0, '127.0.0.1', resolve));
  workloadPort = (workload.address() as AddressInfo).port;
  t = await startTestApi({
    hooks: {
      resolveServiceProxy: (_ns, service) =>
        service === 'web' ? { host: '127.0.0.1', port: workloadPort } : undefined,
      podLog: (_ns, pod) => (pod === 'running' ? 'line 1\nline 2\nline 3\n' : undefined),
    },
  });
  for (const name of ['prod', 'staging']) await t.core.createNamespace({ body: { metadata: { name } } });
});

afterAll(async () => {
  await t.stop();
  await new Promise<void>((resolve) => workload.close(() => resolve()));
});

describe('discovery', () => {
  it('serves version, core and group resource lists with subresources', async () => {
    expect((await t.raw('GET', '/version')).json.gitVersion).toMatch(/^v1\.32/);
    expect((await t.raw('GET', '/api')).json.versions).toEqual(['v1']);
    const groups = (await t.raw('GET', '/apis')).json.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(
      expect.arrayContaining(['apps', 'networking.istio.io', 'gateway.networking.k8s.io']),
    );
    const istio = (await t.raw('GET', '/apis/networking.istio.io')).json;
    expect(istio.versions.map((v: { version: string }) => v.version)).toEqual(['v1', 'v1beta1']);
    const apps = (await t.raw('GET', '/apis/apps/v1')).json;
    const scale = apps.resources.find((r: { name: string }) => r.name === 'deployments/scale');
    expect(scale).toMatchObject({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
    expect(apps.resources.find((r: { name: string }) => r.name === 'deployments')).toMatchObject({
      kind: 'Deployment',
      namespaced: true,
      shortNames: ['deploy'],
      verbs: expect.arrayContaining(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
    });
    const core = (await t.raw('GET', '/api/v1')).json.resources.map((r: { name: string }) => r.name);
    expect(core).toEqual(expect.arrayContaining(['pods', 'pods/log', 'services/proxy', 'namespaces']));
    const openapi = (await t.raw('GET', '/openapi/v3')).json;
    expect(Object.keys(openapi.paths)).toContain('apis/apps/v1');
    expect((await t.raw('GET', '/apis/nope.example.com/v1')).status).toBe(404);
  });
});

describe('reads and writes', () => {
  it('creates, gets and lists with label and field selectors', async () => {
    await t.core.createNamespacedConfigMap({
      namespace: 'prod',
      body: configMap('a', 'prod', { k: 'a' }, { app: 'x', tier: 'web' }),
    });
    await t.core.createNamespacedConfigMap({
      namespace: 'prod',
      body: configMap('b', 'prod', { k: 'b' }, { app: 'y' }),
    });
    await t.core.createNamespacedConfigMap({
      namespace: 'staging',
      body: configMap('c', 'staging', { k: 'c' }, { app: 'x' }),
    });
    const names = async (
      namespace: string,
      labelSelector?: string,
      fieldSelector?: string,
    ): Promise<string[]> =>
      (await t.core.listNamespacedConfigMap({ namespace, labelSelector, fieldSelector })).items.map(
        (i) => i.metadata!.name!,
      );
    expect(await names('prod', 'app=x')).toEqual(['a']);
    expect(await names('prod', 'app==y')).toEqual(['b']);
    expect(await names('prod', 'app!=x')).toEqual(['b']);
    expect(await names('prod', 'app in (x, y)')).toEqual(['a', 'b']);
    expect(await names('prod', 'app notin (x)')).toEqual(['b']);
    expect(await names('prod', 'tier')).toEqual(['a']);
    expect(await names('prod', '!tier')).toEqual(['b']);
    expect(await names('prod', 'app=x,tier=web')).toEqual(['a']);
    expect(await names('prod', undefined, 'metadata.name=b')).toEqual(['b']);
    const all = await t.core.listConfigMapForAllNamespaces({ labelSelector: 'app=x' });
    expect(all.items.map((i) => `${i.metadata!.namespace}/${i.metadata!.name}`)).toEqual([
      'prod/a',
      'staging/c',
    ]);
    const first = await t.core.listConfigMapForAllNamespaces({ labelSelector: 'app=x', limit: 1 });
    expect(first.items.map((i) => i.metadata!.name)).toEqual(['a']);
    expect(first.metadata?._continue).toBeTruthy();
    const got = await t.core.readNamespacedConfigMap({ name: 'a', namespace: 'prod' });
    expect(got.data).toEqual({ k: 'a' });
    expect(got.metadata?.uid).toBeTruthy();
    const missing = await expectApiError(t.core.readNamespacedConfigMap({ name: 'zz', namespace: 'prod' }));
    expect(missing).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: 'configmaps "zz" not found',
    });
    const dup = await expectApiError(
      t.core.createNamespacedConfigMap({ namespace: 'prod', body: configMap('a', 'prod', {}) }),
    );
    expect(dup).toMatchObject({ code: 409, reason: 'AlreadyExists' });
  });

  it("pages a list with limit and continue, every page at the first page's resourceVersion", async () => {
    const paged = (name: string) => ({
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { paged: 'yes' } } },
    });
    for (const n of [1, 2, 3, 4, 5])
      await t.raw('POST', '/api/v1/namespaces/staging/configmaps', paged(`page-${n}`));
    const path = '/api/v1/namespaces/staging/configmaps?labelSelector=paged%3Dyes';
    const names: string[] = [];
    const versions = new Set<string>();
    const remaining: number[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const answer = await t.raw('GET', `${path}&limit=2${token ? `&continue=${token}` : ''}`);
      expect(answer.status).toBe(200);
      pages += 1;
      names.push(...(answer.json.items as Untyped[]).map((i) => i.metadata.name as string));
      versions.add(answer.json.metadata.resourceVersion as string);
      if (answer.json.metadata.remainingItemCount !== undefined)
        remaining.push(answer.json.metadata.remainingItemCount as number);
      token = answer.json.metadata.continue as string | undefined;
      // A write between pages does not change the resourceVersion the pages report.
      if (pages === 1) await t.raw('POST', '/api/v1/namespaces/staging/configmaps', paged('zz-late'));
    } while (token);
    expect(pages).toBe(3);
    expect(names).toEqual(['page-1', 'page-2', 'page-3', 'page-4', 'page-5', 'zz-late']);
    expect(versions.size).toBe(1);
    expect(remaining).toEqual([3, 2]);
    const bad = await t.raw('GET', `${path}&limit=2&continue=not-a-token`);
    expect(bad.status).toBe(400);
  });

  it('filters pods by status.phase', async () => {
    for (const [name, phase] of [
      ['p1', 'Running'],
      ['p2', 'Pending'],
    ] as const) {
      t.store.create(pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: 'prod' },
        spec: { containers: [{ name: 'c', image: 'i' }] },
        status: { phase },
      });
    }
    const running = await t.core.listNamespacedPod({
      namespace: 'prod',
      fieldSelector: 'status.phase=Running',
    });
    expect(running.items.map((p) => p.metadata!.name)).toEqual(['p1']);
    const bad = await t.raw('GET', '/api/v1/namespaces/prod/configmaps?fieldSelector=status.phase%3DRunning');
    expect(bad.status).toBe(400);
  });

  it('answers 409 Conflict to an update with a stale resourceVersion', async () => {
    const created = await t.apps.createNamespacedDeployment({
      namespace: 'prod',
      body: deployment('conflict', 'prod'),
    });
    const stale = structuredClone(created);
    created.spec!.replicas = 4;
    const updated = await t.apps.replaceNamespacedDeployment({
      name: 'conflict',
      namespace: 'prod',
      body: created,
    });
    expect(updated.metadata!.generation).toBe(2);
    stale.spec!.replicas = 5;
    const status = await expectApiError(
      t.apps.replaceNamespacedDeployment({ name: 'conflict', namespace: 'prod', body: stale }),
    );
    expect(status).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: expect.stringContaining(
        'Operation cannot be fulfilled on deployments.apps "conflict": the object has been modified',
      ),
    });
  });

  it('applies merge, JSON and strategic merge patches', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: 'prod',
      body: deployment('patchme', 'prod'),
    });
    const merge = await t.apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: 'prod',
        body: { metadata: { labels: { extra: 'yes' } }, spec: { replicas: 3 } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(merge.metadata!.labels).toEqual({ app: 'patchme', extra: 'yes' });
    expect(merge.spec!.replicas).toBe(3);

    const json = await t.apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: 'prod',
        body: [
          { op: 'replace', path: '/spec/replicas', value: 1 },
          { op: 'remove', path: '/metadata/labels/extra' },
        ],
      },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
    expect(json.spec!.replicas).toBe(1);
    expect(json.metadata!.labels).toEqual({ app: 'patchme' });
    const failedTest = await expectApiError(
      t.apps.patchNamespacedDeployment(
        { name: 'patchme', namespace: 'prod', body: [{ op: 'test', path: '/spec/replicas', value: 9 }] },
        setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
      ),
    );
    expect(failedTest.code).toBe(422);

    // Containers merge by name, env by name, ports by containerPort: only the named fields change.
    const strategic = await t.apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: 'prod',
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'web', image: 'nginx:2.0', env: [{ name: 'EXTRA', value: 'b' }] },
                  { name: 'sidecar', image: 'envoy:1' },
                ],
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = strategic.spec!.template.spec!.containers;
    expect(containers.map((c) => `${c.name}=${c.image}`)).toEqual(['web=nginx:2.0', 'sidecar=envoy:1']);
    expect(containers[0]!.env!.map((e) => e.name)).toEqual(['MODE', 'EXTRA']);
    expect(containers[0]!.ports).toEqual([{ containerPort: 8080, protocol: 'TCP' }]);

    const deleted = await t.apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: 'prod',
        body: { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(deleted.spec!.template.spec!.containers.map((c) => c.name)).toEqual(['web']);
    const replaced = await t.apps.patchNamespacedDeployment(
      {
        name: 'patchme',
        namespace: 'prod',
        body: { metadata: { labels: { $patch: 'replace', app: 'patchme', only: 'me' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(replaced.metadata!.labels).toEqual({ app: 'patchme', only: 'me' });
  });

  it('refuses strategic merge patches on custom resources with 415', async () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'web', namespace: 'prod' },
      spec: {
        hosts: ['web'],
        http: [{ route: [{ destination: { host: 'web', subset: 'stable' }, weight: 100 }] }],
      },
    };
    const created = await t.raw('POST', '/apis/networking.istio.io/v1beta1/namespaces/prod/virtualservices', {
      body: vs,
    });
    expect(created.status).toBe(201);
    expect(created.json.apiVersion).toBe('networking.istio.io/v1beta1');
    const asV1 = await t.raw('GET', '/apis/networking.istio.io/v1/namespaces/prod/virtualservices/web');
    expect(asV1.json).toMatchObject({ apiVersion: 'networking.istio.io/v1', spec: { hosts: ['web'] } });
    const smp = await t.raw('PATCH', '/apis/networking.istio.io/v1/namespaces/prod/virtualservices/web', {
      body: { spec: { hosts: ['x'] } },
      contentType: 'application/strategic-merge-patch+json',
    });
    expect(smp.status).toBe(415);
    const merge = await t.raw('PATCH', '/apis/networking.istio.io/v1/namespaces/prod/virtualservices/web', {
      body: {
        spec: { http: [{ route: [{ destination: { host: 'web', subset: 'canary' }, weight: 100 }] }] },
      },
      contentType: 'application/merge-patch+json',
    });
    expect(merge.json.spec.http[0].route[0].destination.subset).toBe('canary');
  });
});

describe('validation', () => {
  it('answers 422 Invalid with field causes from the published schema', async () => {
    const bad = deployment('bad', 'prod') as Untyped;
    bad.spec.replicas = 'three';
    delete bad.spec.template.spec.containers[0].name;
    const status = await expectApiError(t.apps.createNamespacedDeployment({ namespace: 'prod', body: bad }));
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', code: 422, reason: 'Invalid' });
    expect(status.message).toMatch(/^Deployment\.apps "bad" is invalid: /);
    expect(status.details.causes).toEqual(
      expect.arrayContaining([
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: "three": must be integer',
          field: 'spec.replicas',
        },
        {
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: 'spec.template.spec.containers[0].name',
        },
      ]),
    );
    expect(t.store.get(deployments, 'prod', 'bad')).toBeUndefined();
  });

  it('handles undeclared fields per fieldValidation: Strict fails, Warn drops with a Warning, Ignore drops', async () => {
    const withTypos = (name: string): Untyped => {
      const d = deployment(name, 'prod') as Untyped;
      d.spec.replica = 3;
      d.spec.template.spec.containers[0].imagePullPolcy = 'Always';
      return d;
    };
    const path = '/apis/apps/v1/namespaces/prod/deployments';
    const strict = await t.raw('POST', `${path}?fieldValidation=Strict`, { body: withTypos('strict') });
    expect(strict.status).toBe(400);
    expect(strict.json).toMatchObject({ reason: 'BadRequest' });
    expect(strict.json.message).toBe(
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica", unknown field "spec.template.spec.containers[0].imagePullPolcy"',
    );
    expect(t.store.get(deployments, 'prod', 'strict')).toBeUndefined();

    const applied = await t.raw('PATCH', `${path}/applied?fieldManager=me&fieldValidation=Strict`, {
      body: withTypos('applied'),
      contentType: 'application/apply-patch+yaml',
    });
    expect(applied.status).toBe(400);
    expect(applied.json.message).toBe(
      '.spec.replica: field not declared in schema, .spec.template.spec.containers[0].imagePullPolcy: field not declared in schema',
    );

    const warned = await t.raw('POST', path, { body: withTypos('warned') });
    expect(warned.status).toBe(201);
    expect(warned.headers.warning).toBe(
      '299 - "unknown field \\"spec.replica\\"", 299 - "unknown field \\"spec.template.spec.containers[0].imagePullPolcy\\""',
    );
    const stored = t.store.get(deployments, 'prod', 'warned') as Untyped;
    expect(stored.spec.replica).toBeUndefined();
    expect(stored.spec.template.spec.containers[0]).not.toHaveProperty('imagePullPolcy');
    expect(stored.spec.replicas).toBe(2);

    const ignored = await t.raw('POST', `${path}?fieldValidation=Ignore`, { body: withTypos('ignored') });
    expect(ignored.status).toBe(201);
    expect(ignored.headers.warning).toBeUndefined();
    expect((t.store.get(deployments, 'prod', 'ignored') as Untyped).spec.replica).toBeUndefined();
  });

  it('enforces Pod Security: refuses a Pod, warns about a Deployment whose pods would be refused', async () => {
    await t.raw('POST', '/api/v1/namespaces', {
      body: {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: 'locked', labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } },
      },
    });
    const pod = await t.raw('POST', '/api/v1/namespaces/locked/pods', {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'root' },
        spec: {
          hostNetwork: true,
          containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }],
        },
      },
    });
    expect(pod.status).toBe(403);
    expect(pod.json.message).toBe(
      'pods "root" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true), privileged (container "c" must not set securityContext.privileged=true)',
    );
    const privileged = deployment('priv', 'locked') as Untyped;
    privileged.spec.template.spec.containers[0].securityContext = { privileged: true };
    const created = await t.raw('POST', '/apis/apps/v1/namespaces/locked/deployments', { body: privileged });
    expect(created.status).toBe(201);
    expect(created.headers.warning).toBe(
      '299 - "would violate PodSecurity \\"baseline:latest\\": privileged (container \\"web\\" must not set securityContext.privileged=true)"',
    );
  });

  it('checks names, selectors, namespaces and CRD schemas', async () => {
    const badName = await expectApiError(
      t.core.createNamespacedConfigMap({ namespace: 'prod', body: configMap('Bad_Name', 'prod', {}) }),
    );
    expect(badName.code).toBe(422);
    expect(badName.details.causes[0]).toMatchObject({ field: 'metadata.name', reason: 'FieldValueInvalid' });
    expect(badName.details.causes[0].message).toContain('RFC 1123 subdomain');

    const mismatch = deployment('mismatch', 'prod') as Untyped;
    mismatch.spec.template.metadata.labels = { app: 'other' };
    const selector = await expectApiError(
      t.apps.createNamespacedDeployment({ namespace: 'prod', body: mismatch }),
    );
    expect(selector.details.causes[0]).toMatchObject({ field: 'spec.template.metadata.labels' });

    const wrongNs = await t.raw('POST', '/api/v1/namespaces/prod/configmaps', {
      body: configMap('x', 'staging', {}),
    });
    expect(wrongNs.status).toBe(400);
    expect(wrongNs.json).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      message: 'the namespace of the provided object does not match the namespace sent on the request',
    });

    const route = await t.raw('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/prod/httproutes', {
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'r' },
        spec: { rules: [{ backendRefs: [{ name: 'web', port: 80, weight: -1 }] }] },
      },
    });
    expect(route.status).toBe(422);
    expect(route.json.details.causes[0]).toMatchObject({ field: 'spec.rules[0].backendRefs[0].weight' });
    const vs = await t.raw('POST', '/apis/networking.istio.io/v1/namespaces/prod/virtualservices', {
      body: {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'v' },
        spec: { hosts: 'web' },
      },
    });
    expect(vs.status).toBe(422);
    expect(vs.json.details.causes[0]).toMatchObject({ field: 'spec.hosts' });
  });
});

describe('dry run', () => {
  it('stores nothing for create, patch and delete with dryRun=All, and audits them as dry runs', async () => {
    t.audit.clear();
    const before = t.store.currentRevision;
    const created = await t.apps.createNamespacedDeployment({
      namespace: 'prod',
      body: deployment('dry', 'prod'),
      dryRun: 'All',
    });
    expect(created.metadata!.uid).toBeTruthy();
    expect(t.store.get(deployments, 'prod', 'dry')).toBeUndefined();
    await t.core.createNamespacedConfigMap({
      namespace: 'prod',
      body: configMap('keep', 'prod', { v: '1' }),
    });
    const afterCreate = t.store.currentRevision;
    const patched = await t.core.patchNamespacedConfigMap(
      { name: 'keep', namespace: 'prod', body: { data: { v: '2' } }, dryRun: 'All' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ v: '2' });
    await t.core.deleteNamespacedConfigMap({ name: 'keep', namespace: 'prod', dryRun: 'All' });
    expect(t.store.get(findResource('', 'configmaps')!, 'prod', 'keep')?.data).toEqual({ v: '1' });
    expect(t.store.currentRevision).toBe(afterCreate);
    expect(afterCreate).toBe(before + 1);
    const dry = t.audit.entries.filter((e) => e.dryRun);
    expect(dry.map((e) => e.verb)).toEqual(['create', 'patch', 'delete']);
    expect(t.audit.writes({ succeededOnly: true }).map((e) => e.verb)).toEqual(['create']);
  });
});

describe('delete', () => {
  function ownedTree(name: string): void {
    const owner = t.store.create(deployments, deployment(name, 'prod'));
    const rs = t.store.create(replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${name}-rs`,
        namespace: 'prod',
        ownerReferences: [
          { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: owner.metadata.uid!, controller: true },
        ],
      },
      spec: {
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      },
    });
    t.store.create(pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${name}-pod`,
        namespace: 'prod',
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata.name!,
            uid: rs.metadata.uid!,
            controller: true,
          },
        ],
      },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
  }

  it('cascades in the background and in the foreground, and orphans on request', async () => {
    ownedTree('bg');
    const status = await t.apps.deleteNamespacedDeployment({
      name: 'bg',
      namespace: 'prod',
      propagationPolicy: 'Background',
    });
    expect(status).toMatchObject({
      status: 'Success',
      details: { name: 'bg', group: 'apps', kind: 'deployments' },
    });
    expect(t.store.get(replicasets, 'prod', 'bg-rs')).toBeUndefined();
    expect(t.store.get(pods, 'prod', 'bg-pod')).toBeUndefined();

    ownedTree('fg');
    await t.apps.deleteNamespacedDeployment({
      name: 'fg',
      namespace: 'prod',
      propagationPolicy: 'Foreground',
    });
    expect(t.store.get(pods, 'prod', 'fg-pod')).toBeUndefined();

    ownedTree('orphan');
    await t.apps.deleteNamespacedDeployment({
      name: 'orphan',
      namespace: 'prod',
      body: { propagationPolicy: 'Orphan' },
    });
    expect(t.store.get(deployments, 'prod', 'orphan')).toBeUndefined();
    const rs = t.store.get(replicasets, 'prod', 'orphan-rs');
    expect(rs?.metadata.ownerReferences).toBeUndefined();
    expect(t.store.get(pods, 'prod', 'orphan-pod')).toBeDefined();
  });

  it('deletes a collection by label selector', async () => {
    for (const n of ['d1', 'd2', 'd3']) {
      await t.core.createNamespacedConfigMap({
        namespace: 'staging',
        body: configMap(n, 'staging', {}, { batch: n === 'd3' ? 'keep' : 'drop' }),
      });
    }
    await t.core.deleteCollectionNamespacedConfigMap({ namespace: 'staging', labelSelector: 'batch=drop' });
    const left = await t.core.listNamespacedConfigMap({ namespace: 'staging', labelSelector: 'batch' });
    expect(left.items.map((i) => i.metadata!.name)).toEqual(['d3']);
  });
});

describe('subresources', () => {
  it('reads and writes deployments/scale and keeps status apart from spec', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: 'prod',
      body: deployment('scaled', 'prod'),
    });
    const scale = await t.apps.readNamespacedDeploymentScale({ name: 'scaled', namespace: 'prod' });
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 2 },
      status: { selector: 'app=scaled' },
    });
    const patched = await t.apps.patchNamespacedDeploymentScale(
      { name: 'scaled', namespace: 'prod', body: { spec: { replicas: 5 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.spec!.replicas).toBe(5);
    scale.spec!.replicas = 1; // stale resourceVersion now
    const stale = await expectApiError(
      t.apps.replaceNamespacedDeploymentScale({ name: 'scaled', namespace: 'prod', body: scale }),
    );
    expect(stale.code).toBe(409);
    const replaced = await t.apps.replaceNamespacedDeploymentScale({
      name: 'scaled',
      namespace: 'prod',
      body: { ...patched, spec: { replicas: 0 } },
    });
    expect(replaced.spec!.replicas).toBe(0);
    expect(
      (await t.apps.readNamespacedDeployment({ name: 'scaled', namespace: 'prod' })).spec!.replicas,
    ).toBe(0);

    const current = await t.apps.readNamespacedDeployment({ name: 'scaled', namespace: 'prod' });
    const withStatus = await t.apps.replaceNamespacedDeploymentStatus({
      name: 'scaled',
      namespace: 'prod',
      body: {
        ...current,
        spec: { ...current.spec!, replicas: 9 },
        status: { replicas: 3, readyReplicas: 3 },
      },
    });
    expect(withStatus.status).toEqual({ replicas: 3, readyReplicas: 3 });
    expect(withStatus.spec!.replicas).toBe(0);
    withStatus.status = { replicas: 99 };
    const mainWrite = await t.apps.replaceNamespacedDeployment({
      name: 'scaled',
      namespace: 'prod',
      body: withStatus,
    });
    expect(mainWrite.status).toEqual({ replicas: 3, readyReplicas: 3 });
  });

  it('serves pods/log from the cluster hooks', async () => {
    t.store.create(pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'running', namespace: 'prod' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    t.store.create(pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'waiting', namespace: 'prod' },
      spec: { containers: [{ name: 'c', image: 'i' }] },
    });
    expect(await t.core.readNamespacedPodLog({ name: 'running', namespace: 'prod' })).toBe(
      'line 1\nline 2\nline 3\n',
    );
    const tail = await t.raw('GET', '/api/v1/namespaces/prod/pods/running/log?tailLines=1');
    expect(tail.text).toBe('line 3\n');
    const waiting = await t.raw('GET', '/api/v1/namespaces/prod/pods/waiting/log');
    expect(waiting.json).toMatchObject({
      code: 400,
      message: 'container "c" in pod "waiting" is waiting to start: ContainerCreating',
    });
  });

  it('proxies to a ready pod behind a Service and answers 503 when none is ready', async () => {
    for (const name of ['web', 'empty']) {
      await t.core.createNamespacedService({
        namespace: 'prod',
        body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, name: 'http' }] } },
      });
    }
    const answer = await t.raw('POST', '/api/v1/namespaces/prod/services/web:http/proxy/api/things?x=1', {
      body: 'hello',
      contentType: 'text/plain',
      headers: { 'X-Custom': 'yes' },
    });
    expect(answer.status).toBe(207);
    expect(answer.text).toBe('pod says /api/things?x=1');
    expect(answer.headers['x-from']).toBe('pod');
    expect(proxied.at(-1)).toMatchObject({ method: 'POST', body: 'hello', custom: 'yes', auth: undefined });
    // Audited as RBAC sees it (create on services/proxy), but not a write to the cluster.
    expect(t.audit.entries.at(-1)).toMatchObject({
      verb: 'create',
      path: '/api/v1/namespaces/prod/services/web:http/proxy/api/things',
      status: 207,
    });
    expect(t.audit.writes().some((e) => e.path.includes('/proxy/'))).toBe(false);
    const none = await t.raw('GET', '/api/v1/namespaces/prod/services/empty/proxy/');
    expect(none.status).toBe(503);
    expect(none.json).toMatchObject({
      kind: 'Status',
      reason: 'ServiceUnavailable',
      message: 'no endpoints available for service "empty"',
    });
    expect((await t.raw('GET', '/api/v1/namespaces/prod/services/nothing/proxy/')).status).toBe(404);
  });
});
