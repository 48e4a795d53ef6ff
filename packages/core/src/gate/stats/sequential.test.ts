/**
 * Calibration and power of the sequential comparison, on seeded synthetic counts: the same
 * numbers on every run, so the rates below are exact figures of this test, not flaky estimates.
 * Traffic: 100 requests per look (a look a second at 100 rps), at most 300 looks (5 minutes).
 */
import { describe, expect, it } from 'vitest';
import { looks, seededRandom, type TrafficModel } from '../../testing/counts.js';
import { judgeSequential, SequentialTest, type SequentialOptions } from './sequential.js';
import { rateBounds } from './proportion.js';

const DEFAULTS: SequentialOptions = { alpha: 0.05, maxIncrease: 1, floor: 0.001 };
const RUNS = 500;
const MAX_LOOKS = 300;

interface Outcome {
  decision: 'worse' | 'not-worse' | 'continue';
  canaryRequests: number;
}

/** One gate: looks until the test decides or the 300 looks are up. */
function runOnce(seed: number, model: TrafficModel, options = DEFAULTS): Outcome {
  const test = new SequentialTest(options);
  let count = 0;
  for (const look of looks(seededRandom(seed), model)) {
    const { decision } = test.observe(look);
    count += 1;
    if (decision !== 'continue' || count >= MAX_LOOKS)
      return { decision, canaryRequests: look.canary.requests };
  }
  throw new Error('unreachable');
}

function runMany(model: TrafficModel, options = DEFAULTS): Outcome[] {
  return Array.from({ length: RUNS }, (_, i) => runOnce(1000 + i, model, options));
}

const share = (outcomes: Outcome[], decision: Outcome['decision']): number =>
  outcomes.filter((o) => o.decision === decision).length / outcomes.length;

/** The requests by which `fraction` of the runs had decided `decision`. */
function requestsBy(outcomes: Outcome[], decision: Outcome['decision'], fraction: number): number {
  const decided = outcomes
    .filter((o) => o.decision === decision)
    .map((o) => o.canaryRequests)
    .sort((a, b) => a - b);
  return decided[Math.ceil(fraction * outcomes.length) - 1] ?? Number.POSITIVE_INFINITY;
}

/** Monte Carlo tolerance: two standard errors of a rate of `alpha` measured over RUNS runs. */
const tolerance = (alpha: number): number => 2 * Math.sqrt((alpha * (1 - alpha)) / RUNS);

describe('A/A calibration: the same error rate on both sides', () => {
  for (const [name, model] of [
    [
      'even split, 2% errors',
      { canaryPerLook: 50, baselinePerLook: 50, canaryRate: 0.02, baselineRate: 0.02 },
    ],
    [
      '10% canary, 2% errors',
      { canaryPerLook: 10, baselinePerLook: 90, canaryRate: 0.02, baselineRate: 0.02 },
    ],
    [
      'even split, 10% errors',
      { canaryPerLook: 50, baselinePerLook: 50, canaryRate: 0.1, baselineRate: 0.1 },
    ],
  ] as const) {
    it(`raises a false alarm in at most 5% (+ ${(tolerance(0.05) * 100).toFixed(1)} points) of ${RUNS} gates: ${name}`, () => {
      const outcomes = runMany(model);
      const falseAlarms = share(outcomes, 'worse');
      expect(falseAlarms).toBeLessThanOrEqual(0.05 + tolerance(0.05));
      // It is a test, not a coin that never lands: nearly every healthy gate decides "not worse".
      expect(share(outcomes, 'not-worse')).toBeGreaterThanOrEqual(0.9);
    });
  }

  it('keeps a stricter false-alarm rate when asked: 1%', () => {
    const alpha = 0.01;
    const outcomes = runMany(
      { canaryPerLook: 50, baselinePerLook: 50, canaryRate: 0.02, baselineRate: 0.02 },
      { ...DEFAULTS, alpha },
    );
    expect(share(outcomes, 'worse')).toBeLessThanOrEqual(alpha + tolerance(alpha));
  });

  it('passes a canary without errors on the floor, by 5,000 canary requests', () => {
    const outcomes = runMany({ canaryPerLook: 50, baselinePerLook: 50, canaryRate: 0, baselineRate: 0 });
    expect(share(outcomes, 'not-worse')).toBe(1);
    expect(requestsBy(outcomes, 'not-worse', 1)).toBeLessThanOrEqual(5000);
  });
});

describe('power: a canary at twice the stable error rate', () => {
  it('is found worse in 95% of gates within 3,500 canary requests (even split, 2% vs 4%)', () => {
    const outcomes = runMany({
      canaryPerLook: 50,
      baselinePerLook: 50,
      canaryRate: 0.04,
      baselineRate: 0.02,
    });
    expect(requestsBy(outcomes, 'worse', 0.95)).toBeLessThanOrEqual(3500);
    // Passing it is the other error the test bounds: at most alpha, at the edge of "not worse".
    expect(share(outcomes, 'not-worse')).toBeLessThanOrEqual(0.05 + tolerance(0.05));
  });

  it('is found worse in 95% of gates within 2,000 canary requests (10% canary, 2% vs 4%)', () => {
    const outcomes = runMany({
      canaryPerLook: 10,
      baselinePerLook: 90,
      canaryRate: 0.04,
      baselineRate: 0.02,
    });
    expect(requestsBy(outcomes, 'worse', 0.95)).toBeLessThanOrEqual(2000);
  });

  it('finds a canary in an incident that hits both versions not worse', () => {
    // 8% errors on both sides: a fixed "error rate <= 1%" would fail it; the comparison does not.
    const outcomes = runMany({
      canaryPerLook: 50,
      baselinePerLook: 50,
      canaryRate: 0.08,
      baselineRate: 0.08,
    });
    expect(share(outcomes, 'not-worse')).toBeGreaterThanOrEqual(0.95);
  });

  it('fails a canary that doubled a stable at 0.4%, which a fixed 1% threshold passes', () => {
    const outcomes = runMany({
      canaryPerLook: 50,
      baselinePerLook: 50,
      canaryRate: 0.008,
      baselineRate: 0.004,
    });
    expect(share(outcomes, 'worse')).toBeGreaterThanOrEqual(0.8);
  });
});

describe('the evidence', () => {
  it('is deterministic: the same looks give the same e-values', () => {
    const model = { canaryPerLook: 50, baselinePerLook: 50, canaryRate: 0.04, baselineRate: 0.02 };
    const take = (): number[] => {
      const test = new SequentialTest(DEFAULTS);
      const out: number[] = [];
      let n = 0;
      for (const look of looks(seededRandom(7), model)) {
        out.push(test.observe(look).worse);
        if (++n === 50) break;
      }
      return out;
    };
    expect(take()).toEqual(take());
  });

  it('judges cumulative looks the same whole as one by one, and ignores counters that go back', () => {
    const series = [
      { canary: { errors: 2, requests: 100 }, baseline: { errors: 1, requests: 100 } },
      { canary: { errors: 9, requests: 200 }, baseline: { errors: 2, requests: 200 } },
      // A scrape that lost a series: smaller counts add nothing.
      { canary: { errors: 3, requests: 120 }, baseline: { errors: 2, requests: 200 } },
      { canary: { errors: 20, requests: 300 }, baseline: { errors: 3, requests: 300 } },
    ];
    const test = new SequentialTest(DEFAULTS);
    const last = series.map((look) => test.observe(look)).at(-1)!;
    const whole = judgeSequential(series, DEFAULTS);
    expect(whole.worse).toBeCloseTo(last.worse, 9);
    expect(whole.decision).toBe('worse');
    expect(whole.reason).toMatch(/above the baseline's/);
  });

  it('says what it waits for when it has nothing to weigh', () => {
    const nothing = judgeSequential([], DEFAULTS);
    expect(nothing.decision).toBe('continue');
    expect(nothing.worse).toBe(1);
    expect(nothing.reason).toMatch(/^not decided yet/);
  });
});

describe('rateBounds (the canary error rate, valid at every look)', () => {
  it('covers the observed rate and narrows with more requests', () => {
    const few = rateBounds(10, 1000, 0.05);
    const many = rateBounds(100, 10_000, 0.05);
    for (const b of [few, many]) {
      expect(b.low).toBeLessThan(0.01);
      expect(b.high).toBeGreaterThan(0.01);
    }
    expect(many.high - many.low).toBeLessThan(few.high - few.low);
  });

  it('bounds zero errors by about 4/n at 5%', () => {
    const { low, high } = rateBounds(0, 4000, 0.05);
    expect(low).toBe(0);
    expect(high).toBeGreaterThan(2 / 4000);
    expect(high).toBeLessThan(5 / 4000);
  });

  it('covers the true rate at every look in at least 95% of seeded runs', () => {
    let missed = 0;
    for (let run = 0; run < RUNS; run++) {
      const random = seededRandom(run + 1);
      let errors = 0;
      for (let n = 1; n <= 3000; n++) {
        if (random() < 0.03) errors += 1;
        if (n % 10 !== 0) continue;
        const { low, high } = rateBounds(errors, n, 0.05);
        if (low > 0.03 || high < 0.03) {
          missed += 1;
          break;
        }
      }
    }
    expect(missed / RUNS).toBeLessThanOrEqual(0.05);
  });
});
