import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { findResource } from '../src/resources.js';
import { configMap, startTestApi, type TestApi, type Untyped } from './api-helpers.js';

let t: TestApi;

beforeAll(async () => {
  t = await startTestApi();
  await t.core.createNamespace({ body: { metadata: { name: 'w' } } });
  await t.core.createNamespace({ body: { metadata: { name: 'other' } } });
});
afterAll(async () => t?.stop());

interface Seen {
  type: string;
  object: Untyped;
}

/** Opens a client-node watch and collects its events until stopped. */
async function openWatch(path: string, query: Record<string, string | number | boolean | undefined>) {
  const events: Seen[] = [];
  let ended: { err: unknown } | undefined;
  const controller = await new Watch(t.kc).watch(
    path,
    query,
    (type, object) => events.push({ type, object }),
    (err) => (ended = { err }),
  );
  const until = async (predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}; saw ${JSON.stringify(events.map((e) => e.type))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  return { events, ended: () => ended, until, abort: () => controller.abort() };
}

const summary = (events: Seen[]): string[] =>
  events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${e.object.metadata.name}`);

describe('watch', () => {
  it('sends the current objects, then live events for its namespace only', async () => {
    await t.core.createNamespacedConfigMap({ namespace: 'w', body: configMap('existing', 'w', {}) });
    const watch = await openWatch('/api/v1/namespaces/w/configmaps', {});
    await watch.until(() => watch.events.length >= 1, 'the initial ADDED');
    await t.core.createNamespacedConfigMap({ namespace: 'other', body: configMap('elsewhere', 'other', {}) });
    await t.core.createNamespacedConfigMap({ namespace: 'w', body: configMap('fresh', 'w', {}) });
    await t.core.deleteNamespacedConfigMap({ name: 'fresh', namespace: 'w' });
    await watch.until(() => watch.events.length >= 3, 'three events');
    watch.abort();
    expect(summary(watch.events)).toEqual(['ADDED existing', 'ADDED fresh', 'DELETED fresh']);
  });

  it('resumes from a resourceVersion with the events after it', async () => {
    const created = await t.core.createNamespacedConfigMap({
      namespace: 'w',
      body: configMap('resume', 'w', { v: '1' }),
    });
    const from = created.metadata!.resourceVersion!;
    await t.core.patchNamespacedConfigMap(
      { name: 'resume', namespace: 'w', body: { data: { v: '2' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await t.core.deleteNamespacedConfigMap({ name: 'resume', namespace: 'w' });
    const watch = await openWatch('/api/v1/namespaces/w/configmaps', {
      resourceVersion: from,
      fieldSelector: 'metadata.name=resume',
    });
    await watch.until(() => watch.events.length >= 2, 'the replayed events');
    watch.abort();
    expect(summary(watch.events)).toEqual(['MODIFIED resume', 'DELETED resume']);
    expect(watch.events[0]!.object.data).toEqual({ v: '2' });
    expect(Number(watch.events[0]!.object.metadata.resourceVersion)).toBeGreaterThan(Number(from));
  });

  it('sends periodic bookmarks carrying the current resourceVersion', async () => {
    const rv = String(t.store.currentRevision);
    const watch = await openWatch('/apis/apps/v1/namespaces/w/deployments', {
      resourceVersion: rv,
      allowWatchBookmarks: true,
    });
    await watch.until(() => watch.events.filter((e) => e.type === 'BOOKMARK').length >= 2, 'two bookmarks');
    watch.abort();
    const bookmark = watch.events.find((e) => e.type === 'BOOKMARK')!;
    expect(bookmark.object).toMatchObject({ kind: 'Deployment', apiVersion: 'apps/v1' });
    expect(Number(bookmark.object.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
  });

  it('answers a too-old resourceVersion with an ERROR event carrying 410 Expired', async () => {
    const old = String(t.store.currentRevision);
    await t.core.createNamespacedConfigMap({ namespace: 'w', body: configMap('compacted', 'w', {}) });
    t.store.compact();
    const watch = await openWatch('/api/v1/namespaces/w/configmaps', { resourceVersion: old });
    await watch.until(
      () => watch.events.length >= 1 && watch.ended() !== undefined,
      'the ERROR event and the end',
    );
    expect(watch.events[0]).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });
    expect(watch.events[0]!.object.message).toContain('too old resource version');
  });

  it('turns objects that stop matching a label selector into DELETED and back into ADDED', async () => {
    await t.core.createNamespacedConfigMap({
      namespace: 'w',
      body: configMap('sel', 'w', {}, { track: 'yes' }),
    });
    const watch = await openWatch('/api/v1/watch/namespaces/w/configmaps', { labelSelector: 'track=yes' });
    await watch.until(() => watch.events.length >= 1, 'the initial ADDED');
    const relabel = (value: string) =>
      t.core.patchNamespacedConfigMap(
        { name: 'sel', namespace: 'w', body: { metadata: { labels: { track: value } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    await relabel('no');
    await relabel('no-still'); // not matching before or after: no event
    await relabel('yes');
    await t.core.patchNamespacedConfigMap(
      { name: 'sel', namespace: 'w', body: { data: { x: '1' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await watch.until(() => watch.events.length >= 4, 'four events');
    watch.abort();
    expect(summary(watch.events)).toEqual(['ADDED sel', 'DELETED sel', 'ADDED sel', 'MODIFIED sel']);
  });

  it('keeps revision order when a store listener writes while an event is delivered', async () => {
    const configmaps = findResource('', 'configmaps')!;
    const stopEcho = t.store.watch(configmaps, 'w', undefined, (event) => {
      if (event.type === 'ADDED' && event.object.metadata.name === 'trigger') {
        t.store.create(configmaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'echo', namespace: 'w' },
        });
      }
    });
    const watch = await openWatch('/api/v1/namespaces/w/configmaps', {
      resourceVersion: String(t.store.currentRevision),
    });
    try {
      await t.core.createNamespacedConfigMap({ namespace: 'w', body: configMap('trigger', 'w', {}) });
      await watch.until(() => watch.events.length >= 2, 'both events');
    } finally {
      stopEcho();
      watch.abort();
    }
    expect(summary(watch.events)).toEqual(['ADDED trigger', 'ADDED echo']);
    const versions = watch.events.map((e) => Number(e.object.metadata.resourceVersion));
    expect(versions[0]).toBeLessThan(versions[1]!);
  });

  it('ends the stream after timeoutSeconds', async () => {
    const started = Date.now();
    const watch = await openWatch('/api/v1/namespaces/w/configmaps', {
      resourceVersion: String(t.store.currentRevision),
      timeoutSeconds: 1,
    });
    // A deadline for the wait, not a bound on speed: nothing else ends this watch within it (the
    // server has no other end, client-node's idle timeout is 30 s and ends with an error).
    await watch.until(() => watch.ended() !== undefined, 'the server to end the watch', 20_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(watch.ended()!.err).toBeNull();
  });

  it('drops the stream when a dropWatchAfterMs fault fires', async () => {
    t.faults.add({
      target: 'api',
      match: { verb: 'watch', path: '/configmaps' },
      dropWatchAfterMs: 150,
      times: 1,
    });
    const watch = await openWatch('/api/v1/namespaces/w/configmaps', {
      resourceVersion: String(t.store.currentRevision),
    });
    // Without the fault this watch has no end of its own (no timeoutSeconds; client-node's idle
    // timeout is 30 s): an end within the wait, as a broken connection, is the drop.
    await watch.until(() => watch.ended() !== undefined, 'the dropped watch', 20_000);
    const { err } = watch.ended()!;
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).not.toBe('TimeoutError');
    const entry = t.audit.entries.findLast((e) => e.verb === 'watch');
    expect(entry).toMatchObject({
      target: 'api',
      user: 'admin',
      status: 200,
      path: '/api/v1/namespaces/w/configmaps',
      fault: { kind: 'dropWatch' },
    });
  });

  it('closes open watches when the server stops', async () => {
    const other = await startTestApi();
    const events: string[] = [];
    let done = false;
    await new Watch(other.kc).watch(
      '/api/v1/namespaces',
      {},
      (type) => events.push(type),
      () => (done = true),
    );
    const deadline = Date.now() + 5000;
    await other.stop();
    while (!done && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(done).toBe(true);
  });
});
