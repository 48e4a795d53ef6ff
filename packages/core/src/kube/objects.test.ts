import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../../sandbox/src/sandbox.js';
import { createKube, type Kube } from './kube.js';
import { isNotFound } from './errors.js';
import { CONFIGMAPS, KubeObjects, NAMESPACES, resourcePath } from './objects.js';
import { watchObjects } from './watch.js';
import { RESOURCE_TYPES } from '../../../sandbox/src/resources.js';
import type { KubeObject } from '../manifests/manifests.js';

let sandbox: Sandbox;
let kube: Kube;
let objects: KubeObjects;

beforeAll(async () => {
  sandbox = await startSandbox({ rps: 0, namespaces: ['shop'] });
  kube = await createKube(
    { kubeconfig: await readFile(sandbox.kubeconfig, 'utf8'), namespace: 'shop' },
    { env: {}, homeDir: '/nonexistent', setSecret: () => undefined },
  );
  objects = new KubeObjects(kube);
});
afterAll(async () => {
  await sandbox.stop();
});

const configMap = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data,
});

describe('KubeObjects.apply (server-side apply through discovery)', () => {
  it('creates, then updates, a namespaced object in the client namespace, owned by cd-actions', async () => {
    const created = await objects.apply<KubeObject & { data: Record<string, string> }>(
      configMap('settings', { a: '1' }),
    );
    expect(created.metadata.namespace).toBe('shop');
    const live = await objects.mustGet<KubeObject & { data: Record<string, string> }>(
      CONFIGMAPS,
      'shop',
      'settings',
    );
    expect(live.data).toEqual({ a: '1' });
    expect(JSON.stringify(live.metadata)).toContain('"manager":"cd-actions"');

    await objects.apply(configMap('settings', { a: '2' }));
    const updated = await objects.getLive<{ data: Record<string, string> }>(configMap('settings', {}));
    expect(updated?.data).toEqual({ a: '2' });
  });

  it('changes nothing in a dry run', async () => {
    const result = await objects.apply<{ data: Record<string, string> }>(configMap('dry', { x: 'y' }), {
      dryRun: true,
    });
    expect(result.data).toEqual({ x: 'y' });
    expect(await objects.get(CONFIGMAPS, 'shop', 'dry')).toBeUndefined();
  });

  it('refuses a field the kind does not declare, as kubectl does, and writes nothing', async () => {
    const typo = { ...configMap('typo', { a: '1' }), datta: { b: '2' } };
    await expect(objects.apply(typo)).rejects.toThrow(
      'apply configmaps shop/typo failed: 400 BadRequest: .datta: field not declared in schema',
    );
    expect(await objects.get(CONFIGMAPS, 'shop', 'typo')).toBeUndefined();
  });

  it('writes a cluster-scoped kind without a namespace', async () => {
    await objects.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'made-by-apply' } });
    expect(await objects.get(NAMESPACES, undefined, 'made-by-apply')).toMatchObject({
      metadata: { name: 'made-by-apply' },
    });
  });

  it('names apiVersion and kind when the server serves no such kind, and writes nothing', async () => {
    const unknownKind = { apiVersion: 'apps/v1', kind: 'Deploymint', metadata: { name: 'web' } };
    await expect(objects.apply(unknownKind)).rejects.toThrow(
      'the API server serves no kind Deploymint in apps/v1; check apiVersion and kind',
    );
    const unknownGroup = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    await expect(objects.apply(unknownGroup)).rejects.toThrow(
      'the API server serves no kind Widget in example.com/v1; check apiVersion and kind (a custom resource needs its CustomResourceDefinition installed)',
    );
  });

  it('says undefined for a manifest whose object does not exist yet, and throws other errors', async () => {
    expect(await objects.getLive(configMap('not-there', {}))).toBeUndefined();
    const limited = await createKube(
      {
        kubeconfig: sandbox.kubeconfigFor({
          name: 'reader',
          namespaces: ['other'],
          verbs: ['get'],
          resources: ['configmaps'],
        }),
        namespace: 'shop',
      },
      { env: {}, homeDir: '/nonexistent', setSecret: () => undefined },
    );
    const error = await new KubeObjects(limited).getLive(configMap('settings', {})).catch((e: unknown) => e);
    expect(isNotFound(error)).toBe(false);
    expect((error as Error).message).toMatch(/get configmaps shop\/settings failed: 403 Forbidden/);
  });
});

describe('watchObjects against the API server', () => {
  it('reads a list of more than one page (limit 500) whole before it judges', async () => {
    const configmaps = RESOURCE_TYPES.find((t) => t.kind === 'ConfigMap')!;
    for (let i = 0; i < 1201; i++) {
      sandbox.store.create(configmaps, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `bulk-${i}`, namespace: 'shop', labels: { bulk: 'yes' } },
      });
    }
    const path = resourcePath(CONFIGMAPS, 'shop');
    const listsBefore = sandbox.audit.entries.filter((e) => e.verb === 'list' && e.path === path).length;
    const judged: number[] = [];
    await watchObjects({
      kube,
      path,
      labelSelector: 'bulk=yes',
      deadline: Date.now() + 10_000,
      judge: (all) => {
        judged.push(all.length);
        return all.length === 1201 ? 'done' : undefined;
      },
    });
    expect(judged).toEqual([1201]);
    const lists = sandbox.audit.entries.filter((e) => e.verb === 'list' && e.path === path).length;
    expect(lists - listsBefore).toBe(3);
  });
});
