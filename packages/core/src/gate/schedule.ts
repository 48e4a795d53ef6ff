/**
 * When a gate samples: after the initial delay, at 0, interval, 2×interval... up to the duration
 * (the last sample lands on it). Durations are checked by the caller's input specs.
 */
export interface Schedule {
  /** Offsets in ms from the start of the observation (after the initial delay). */
  offsets: number[];
}

export function schedule(durationMs: number, intervalMs: number): Schedule {
  if (!(intervalMs > 0)) throw new RangeError(`interval must be positive, got ${intervalMs} ms`);
  if (!(durationMs >= intervalMs))
    throw new RangeError(`duration ${durationMs} ms is shorter than the interval ${intervalMs} ms`);
  const offsets: number[] = [];
  for (let at = 0; at <= durationMs; at += intervalMs) offsets.push(at);
  if (offsets.at(-1) !== durationMs) offsets.push(durationMs);
  return { offsets };
}

/**
 * Samples with data a check needs before it may pass: half of the samples the gate will take,
 * so a gate that saw data only briefly stays inconclusive rather than passing.
 */
export function defaultMinSamples(durationMs: number, intervalMs: number): number {
  return Math.max(1, Math.ceil(schedule(durationMs, intervalMs).offsets.length / 2));
}
