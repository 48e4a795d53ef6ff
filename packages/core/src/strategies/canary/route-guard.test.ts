import { describe, expect, it } from 'vitest';
import { PhaseFailed } from '../../engine/phases.js';
import type { RouteState } from '../../traffic/index.js';
import { confirmRouteHeld, guardRoute, routeDrift } from './route-guard.js';
import type { CanaryContext } from './model.js';

const written: RouteState = {
  weights: { stable: 90, canary: 10 },
  header: { header: 'canary', match: 'exact', value: 'true', to: 'canary' },
  resourceVersion: '7',
  object: { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'web' } },
};

/** A context whose router answers `reads` in turn (an Error is thrown), then the last one again. */
function context(reads: (RouteState | undefined | Error)[], notes: string[] = []): CanaryContext {
  let i = 0;
  const router = {
    describe: () => 'VirtualService shop/web',
    getWeights: () => {
      const read = reads[Math.min(i++, reads.length - 1)];
      return read instanceof Error ? Promise.reject(read) : Promise.resolve(read);
    },
  };
  return { router, note: (text: string) => notes.push(text) } as unknown as CanaryContext;
}

describe('routeDrift', () => {
  it('nothing when the route holds what was written, whatever its resourceVersion', () => {
    expect(routeDrift(context([]), written, { ...written, resourceVersion: '9' })).toBeUndefined();
  });

  it('names what the route holds now against what the step wrote', () => {
    const flipped = { ...written, weights: { stable: 100, canary: 0 } };
    expect(routeDrift(context([]), written, flipped)).toContain(
      'VirtualService shop/web was changed by another writer during the step: it holds stable 100%, canary 0%, header route canary=true → canary, not stable 90%, canary 10%, header route canary=true → canary',
    );
    const { header: _gone, ...noHeader } = written;
    expect(routeDrift(context([]), written, noHeader)).toContain(
      'it holds stable 90%, canary 10%, no header route, not',
    );
    expect(routeDrift(context([]), written, undefined)).toBe(
      'VirtualService shop/web was deleted during the step',
    );
  });
});

describe('guardRoute', () => {
  it('fails the step at the first read that differs; a failed read is noted once and read again', async () => {
    const notes: string[] = [];
    const flipped = { ...written, weights: { stable: 100, canary: 0 } };
    const c = context([written, new Error('503'), new Error('503'), written, flipped], notes);
    const error = await guardRoute(c, written, 1, new AbortController().signal).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PhaseFailed);
    expect((error as Error).message).toContain('it holds stable 100%, canary 0%');
    expect(notes).toEqual([
      "VirtualService shop/web could not be read during the step (503); read again at the step's end",
    ]);
  });

  it('ends with its signal while the route holds', async () => {
    const stop = new AbortController();
    const guarding = guardRoute(context([written]), written, 1, stop.signal);
    setTimeout(() => stop.abort(new Error('step judged')), 20);
    await expect(guarding).rejects.toThrow('step judged');
  });
});

describe('confirmRouteHeld', () => {
  it('passes when the route holds, fails when it does not, and a read that fails fails the step', async () => {
    await expect(confirmRouteHeld(context([written]), written)).resolves.toBeUndefined();
    await expect(confirmRouteHeld(context([undefined]), written)).rejects.toThrow(
      'was deleted during the step',
    );
    await expect(confirmRouteHeld(context([new Error('403 forbidden')]), written)).rejects.toThrow('403');
  });
});
