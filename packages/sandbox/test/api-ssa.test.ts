import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { deployment, expectApiError, startTestApi, type TestApi, type Untyped } from './api-helpers.js';

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
  await t.core.createNamespace({ body: { metadata: { name: 'ssa' } } });
});
afterAll(async () => t?.stop());

const apply = (obj: KubernetesObject, manager: string, force = false) =>
  t.objects.patch(
    obj,
    undefined,
    undefined,
    manager,
    force,
    PatchStrategy.ServerSideApply,
  ) as Promise<Untyped>;

const managers = (obj: Untyped): Record<string, string> =>
  Object.fromEntries((obj.metadata.managedFields ?? []).map((m: Untyped) => [m.manager, m.operation]));

const owns = (obj: Untyped, manager: string, ...path: string[]): boolean => {
  let node = obj.metadata.managedFields.find((m: Untyped) => m.manager === manager)?.fieldsV1;
  for (const p of path) node = node?.[p];
  return node !== undefined;
};

describe('server-side apply', () => {
  it('creates, tracks managers, conflicts on contested fields and takes them over with force', async () => {
    const alice = deployment('shared', 'ssa', 'nginx:1.0', 2);
    alice.metadata.labels = { app: 'shared', owner: 'alice' };
    const created = await apply(alice, 'alice');
    expect(managers(created)).toEqual({ alice: 'Apply' });
    expect(owns(created, 'alice', 'f:spec', 'f:replicas')).toBe(true);
    expect(
      owns(created, 'alice', 'f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"web"}', 'f:image'),
    ).toBe(true);

    const again = await apply(alice, 'alice');
    expect(again.metadata.resourceVersion).toBe(created.metadata.resourceVersion);

    const bob = deployment('shared', 'ssa', 'nginx:1.0', 5);
    const conflict = await expectApiError(apply(bob, 'bob'));
    expect(conflict).toMatchObject({
      code: 409,
      reason: 'Conflict',
      message: 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas',
    });
    expect(conflict.details.causes).toEqual([
      { type: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' },
    ]);

    // Same values are co-owned without conflict.
    const coOwned = await apply(deployment('shared', 'ssa', 'nginx:1.0', 2), 'bob');
    expect(managers(coOwned)).toEqual({ alice: 'Apply', bob: 'Apply' });

    const forced = await apply(bob, 'bob', true);
    expect(forced.spec.replicas).toBe(5);
    expect(owns(forced, 'alice', 'f:spec', 'f:replicas')).toBe(false);
    expect(owns(forced, 'bob', 'f:spec', 'f:replicas')).toBe(true);

    // alice stops applying her label: it goes; fields bob also applies stay.
    const aliceLater = deployment('shared', 'ssa', 'nginx:1.0', 2);
    delete (aliceLater.spec as Untyped).replicas;
    const afterRemoval = await apply(aliceLater, 'alice');
    expect(afterRemoval.metadata.labels).toEqual({ app: 'shared' });
    expect(afterRemoval.spec.replicas).toBe(5);
  });

  it('gives ownership to other writers, whose fields then conflict with an apply', async () => {
    await apply(deployment('edited', 'ssa', 'nginx:1.0', 2), 'pipeline');
    await t.apps.patchNamespacedDeployment(
      {
        name: 'edited',
        namespace: 'ssa',
        body: { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:hotfix' }] } } } },
        fieldManager: 'oncall',
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const status = await expectApiError(apply(deployment('edited', 'ssa', 'nginx:2.0', 2), 'pipeline'));
    expect(status.code).toBe(409);
    expect(status.message).toBe(
      'Apply failed with 1 conflict: conflict with "oncall" using apps/v1: .spec.template.spec.containers[name="web"].image',
    );
    const forced = await apply(deployment('edited', 'ssa', 'nginx:2.0', 2), 'pipeline', true);
    expect(forced.spec.template.spec.containers[0].image).toBe('nginx:2.0');
    expect(managers(forced)).toEqual({ pipeline: 'Apply' });
  });

  it('merges keyed lists and requires a field manager', async () => {
    const first = deployment('lists', 'ssa');
    await apply(first, 'one');
    const sidecar = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'lists', namespace: 'ssa' },
      spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'envoy:1' }] } } },
    };
    const merged = await apply(sidecar, 'two');
    expect(merged.spec.template.spec.containers.map((c: Untyped) => c.name)).toEqual(['web', 'sidecar']);
    const missing = await t.raw('PATCH', '/apis/apps/v1/namespaces/ssa/deployments/lists', {
      body: sidecar,
      contentType: 'application/apply-patch+yaml',
    });
    expect(missing.status).toBe(400);
    const yaml = await t.raw('PATCH', '/api/v1/namespaces/ssa/configmaps/from-yaml?fieldManager=yaml', {
      body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: "1"\n',
      contentType: 'application/apply-patch+yaml',
    });
    expect(yaml.status).toBe(201);
    expect(yaml.json.data).toEqual({ a: '1' });
  });

  it('applies custom resources', async () => {
    const route = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: 'ssa' },
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [
          {
            backendRefs: [
              { name: 'web-stable', port: 80, weight: 90 },
              { name: 'web-canary', port: 80, weight: 10 },
            ],
          },
        ],
      },
    };
    const applied = await apply(route, 'cd-actions');
    expect(applied.spec.rules[0].backendRefs.map((b: Untyped) => b.weight)).toEqual([90, 10]);
    route.spec.rules[0]!.backendRefs[0]!.weight = 50;
    route.spec.rules[0]!.backendRefs[1]!.weight = 50;
    const shifted = await apply(route, 'cd-actions');
    expect(shifted.spec.rules[0].backendRefs.map((b: Untyped) => b.weight)).toEqual([50, 50]);
  });
});
