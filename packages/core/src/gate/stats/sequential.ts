/**
 * The sequential comparison of error rates: may be read after every look, stops early for "worse"
 * and for "not worse", and keeps the false-alarm rate at `alpha` however often it looks.
 *
 * The ratio test. Between two looks the canary served dn_c requests with dk_c errors, the baseline
 * dn_b with dk_b. If errors arrive at rate θ·r per canary request and r per baseline request, then
 * given the dk = dk_c + dk_b errors of the interval, dk_c is binomial with
 *   p(θ) = θ·s / (θ·s + 1 - s),   s = dn_c / (dn_c + dn_b)
 * whatever the baseline's own rate r is (Lindon & Malek 2022, "Anytime-valid inference for
 * multinomial count data", the test Netflix uses for canaries). So every error is one coin flip
 * whose bias says how much worse the canary is, and a mixture of likelihood ratios over θ is an
 * e-process (Ville: P(ever >= 1/alpha) <= alpha under the null):
 *   - "worse":     the null θ <= 1 (canary no worse than the baseline), mixture over θ in (1, 4];
 *   - "not worse": the null θ >= 1 + maxIncrease, mixture over θ below it down to a quarter of it.
 * Binomial likelihood ratios are monotone in θ, so each stays a supermartingale across its whole
 * composite null, not just at its edge.
 *
 * The floor. Errors are rare, and with none on either side the ratio test has nothing to weigh:
 * an error rate that is surely below `floor` (the canary's own confidence sequence, stats/
 * proportion.ts) is "not worse" too, and "worse" also needs the canary surely above it. Worse
 * is decided only when both its tests reject (each at alpha: the intersection stays at alpha);
 * "not worse" when either of its two does (each at alpha / 2: the union stays at alpha).
 */
import { rateBounds } from './proportion.js';

export interface Counts {
  errors: number;
  requests: number;
}

/** Cumulative counts since the test began, one pair per look. */
export interface Look {
  canary: Counts;
  baseline: Counts;
}

export interface SequentialOptions {
  /** The false-alarm rate: the chance of "worse" when the canary is no worse (and of "not worse" when it is). */
  alpha: number;
  /** "Not worse" means the canary's error rate is below (1 + maxIncrease) × the baseline's. */
  maxIncrease: number;
  /** Error rates below this are never worse: a canary surely under it is not worse. */
  floor: number;
}

export type SequentialDecision = 'worse' | 'not-worse' | 'continue';

/** What one look found: the decision and the evidence behind it, for the decision record. */
export interface SequentialEvidence {
  decision: SequentialDecision;
  /** The e-value against "no worse than the baseline": worse once >= 1/alpha. */
  worse: number;
  /** The e-value against "worse by maxIncrease or more": not worse once >= 2/alpha. */
  notWorse: number;
  /** The canary's error rate, bounded at every look with probability 1 - alpha / 2. */
  canaryRate: { low: number; high: number };
  /** Why the test stopped, or what it waits for. */
  reason: string;
}

/**
 * Grid of the mixture: 24 points evenly spaced in log θ over a fourfold range from the null's
 * edge. Wider ranges cost time on the cases that matter (a 20-fold range took 15% more looks to
 * decide a doubled error rate, in the seeded runs of the tests) and gain only on canaries so bad
 * that any range finds them in a look or two.
 */
const GRID = 24;
const SPAN = Math.log(4);

function grid(edge: number, direction: 1 | -1): number[] {
  return Array.from({ length: GRID }, (_, i) => edge * Math.exp((direction * SPAN * (i + 1)) / GRID));
}

/** The mixture e-value from each alternative's log-likelihood ratio, summed in log space (they reach 1e300 on long, clear runs). */
function mixture(logRatios: readonly number[]): number {
  const top = Math.max(...logRatios);
  // Capped, so that a record never holds Infinity (JSON would write null).
  return Math.min(
    Number.MAX_VALUE,
    Math.exp(top + Math.log(logRatios.reduce((s, l) => s + Math.exp(l - top), 0) / logRatios.length)),
  );
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.001 ? 3 : 2)}%`;
}

const NOTHING: Look = { canary: { errors: 0, requests: 0 }, baseline: { errors: 0, requests: 0 } };

/**
 * One test, fed the cumulative counts of every look in turn; each look costs the same however
 * many came before (the log-likelihood ratios are kept per alternative).
 */
export class SequentialTest {
  private readonly worseThetas = grid(1, 1);
  private readonly notWorseThetas: number[];
  private readonly worseLogs: number[];
  private readonly notWorseLogs: number[];
  private seen: Look = NOTHING;

  constructor(readonly options: SequentialOptions) {
    this.notWorseThetas = grid(1 + options.maxIncrease, -1);
    this.worseLogs = this.worseThetas.map(() => 0);
    this.notWorseLogs = this.notWorseThetas.map(() => 0);
  }

  observe(look: Look): SequentialEvidence {
    const before = this.seen;
    // Counters only grow; a smaller count (a scrape that lost a series) adds nothing.
    const dnC = Math.max(0, look.canary.requests - before.canary.requests);
    const dnB = Math.max(0, look.baseline.requests - before.baseline.requests);
    const dkC = Math.min(dnC, Math.max(0, look.canary.errors - before.canary.errors));
    const dkB = Math.min(dnB, Math.max(0, look.baseline.errors - before.baseline.errors));
    // An interval where one side served nothing says nothing about the ratio.
    if (dnC > 0 && dnB > 0 && dkC + dkB > 0) {
      const share = dnC / (dnC + dnB);
      const logP = (theta: number): [number, number] => {
        const p = (theta * share) / (theta * share + 1 - share);
        return [Math.log(p), Math.log1p(-p)];
      };
      const add = (thetas: readonly number[], logs: number[], null0: number): void => {
        const [n1, n0] = logP(null0);
        thetas.forEach((theta, i) => {
          const [a1, a0] = logP(theta);
          logs[i] = logs[i]! + dkC * (a1 - n1) + dkB * (a0 - n0);
        });
      };
      add(this.worseThetas, this.worseLogs, 1);
      add(this.notWorseThetas, this.notWorseLogs, 1 + this.options.maxIncrease);
    }
    this.seen = {
      canary: {
        errors: Math.max(before.canary.errors, look.canary.errors),
        requests: Math.max(before.canary.requests, look.canary.requests),
      },
      baseline: {
        errors: Math.max(before.baseline.errors, look.baseline.errors),
        requests: Math.max(before.baseline.requests, look.baseline.requests),
      },
    };
    return this.decide();
  }

  private decide(): SequentialEvidence {
    const { alpha, maxIncrease, floor } = this.options;
    const worse = mixture(this.worseLogs);
    const notWorse = mixture(this.notWorseLogs);
    const canaryRate = rateBounds(this.seen.canary.errors, this.seen.canary.requests, alpha / 2);
    const evidence = { worse, notWorse, canaryRate };
    const ratio = `e-values ${worse.toPrecision(3)} for worse, ${notWorse.toPrecision(3)} for not worse`;
    if (worse >= 1 / alpha && canaryRate.low > floor) {
      return {
        decision: 'worse',
        ...evidence,
        reason: `the canary's error rate is above the baseline's (${ratio}; needs ${1 / alpha}) and above the floor ${percent(floor)} (at least ${percent(canaryRate.low)})`,
      };
    }
    if (notWorse >= 2 / alpha) {
      return {
        decision: 'not-worse',
        ...evidence,
        reason: `the canary's error rate is below ${1 + maxIncrease}× the baseline's (${ratio}; needs ${2 / alpha})`,
      };
    }
    if (canaryRate.high <= floor) {
      return {
        decision: 'not-worse',
        ...evidence,
        reason: `the canary's error rate is below the floor ${percent(floor)} (at most ${percent(canaryRate.high)})`,
      };
    }
    return {
      decision: 'continue',
      ...evidence,
      reason: `not decided yet: ${ratio}; the canary's error rate is ${percent(canaryRate.low)}–${percent(canaryRate.high)}`,
    };
  }
}

/** Judges all looks so far from the start (the gate keeps only its samples). */
export function judgeSequential(looks: readonly Look[], options: SequentialOptions): SequentialEvidence {
  const test = new SequentialTest(options);
  let evidence: SequentialEvidence | undefined;
  for (const look of looks) evidence = test.observe(look);
  return evidence ?? test.observe(NOTHING);
}
