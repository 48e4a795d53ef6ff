import { describe, expect, it } from 'vitest';
import type { KubeObjects } from '../kube/objects.js';
import { HISTORY_LIMIT, openHistory, readHistory, type HistoryEntry } from './record.js';

/** ConfigMaps in memory, with merge-patch semantics for `data` (null deletes a key). */
function fakeObjects(): { objects: KubeObjects; writes: string[] } {
  const store = new Map<string, { metadata: { name: string }; data: Record<string, string> }>();
  const writes: string[] = [];
  const objects = {
    get: (_ref: unknown, _ns: string, name: string) => Promise.resolve(structuredClone(store.get(name))),
    create: (
      _ref: unknown,
      _ns: string,
      body: { metadata: { name: string }; data: Record<string, string> },
    ) => {
      writes.push('create');
      if (store.has(body.metadata.name))
        return Promise.reject(Object.assign(new Error('exists'), { code: 409 }));
      store.set(body.metadata.name, structuredClone(body));
      return Promise.resolve(body);
    },
    patch: (_ref: unknown, _ns: string, name: string, patch: { data: Record<string, string | null> }) => {
      writes.push('patch');
      const cm = store.get(name)!;
      for (const [key, value] of Object.entries(patch.data)) {
        if (value === null) delete cm.data[key];
        else cm.data[key] = value;
      }
      return Promise.resolve(cm);
    },
  } as unknown as KubeObjects;
  return { objects, writes };
}

function entry(i: number): HistoryEntry {
  return {
    action: 'deploy',
    strategy: 'rolling',
    outcome: 'succeeded',
    deployment: 'web',
    revision: String(i),
    images: { web: `web:${i}` },
    commit: 'abc',
    runUrl: '',
    actor: 'octocat',
    time: new Date(Date.UTC(2026, 10, 27, 0, 0, i)).toISOString(),
  };
}

describe('deploy history', () => {
  it('creates the ConfigMap on the first append, then appends with one write each, oldest first', async () => {
    const { objects, writes } = fakeObjects();
    const history = await openHistory(objects, 'shop', 'web');
    expect(history.entries).toEqual([]);
    await history.append(entry(1));
    await history.append(entry(2));
    expect(writes).toEqual(['create', 'patch']);
    expect((await readHistory(objects, 'shop', 'web')).map((e) => e.revision)).toEqual(['1', '2']);
  });

  it(`keeps the newest ${HISTORY_LIMIT} entries, across runs`, async () => {
    const { objects } = fakeObjects();
    for (let i = 1; i <= HISTORY_LIMIT + 5; i++) {
      // Each deploy opens the history anew, as each run does.
      await (await openHistory(objects, 'shop', 'web')).append(entry(i));
    }
    const revisions = (await readHistory(objects, 'shop', 'web')).map((e) => Number(e.revision));
    expect(revisions).toHaveLength(HISTORY_LIMIT);
    expect(revisions[0]).toBe(6);
    expect(revisions.at(-1)).toBe(HISTORY_LIMIT + 5);
  });
});
