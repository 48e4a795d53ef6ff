import { describe, expect, it } from 'vitest';
import { judgeCheck, judgeCounts } from './judge.js';
import type { FailureRules, Sample } from './types.js';

const ok: Sample = { outcome: 'ok', value: 1, detail: 'ok' };
const bad: Sample = { outcome: 'fail', value: 0, detail: 'bad' };
const none: Sample = { outcome: 'no-data', detail: 'no data' };
const down: Sample = { outcome: 'no-data', error: true, detail: 'Prometheus unreadable' };
const crash: Sample = { outcome: 'fail', fatal: true, detail: 'CrashLoopBackOff' };

const rules = (extra: Partial<FailureRules> = {}): FailureRules => ({
  critical: false,
  failureLimit: 1,
  ...extra,
});

describe('judgeCheck', () => {
  it('passes with enough passing samples', () => {
    expect(judgeCheck(rules(), [ok, ok, ok], 'hold', 3).state).toBe('passing');
  });

  it('holds until it has the samples it needs', () => {
    const state = judgeCheck(rules(), [ok, ok], 'hold', 3);
    expect(state).toEqual({ state: 'holding', reason: '2 samples with passing data, 3 needed' });
  });

  it('holds when the latest sample has no data, however many passed before', () => {
    expect(judgeCheck(rules(), [ok, ok, ok, ok, none], 'hold', 2).state).toBe('holding');
  });

  it('never counts no data as a pass with on-no-data: hold', () => {
    expect(judgeCheck(rules(), [none, none, none, none], 'hold', 1).state).toBe('holding');
  });

  it('counts no data as passing only with on-no-data: pass', () => {
    expect(judgeCheck(rules(), [none, none], 'pass', 2).state).toBe('passing');
  });

  it('never counts an unreadable source as passing, even with on-no-data: pass', () => {
    expect(judgeCheck(rules(), [ok, down, down], 'pass', 1).state).toBe('holding');
  });

  it('counts no data as failing with on-no-data: fail', () => {
    expect(judgeCheck(rules(), [none, none], 'fail', 1)).toMatchObject({ state: 'failed' });
  });

  it('tolerates failures up to failure-limit', () => {
    expect(judgeCheck(rules({ failureLimit: 1 }), [ok, bad, ok], 'hold', 2).state).toBe('passing');
    expect(judgeCheck(rules({ failureLimit: 1 }), [ok, bad, ok, bad], 'hold', 2)).toEqual({
      state: 'failed',
      reason: '2 failed samples, more than failure-limit 1: bad',
    });
  });

  it('fails a critical check at its first failure', () => {
    expect(judgeCheck(rules({ critical: true, failureLimit: 5 }), [ok, bad], 'hold', 1)).toEqual({
      state: 'failed',
      reason: 'critical check failed at sample 2: bad',
    });
  });

  it('fails on a fatal sample whatever the rules', () => {
    expect(judgeCheck(rules({ failureLimit: 10 }), [ok, crash], 'hold', 1)).toMatchObject({
      state: 'failed',
    });
  });

  it('applies consecutive runs, ignoring no-data in between', () => {
    const consecutive = { critical: false, consecutive: 3 };
    expect(judgeCheck(consecutive, [bad, bad, ok, bad, bad, ok], 'hold', 1).state).toBe('passing');
    expect(judgeCheck(consecutive, [bad, bad, none, bad], 'hold', 1)).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('3 failed samples in a row') as unknown,
    });
  });

  it('applies M-of-K windows', () => {
    const window = { critical: false, window: { failures: 2, of: 4 } };
    expect(judgeCheck(window, [bad, ok, ok, ok, bad, ok], 'hold', 1).state).toBe('passing');
    expect(judgeCheck(window, [ok, bad, ok, bad], 'hold', 1)).toMatchObject({
      state: 'failed',
      reason: expect.stringContaining('2 of the last 4 samples failed') as unknown,
    });
  });

  it('uses the check min-samples over the gate default', () => {
    expect(judgeCheck(rules({ minSamples: 1 }), [ok], 'hold', 5).state).toBe('passing');
  });
});

describe('judgeCounts', () => {
  const options = { alpha: 0.05, maxIncrease: 1, floor: 0.001 };
  const look = (canaryErrors: number, baselineErrors: number, requests: number): Sample => ({
    outcome: 'ok',
    detail: '',
    counts: {
      canary: { errors: canaryErrors, requests },
      baseline: { errors: baselineErrors, requests },
    },
  });

  it('does not pass on a first look that shows no canary errors at all, however clear it reads', () => {
    // What a canary error series missing from one look would show: every error the baseline's.
    const state = judgeCounts([look(0, 40, 1000)], options);
    expect(state.state).toBe('holding');
    expect(state.reason).toMatch(/^not worse after 1 look \(a pass needs 3 looks\)/);
    expect(state.evidence?.decision).toBe('not-worse');
  });

  it('fails on the first look that is clear, and passes once three looks agree', () => {
    expect(judgeCounts([look(60, 5, 1000)], options).state).toBe('failed');
    const passing = judgeCounts([look(10, 12, 500), look(20, 25, 1000), look(30, 37, 1500)], options);
    expect(passing).toMatchObject({ state: 'passing', final: true });
  });

  it('holds on a look without counts (Prometheus unreadable), whatever came before', () => {
    const unreadable: Sample = { outcome: 'no-data', error: true, detail: 'Prometheus unreadable' };
    const state = judgeCounts([look(10, 12, 500), unreadable], options);
    expect(state).toMatchObject({
      state: 'holding',
      reason: 'the latest sample has no data (Prometheus unreadable)',
    });
  });
});
