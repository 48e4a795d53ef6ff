import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  configMap,
  deployment,
  expectApiError,
  startTestApi,
  type TestApi,
  type Untyped,
} from './api-helpers.js';

let t: TestApi;
let ciToken = '';

beforeAll(async () => {
  t = await startTestApi({
    tokens: [{ name: 'viewer', token: 'viewer-token', verbs: ['get', 'list', 'watch'] }],
  });
  for (const name of ['prod', 'staging']) await t.core.createNamespace({ body: { metadata: { name } } });
  await t.apps.createNamespacedDeployment({
    namespace: 'prod',
    body: deployment('web', 'prod'),
  });
  await t.apps.createNamespacedDeployment({
    namespace: 'staging',
    body: deployment('web', 'staging'),
  });
  ciToken = t.api.addToken({
    name: 'ci',
    namespaces: ['prod'],
    verbs: ['get', 'list', 'watch'],
    resources: ['deployments'],
  });
});
afterAll(async () => t?.stop());

function clientsFor(token: string, namespace?: string): { apps: AppsV1Api; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromString(t.api.kubeconfig({ token, ...(namespace ? { namespace } : {}), context: 'limited' }));
  expect(kc.getCurrentContext()).toBe('limited');
  return { apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
}

/** One GET over TLS with the given trust settings; resolves to the status code or the TLS error code. */
function tlsGet(host: string, ca: Buffer | undefined): Promise<number | string> {
  const port = new URL(t.api.url).port;
  return new Promise((resolve) => {
    const req = request(
      { host, port, path: '/version', ca, headers: { Authorization: `Bearer ${t.api.adminToken}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    req.end();
  });
}

describe('TLS', () => {
  it('serves a certificate for 127.0.0.1 and localhost that only the generated CA vouches for', async () => {
    const ca = Buffer.from(t.api.caData, 'base64');
    expect(ca.toString()).toContain('BEGIN CERTIFICATE');
    expect(t.api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await tlsGet('127.0.0.1', ca)).toBe(200);
    expect(await tlsGet('localhost', ca)).toBe(200);
    expect(await tlsGet('127.0.0.1', undefined)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const kubeconfig = parseYaml(t.api.kubeconfig({ namespace: 'prod', context: 'ci' }));
    expect(kubeconfig.clusters[0].cluster).toEqual({
      server: t.api.url,
      'certificate-authority-data': t.api.caData,
    });
    expect(kubeconfig.contexts[0]).toMatchObject({ name: 'ci', context: { namespace: 'prod' } });
    expect(kubeconfig.users[0].user.token).toBe(t.api.adminToken);
  });
});

describe('authentication and authorization', () => {
  it('answers 401 Unauthorized without a token or with an unknown one', async () => {
    for (const token of [null, 'not-a-token']) {
      const answer = await t.raw('GET', '/api/v1/namespaces', { token });
      expect(answer.status).toBe(401);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(answer.json).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    expect(t.audit.entries.findLast((e) => e.status === 401)?.user).toBe('anonymous');
  });

  it('limits a token to its namespaces, verbs and resources with kube-apiserver wording', async () => {
    const ci = clientsFor(ciToken);
    expect((await ci.apps.readNamespacedDeployment({ name: 'web', namespace: 'prod' })).metadata!.name).toBe(
      'web',
    );
    expect((await ci.apps.listNamespacedDeployment({ namespace: 'prod' })).items).toHaveLength(1);

    const patch = await expectApiError(
      ci.apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'prod', body: { spec: { replicas: 1 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(patch).toMatchObject({
      kind: 'Status',
      code: 403,
      reason: 'Forbidden',
      message:
        'deployments.apps "web" is forbidden: User "ci" cannot patch resource "deployments" in API group "apps" in the namespace "prod"',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
    });
    const otherNamespace = await expectApiError(
      ci.apps.readNamespacedDeployment({ name: 'web', namespace: 'staging' }),
    );
    expect(otherNamespace.message).toBe(
      'deployments.apps "web" is forbidden: User "ci" cannot get resource "deployments" in API group "apps" in the namespace "staging"',
    );
    const otherResource = await expectApiError(ci.core.listNamespacedConfigMap({ namespace: 'prod' }));
    expect(otherResource.message).toBe(
      'configmaps is forbidden: User "ci" cannot list resource "configmaps" in API group "" in the namespace "prod"',
    );
    const subresource = await expectApiError(
      ci.apps.readNamespacedDeploymentScale({ name: 'web', namespace: 'prod' }),
    );
    expect(subresource.message).toBe(
      'deployments.apps "web" is forbidden: User "ci" cannot get resource "deployments/scale" in API group "apps" in the namespace "prod"',
    );
    const clusterWide = await expectApiError(ci.apps.listDeploymentForAllNamespaces());
    expect(clusterWide.message).toBe(
      'deployments.apps is forbidden: User "ci" cannot list resource "deployments" in API group "apps" at the cluster scope',
    );
    // Discovery is open to every authenticated user, as system:discovery allows.
    expect((await t.raw('GET', '/apis/apps/v1', { token: ciToken })).status).toBe(200);

    const viewer = clientsFor('viewer-token');
    expect((await viewer.apps.listDeploymentForAllNamespaces()).items).toHaveLength(2);
    const write = await expectApiError(
      viewer.core.createNamespacedConfigMap({ namespace: 'prod', body: configMap('x', 'prod', {}) }),
    );
    expect(write.message).toBe(
      'configmaps is forbidden: User "viewer" cannot create resource "configmaps" in API group "" in the namespace "prod"',
    );

    const review = async (resourceAttributes: Record<string, string>): Promise<Untyped> =>
      (
        await t.raw('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          token: ciToken,
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes },
          },
        })
      ).json;
    expect(
      (await review({ namespace: 'prod', verb: 'get', group: 'apps', resource: 'deployments' })).status,
    ).toMatchObject({
      allowed: true,
    });
    const no = await review({
      namespace: 'prod',
      verb: 'patch',
      group: 'apps',
      resource: 'deployments',
      name: 'web',
    });
    expect(no).toMatchObject({ kind: 'SelfSubjectAccessReview', status: { allowed: false } });

    const denied = t.audit.entries.filter((e) => e.status === 403);
    expect(denied.map((e) => `${e.user} ${e.verb}`)).toContain('ci patch');
    expect(t.audit.writes({ succeededOnly: true }).filter((e) => e.user !== 'admin')).toEqual([]);
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After, then serves normally once the rule retires', async () => {
    t.faults.add({
      target: 'api',
      match: { verb: 'get', path: '/deployments/web' },
      status: 429,
      retryAfterSeconds: 3,
      times: 1,
    });
    const limited = await t.raw('GET', '/apis/apps/v1/namespaces/prod/deployments/web');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');
    expect(limited.json).toMatchObject({
      kind: 'Status',
      code: 429,
      reason: 'TooManyRequests',
      details: { retryAfterSeconds: 3 },
    });
    expect((await t.raw('GET', '/apis/apps/v1/namespaces/prod/deployments/web')).status).toBe(200);
  });

  it('answers 503 and injected conflicts, and delays answers', async () => {
    const remove = t.faults.add({
      target: 'api',
      match: { method: 'GET', path: '/configmaps' },
      status: 503,
    });
    const unavailable = await expectApiError(t.core.listNamespacedConfigMap({ namespace: 'prod' }));
    expect(unavailable).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    remove();

    t.faults.add({ target: 'api', match: { verb: 'patch' }, conflict: true, times: 1 });
    const conflict = await expectApiError(
      t.apps.patchNamespacedDeployment(
        { name: 'web', namespace: 'prod', body: { spec: { replicas: 3 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
    expect(conflict).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: expect.stringContaining('deployments.apps "web": the object has been modified'),
    });

    t.faults.add({
      target: 'api',
      match: { verb: 'get', path: '/namespaces/prod/deployments/web' },
      latencyMs: 300,
      times: 1,
    });
    const started = Date.now();
    await t.apps.readNamespacedDeployment({ name: 'web', namespace: 'prod' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('audit', () => {
  it('records every request with user, verb, method, path and status', async () => {
    t.audit.clear();
    await t.apps.readNamespacedDeployment({ name: 'web', namespace: 'prod' });
    await expectApiError(t.apps.readNamespacedDeployment({ name: 'nope', namespace: 'prod' }));
    await t.core.createNamespacedConfigMap({ namespace: 'prod', body: configMap('audited', 'prod', {}) });
    expect(t.audit.entries.map(({ time: _time, ...rest }) => rest)).toEqual([
      {
        target: 'api',
        user: 'admin',
        verb: 'get',
        method: 'GET',
        path: '/apis/apps/v1/namespaces/prod/deployments/web',
        status: 200,
      },
      {
        target: 'api',
        user: 'admin',
        verb: 'get',
        method: 'GET',
        path: '/apis/apps/v1/namespaces/prod/deployments/nope',
        status: 404,
      },
      {
        target: 'api',
        user: 'admin',
        verb: 'create',
        method: 'POST',
        path: '/api/v1/namespaces/prod/configmaps',
        status: 201,
      },
    ]);
    expect(Date.parse(t.audit.entries[0]!.time)).not.toBeNaN();
  });
});
