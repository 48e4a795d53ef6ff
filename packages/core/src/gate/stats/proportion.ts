/**
 * A confidence sequence for one error rate: bounds that hold at every look at once, so a gate may
 * read them after every sample without the false-alarm rate growing with the number of looks.
 *
 * It is the beta-binomial mixture martingale (Robbins 1970; Howard et al. 2021, "Time-uniform,
 * nonparametric, nonasymptotic confidence sequences"): for the true rate p,
 *   M_n(p) = [B(a + k, b + n - k) / B(a, b)] / [p^k (1 - p)^(n - k)]
 * is a nonnegative martingale with mean 1, so by Ville's inequality P(ever M_n(p) >= 1/alpha) <=
 * alpha, and {p : M_n(p) < 1/alpha} covers p at every n with probability 1 - alpha. The prior
 * Beta(0.1, 1) puts its mass on small rates, where error rates live: 0 errors in n requests bound
 * the rate by about 4/n at alpha 5% (a uniform prior gives about ln(20 n)/n).
 */

const PRIOR = { a: 0.1, b: 1 };

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9: about 15 significant digits). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

function logBeta(a: number, b: number): number {
  return logGamma(a) + logGamma(b) - logGamma(a + b);
}

/** ln M_n(p) as a function of p: the evidence against the rate being `p`, after `errors` out of `requests`. */
function evidenceAgainst(errors: number, requests: number): (p: number) => number {
  const { a, b } = PRIOR;
  const marginal = logBeta(a + errors, b + requests - errors) - logBeta(a, b);
  const successes = requests - errors;
  return (p) =>
    marginal - (errors > 0 ? errors * Math.log(p) : 0) - (successes > 0 ? successes * Math.log1p(-p) : 0);
}

/** Bisection for the boundary between `inside` (covered) and `outside`, to a relative 1e-9. */
function boundary(inside: number, outside: number, covered: (p: number) => boolean): number {
  let lo = inside;
  let hi = outside;
  for (let i = 0; i < 100 && Math.abs(hi - lo) > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (covered(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The interval for the error rate after `errors` out of `requests` (counts may be fractional, as
 * Prometheus's increase() extrapolates), holding at every look with probability 1 - alpha.
 */
export function rateBounds(errors: number, requests: number, alpha: number): { low: number; high: number } {
  if (!(requests > 0)) return { low: 0, high: 1 };
  const k = Math.min(Math.max(errors, 0), requests);
  const limit = Math.log(1 / alpha);
  const evidence = evidenceAgainst(k, requests);
  const covered = (p: number): boolean => evidence(p) < limit;
  // The evidence is convex in p with its least at k/n, so the covered set is one interval around it.
  const centre = Math.min(Math.max(k / requests, 1e-15), 1 - 1e-15);
  const low = covered(1e-15) ? 0 : boundary(centre, 1e-15, covered);
  const high = covered(1 - 1e-15) ? 1 : boundary(centre, 1 - 1e-15, covered);
  return { low, high };
}
