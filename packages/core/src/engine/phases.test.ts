import { recordingRunner } from '../testing/recording-runner.js';
import { describe, expect, it } from 'vitest';
import { PhaseFailed, runPhases, type Phase, type RunPhasesOptions } from './phases.js';

/** Stands for one request to the API: every write and read in these phases is one. */
function apiCall(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A world of one value, "traffic", with phases that write it and say how to put it back. */
function world(): { traffic: string; writes: string[] } {
  return { traffic: 'v1', writes: [] };
}

function switchTo(
  w: ReturnType<typeof world>,
  version: string,
  opts: { failAfterWrite?: Error } = {},
): Phase {
  return {
    name: `switch-${version}`,
    run: async (ctx) => {
      await apiCall();
      const before = w.traffic;
      ctx.undoWith({
        what: `switch back to ${before}`,
        run: async () => {
          await apiCall();
          if (w.traffic !== before) {
            w.traffic = before;
            w.writes.push(`undo->${before}`);
          }
        },
      });
      w.traffic = version;
      w.writes.push(`->${version}`);
      if (opts.failAfterWrite) throw opts.failAfterWrite;
    },
  };
}

function options(phases: Phase[], extra: Partial<RunPhasesOptions> = {}): RunPhasesOptions {
  return {
    phases,
    runner: recordingRunner(),
    signals: { cancel: new AbortController().signal },
    shouldUndo: () => true,
    undoBudgetMs: () => 5000,
    ...extra,
  };
}

describe('runPhases', () => {
  it('runs every phase in order and reports ok with nothing undone', async () => {
    const w = world();
    const outcome = await runPhases(options([switchTo(w, 'v2'), switchTo(w, 'v3')]));
    expect(outcome).toMatchObject({ ok: true, wrote: true, compensation: 'none', problems: [] });
    expect(w.writes).toEqual(['->v2', '->v3']);
    expect(w.traffic).toBe('v3');
  });

  it('an unexpected error after a write unwinds every undo, newest first', async () => {
    const w = world();
    const outcome = await runPhases(
      options([switchTo(w, 'v2'), switchTo(w, 'v3', { failAfterWrite: new TypeError('boom') })]),
    );
    expect(outcome).toMatchObject({
      ok: false,
      failedPhase: 'switch-v3',
      reason: 'failed',
      cause: 'boom',
      compensation: 'done',
    });
    expect(w.writes).toEqual(['->v2', '->v3', 'undo->v2', 'undo->v1']);
    expect(w.traffic).toBe('v1');
  });

  it('a failure before any write has nothing to undo', async () => {
    const outcome = await runPhases(
      options([{ name: 'read', run: () => Promise.reject(new PhaseFailed('not there')) }]),
    );
    expect(outcome).toMatchObject({ ok: false, wrote: false, compensation: 'none', cause: 'not there' });
  });

  it('a failing undo is retried (it reads before it writes), then the older ones still run', async () => {
    const w = world();
    let attempts = 0;
    const flaky: Phase = {
      name: 'flaky',
      run: async (ctx) => {
        await apiCall();
        ctx.undoWith({
          what: 'flaky undo',
          run: async () => {
            await apiCall();
            attempts += 1;
            if (attempts < 3) throw new Error('HTTP 409 conflict');
          },
        });
        throw new Error('gate said no');
      },
    };
    const outcome = await runPhases(options([switchTo(w, 'v2'), flaky]));
    expect(attempts).toBe(3);
    expect(outcome.compensation).toBe('done');
    expect(w.traffic).toBe('v1');
  });

  it('an undo that keeps failing makes the compensation incomplete, names it, and older undos still run', async () => {
    const w = world();
    const stuck: Phase = {
      name: 'stuck',
      run: async (ctx) => {
        await apiCall();
        ctx.undoWith({ what: 'restore the thing', run: () => Promise.reject(new PhaseFailed('gone')) });
        throw new Error('later failure');
      },
    };
    const outcome = await runPhases(options([switchTo(w, 'v2'), stuck]));
    expect(outcome.compensation).toBe('incomplete');
    expect(outcome.problems).toEqual(['could not restore the thing: gone']);
    expect(w.traffic).toBe('v1');
  });

  it('a cancel stops the run at the next wait and is reported as such; on-cancel leave skips the undo', async () => {
    const w = world();
    const cancel = new AbortController();
    const waiting: Phase = {
      name: 'wait',
      run: (ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
          setTimeout(() => cancel.abort(new Error('SIGINT')), 10);
        }),
    };
    const outcome = await runPhases(
      options([switchTo(w, 'v2'), waiting], {
        signals: { cancel: cancel.signal },
        shouldUndo: (reason) => reason !== 'cancelled',
      }),
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'cancelled', compensation: 'skipped' });
    expect(w.traffic).toBe('v2');
  });

  it("a lost lock stops the run with the lock's reason", async () => {
    const w = world();
    const lost = new AbortController();
    lost.abort(new Error('lease cd-actions-lock-web taken by acme/shop#99'));
    const outcome = await runPhases(
      options([switchTo(w, 'v2'), switchTo(w, 'v3')], {
        signals: { cancel: new AbortController().signal, lockLost: lost.signal },
      }),
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'lock-lost', wrote: false });
    expect(outcome.cause).toContain('taken by acme/shop#99');
    expect(w.writes).toEqual([]);
  });

  it("another run's stop request stops a waiting phase with the request as the cause, and undoes", async () => {
    const w = world();
    const stop = new AbortController();
    const waiting: Phase = {
      name: 'step 25',
      run: (ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
          setTimeout(() => stop.abort(new Error('acme/shop run 99 asked this run to abort the canary')), 10);
        }),
    };
    const outcome = await runPhases(
      options([switchTo(w, 'v2'), waiting], {
        signals: { cancel: new AbortController().signal, stopRequested: stop.signal },
      }),
    );
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'stop-requested',
      failedPhase: 'step 25',
      cause: 'acme/shop run 99 asked this run to abort the canary',
      compensation: 'done',
    });
    expect(w.traffic).toBe('v1');
  });

  it('a promote request reaches the phases and stops nothing by itself', async () => {
    const w = world();
    const promote = new AbortController();
    const seen: boolean[] = [];
    const asks: Phase = {
      name: 'step 25',
      run: (ctx) => {
        seen.push(ctx.promoteRequested.aborted);
        promote.abort(new Error('acme/shop run 99 asked this run to promote the canary now'));
        return Promise.resolve();
      },
    };
    const after: Phase = {
      name: 'promote',
      run: (ctx) => {
        seen.push(ctx.promoteRequested.aborted);
        return Promise.resolve();
      },
    };
    const outcome = await runPhases(
      options([switchTo(w, 'v2'), asks, after], {
        signals: { cancel: new AbortController().signal, promoteRequested: promote.signal },
      }),
    );
    expect(outcome).toMatchObject({ ok: true, compensation: 'none' });
    expect(seen).toEqual([false, true]);
    expect(w.traffic).toBe('v2');
  });

  it('a deadline stops a phase that waits and undoes its writes', async () => {
    const w = world();
    const forever: Phase = {
      name: 'forever',
      run: (ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true }),
        ),
    };
    const outcome = await runPhases(
      options([switchTo(w, 'v2'), forever], {
        signals: { cancel: new AbortController().signal, deadline: Date.now() + 20 },
      }),
    );
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'deadline',
      failedPhase: 'forever',
      compensation: 'done',
    });
    expect(w.traffic).toBe('v1');
  });

  it('undoOnce keeps only the first undo for a key: an object re-applied is put back to its first state', async () => {
    const w = world();
    const apply = (version: string): Phase => ({
      name: `apply-${version}`,
      run: async (ctx) => {
        await apiCall();
        const before = w.traffic;
        ctx.undoOnce('thing', {
          what: `put back ${before}`,
          run: async () => {
            await apiCall();
            w.traffic = before;
          },
        });
        w.traffic = version;
      },
    });
    const outcome = await runPhases(
      options([apply('v2'), apply('v3'), { name: 'fail', run: () => Promise.reject(new Error('x')) }]),
    );
    expect(outcome.compensation).toBe('done');
    expect(w.traffic).toBe('v1');
  });

  it('each phase runs in its own log group, and compensation in one more', async () => {
    const w = world();
    const runner = recordingRunner();
    await runPhases(options([switchTo(w, 'v2', { failAfterWrite: new Error('x') })], { runner }));
    expect(runner.lines.filter((l) => l.startsWith('group: '))).toEqual([
      'group: switch-v2',
      'group: compensate',
    ]);
  });
});
