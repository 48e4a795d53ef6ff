import { describe, expect, it } from 'vitest';
import { sleep } from '../net/retry.js';
import { defaultMinSamples, schedule } from './schedule.js';

describe('schedule', () => {
  it('samples at 0, every interval and at the end', () => {
    expect(schedule(6000, 1000).offsets).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000]);
    expect(schedule(5000, 2000).offsets).toEqual([0, 2000, 4000, 5000]);
  });

  it('refuses an interval longer than the duration, or none', () => {
    expect(() => schedule(1000, 2000)).toThrow(/shorter than the interval/);
    expect(() => schedule(1000, 0)).toThrow(/interval must be positive/);
  });

  it('needs half the samples as evidence by default', () => {
    expect(defaultMinSamples(6000, 1000)).toBe(4);
    expect(defaultMinSamples(1000, 1000)).toBe(1);
  });

  it('waits can be aborted', async () => {
    const controller = new AbortController();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});
