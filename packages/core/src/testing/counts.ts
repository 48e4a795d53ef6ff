/**
 * Synthetic request and error counts for the statistics tests and the bench: a seeded generator,
 * so every run of a calibration or power test sees the same numbers. A test instrument: it knows
 * nothing of the test it feeds.
 */
import type { Look } from '../gate/stats/sequential.js';

/** mulberry32: a small, fast 32-bit generator, good enough to draw Bernoulli trials. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Errors among `requests` requests that each fail with probability `rate`. */
export function binomial(random: () => number, requests: number, rate: number): number {
  let errors = 0;
  for (let i = 0; i < requests; i++) if (random() < rate) errors += 1;
  return errors;
}

export interface TrafficModel {
  /** Requests per look on each side. */
  canaryPerLook: number;
  baselinePerLook: number;
  canaryRate: number;
  baselineRate: number;
}

/** Cumulative looks of one run, generated one at a time, so a test can stop at its decision. */
export function* looks(random: () => number, model: TrafficModel): Generator<Look> {
  const canary = { errors: 0, requests: 0 };
  const baseline = { errors: 0, requests: 0 };
  for (;;) {
    canary.requests += model.canaryPerLook;
    canary.errors += binomial(random, model.canaryPerLook, model.canaryRate);
    baseline.requests += model.baselinePerLook;
    baseline.errors += binomial(random, model.baselinePerLook, model.baselineRate);
    yield { canary: { ...canary }, baseline: { ...baseline } };
  }
}
