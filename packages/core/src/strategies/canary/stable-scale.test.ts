import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../kube/rollout.js';
import type { PhaseContext, Undo } from '../../engine/phases.js';
import type { HeaderRoute, RouteState, Weights } from '../../traffic/index.js';
import type { CanaryContext, CanaryInputs, Live, Shared } from './model.js';
import { resolveRouting } from './routing.js';
import {
  abortWeight,
  describeStepDown,
  restoreStableUndo,
  shrinkStable,
  stableShare,
  stepTrafficBack,
} from './stable-scale.js';

describe('stableShare: the stable keeps the share of its full size the canary does not take', () => {
  it('rounds up, never below one pod', () => {
    expect([5, 25, 50, 75, 100].map((w) => stableShare(4, w))).toEqual([4, 3, 2, 1, 1]);
    expect([10, 50, 90, 99].map((w) => stableShare(10, w))).toEqual([9, 5, 1, 1]);
    expect(stableShare(1, 50)).toBe(1);
  });
});

describe('abortWeight: the canary keeps only what the stable cannot take yet', () => {
  it('falls as the stable becomes ready, to 0 at full size', () => {
    expect([0, 1, 2, 3, 4].map((ready) => abortWeight(ready, 4))).toEqual([100, 75, 50, 25, 0]);
    // Rounded in the canary's favour: the stable is never sent more than its ready pods' share.
    expect(abortWeight(1, 3)).toBe(67);
    expect(abortWeight(2, 3)).toBe(34);
    expect(abortWeight(5, 4)).toBe(0);
    expect(abortWeight(0, 0)).toBe(0);
  });

  it('names the weights held, repeats dropped', () => {
    expect(describeStepDown([50, 50, 25, 0])).toBe('canary 50% → 25% → 0%');
  });
});

/** A stable Deployment whose ready pods come one per look, and a route that records every write. */
function fakeCluster(o: { replicas: number; ready: number[]; weight: number; header?: HeaderRoute }): {
  c: CanaryContext;
  s: Shared;
  writes: { canary: number; header: HeaderRoute | null | undefined }[];
  patches: number[];
} {
  const writes: { canary: number; header: HeaderRoute | null | undefined }[] = [];
  const patches: number[] = [];
  let replicas = o.replicas;
  let looks = 0;
  let route: RouteState = {
    weights: { stable: 100 - o.weight, canary: o.weight },
    ...(o.header ? { header: o.header } : {}),
    resourceVersion: '1',
    object: { apiVersion: 'v1', kind: 'VirtualService', metadata: { name: 'web' } },
  };
  const stable = (): Deployment => ({
    metadata: { name: 'web' },
    spec: { replicas, selector: {}, template: { spec: { containers: [] } } },
    status: { readyReplicas: o.ready[Math.min(looks++, o.ready.length - 1)]! },
  });
  const c = {
    o: {
      namespace: 'shop',
      app: 'web',
      route: 'istio',
      dynamicStableScale: true,
      runner: { debug: () => undefined },
    },
    objects: {
      mustGet: () => Promise.resolve(stable()),
      patch: (_ref: unknown, _ns: string, _name: string, body: { spec: { replicas: number } }) => {
        replicas = body.spec.replicas;
        patches.push(replicas);
        return Promise.resolve({});
      },
    },
    router: {
      describe: () => 'VirtualService shop/web',
      getWeights: () => Promise.resolve(route),
      setWeights: (weights: Weights, resourceVersion: string, header?: HeaderRoute | null) => {
        expect(resourceVersion).toBe(route.resourceVersion);
        writes.push({ canary: weights.canary!, header });
        route = {
          weights,
          ...(header === undefined && route.header ? { header: route.header } : {}),
          resourceVersion: String(Number(route.resourceVersion) + 1),
          object: route.object,
        };
        return Promise.resolve(route);
      },
    },
    note: () => undefined,
  } as unknown as CanaryContext;
  const s = {
    live: { stable: stable() },
    state: { stableReplicas: 4 },
    weight: o.weight,
  } as unknown as Shared;
  looks = 0;
  return { c, s, writes, patches };
}

const undoContext = (ms: number): { signal: AbortSignal; deadline: number; note: (t: string) => void } => ({
  signal: new AbortController().signal,
  deadline: Date.now() + ms,
  note: () => undefined,
});

describe('stepTrafficBack: an abort that waits for the stable it scaled down', () => {
  it('scales the stable back first, removes the header route at the first write, then steps the weight down as pods become ready', async () => {
    const header: HeaderRoute = { header: 'canary', match: 'exact', value: 'true', to: 'canary' };
    const { c, s, writes, patches } = fakeCluster({
      replicas: 2,
      ready: [2, 2, 3, 3, 4],
      weight: 50,
      header,
    });
    const current = await c.router.getWeights();
    await stepTrafficBack(c, s, current!, undoContext(60_000));
    expect(patches).toEqual([4]);
    expect(writes).toEqual([
      { canary: 50, header: null },
      { canary: 25, header: null },
      { canary: 0, header: null },
    ]);
    expect(s.weight).toBe(0);
    expect(s.stableScale).toBe(
      'abort: canary 50% → 25% → 0% as web became ready (header route removed at the first write); web back at 4 replicas',
    );
  });

  it('is the one write of an ordinary abort when the stable is already full and ready', async () => {
    const { c, s, writes, patches } = fakeCluster({ replicas: 4, ready: [4], weight: 50 });
    await stepTrafficBack(c, s, (await c.router.getWeights())!, undoContext(60_000));
    expect(patches).toEqual([]);
    expect(writes).toEqual([{ canary: 0, header: null }]);
    expect(s.stableScale).toContain('all traffic back on web in one write');
  });

  it('writes nothing when the route already holds 0 and no header route', async () => {
    const { c, s, writes } = fakeCluster({ replicas: 4, ready: [4], weight: 0 });
    await stepTrafficBack(c, s, (await c.router.getWeights())!, undoContext(60_000));
    expect(writes).toEqual([]);
  });

  it('sends the rest to the stable at its deadline when its pods do not come, and says so', async () => {
    const { c, s, writes } = fakeCluster({ replicas: 1, ready: [1], weight: 75 });
    await stepTrafficBack(c, s, (await c.router.getWeights())!, undoContext(1200));
    expect(writes).toEqual([{ canary: 0, header: null }]);
    expect(s.stableScale).toContain('web had 1 of 4 pods ready at the deadline, and took the rest anyway');
  });
});

describe('shrinkStable and its undo', () => {
  function phase(): { ctx: PhaseContext; undos: Undo[] } {
    const undos: Undo[] = [];
    const keys = new Set<string>();
    const ctx = {
      signal: new AbortController().signal,
      undoWith: (u: Undo) => undos.push(u),
      undoOnce: (key: string, u: Undo) => {
        if (!keys.has(key)) undos.push(u);
        keys.add(key);
      },
      wrote: () => undefined,
    } as unknown as PhaseContext;
    return { ctx, undos };
  }

  it('shrinks to the share, registering once an undo that reads before it writes', async () => {
    const { c, s, patches } = fakeCluster({ replicas: 4, ready: [4], weight: 25 });
    const { ctx, undos } = phase();
    await shrinkStable(c, ctx, s, 25);
    await shrinkStable(c, ctx, s, 50);
    // A resumed step finds it at its share already: nothing written.
    await shrinkStable(c, ctx, s, 50);
    expect(patches).toEqual([3, 2]);
    expect(s.stableScale).toBe('stable scaled to 2 of 4 for 50%');
    expect(undos).toHaveLength(1);
    await undos[0]!.run(undoContext(5000));
    await undos[0]!.run(undoContext(5000));
    expect(patches).toEqual([3, 2, 4]);
  });

  it('the undo writes nothing when the shrink never took effect', async () => {
    const { c, patches } = fakeCluster({ replicas: 4, ready: [4], weight: 25 });
    await restoreStableUndo(c, 4).run(undoContext(5000));
    expect(patches).toEqual([]);
  });
});

describe('resolveRouting: dynamic-stable-scale belongs to the canary, like its routing', () => {
  const given = { app: 'web', route: 'istio' } as CanaryInputs;
  const inProgress = (stableReplicas?: number): Live => ({
    state: {
      state: 'paused',
      route: { kind: 'istio', service: 'web', versionLabel: 'version' },
      steps: [25, 100],
      history: [],
      templateDigest: 'abc',
      ...(stableReplicas !== undefined ? { stableReplicas } : {}),
    },
  });

  it('is off unless asked, and a later job of a canary that scales its stable keeps scaling it', () => {
    expect(resolveRouting(given, {}).dynamicStableScale).toBe(false);
    expect(resolveRouting({ ...given, dynamicStableScale: true }, {}).dynamicStableScale).toBe(true);
    expect(resolveRouting({ app: 'web' } as CanaryInputs, inProgress(4)).dynamicStableScale).toBe(true);
    expect(resolveRouting({ app: 'web' } as CanaryInputs, inProgress()).dynamicStableScale).toBe(false);
  });

  it('refuses a run that says otherwise than the canary in progress, and route replicas', () => {
    expect(() => resolveRouting({ ...given, dynamicStableScale: false }, inProgress(4))).toThrow(
      'was started with dynamic-stable-scale "true"; this run says dynamic-stable-scale "false"',
    );
    expect(() => resolveRouting({ app: 'web', dynamicStableScale: true } as CanaryInputs, {})).toThrow(
      'Input "dynamic-stable-scale" has value "true", but the route is "replicas" (the default)',
    );
  });
});
