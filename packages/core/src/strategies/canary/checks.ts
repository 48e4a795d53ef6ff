/** The checks of a step: the canary's pods always, the canary against the stable when Prometheus is given, and the user's. */
import { fillChecks, parseChecks } from '../../gate/parse.js';
import type { CheckSpec, PrometheusCheck } from '../../gate/types.js';
import { CANARY, STABLE, type Step } from './plan.js';

import { type CanaryContext } from './model.js';
/** The checks of a step: the canary's pods always; against the stable when Prometheus is given; the user's. */
export function stepChecks(c: CanaryContext, step: Step, since?: number): CheckSpec[] {
  const defaults = { namespace: c.o.namespace, ...c.o.checkDefaults };
  const doc = step.checks ?? c.o.checks;
  const filled = fillChecks(doc, { canary: c.names.deployment, version: CANARY, stable: c.o.app });
  const { checks, problems } = parseChecks(filled, defaults);
  if (problems.length > 0) throw new Error(`Input "checks": ${problems.join('; ')}`);
  const builtIn: CheckSpec[] = [
    {
      name: 'canary-pods',
      kind: 'pods',
      deployment: c.names.deployment,
      namespace: c.o.namespace,
      maxRestarts: 0,
      rules: { critical: true },
    },
    ...comparisons(c, step.weight, since),
  ];
  const taken = new Set(checks.map((c) => c.name));
  return [...builtIn.filter((c) => !taken.has(c.name)), ...checks];
}

/**
 * Error rate and p95 latency of the canary's requests against the stable's. The error rate is the
 * fixed comparison, look by look: the canary at most `max-error-increase` points above the stable
 * (99% Wilson intervals); it fails a clearly bad canary within seconds of its first requests. With
 * `max-error-ratio` it is health-gate's sequential test instead (built from the `compare:` form):
 * fails as soon as the canary is surely worse, passes as soon as it is surely below (1 +
 * max-error-ratio) × the stable's, and, undecided when the step's duration is up, passes if it
 * was not shown worse over at least min-requests canary requests (the step's duration is the time
 * the user gave it). At 100% the stable answers nothing: the fixed comparison holds the canary to
 * max-error-increase over zero, and latency has nothing to be compared with.
 */
export function comparisons(
  c: CanaryContext,
  weight: number,
  since?: number,
  now = Date.now(),
): PrometheusCheck[] {
  const p = c.o.prometheus;
  if (!p) return [];
  const label = c.o.versionLabel.replace(/[^a-zA-Z0-9_]/g, '_');
  const services = (c.separate ? [c.o.service, c.names.service] : [c.o.service]).join('|');
  // `$window` is filled in at every sample (gate/checks/compare.ts).
  const window = '$window';
  const base = `namespace="${c.o.namespace}",service=~"${services}"`;
  const side = (version: string): { errors: string; requests: string; p95: string } => {
    const sel = `${base},${version}`;
    return {
      errors: `sum(increase(${p.metric}{${sel},${p.statusLabel}=~"5.."}[${window}])) or vector(0)`,
      requests: `sum(increase(${p.metric}{${sel}}[${window}]))`,
      p95: `histogram_quantile(0.95, sum by (le) (rate(${p.durationMetric}_bucket{${sel}}[${window}])))`,
    };
  };
  const canary = side(`${label}="${CANARY}"`);
  const stable = side(`${label}!~"${CANARY}|none"`);
  // max-error-ratio asks for the sequential test; at 100% there is no stable traffic to test it against.
  const errorRate =
    weight < 100 && c.o.maxErrorRatio !== undefined
      ? sequentialErrorRate(c, canary, stable, since, now, c.o.maxErrorRatio)
      : pointsErrorRate(c, canary, stable, since, c.o.maxErrorIncrease);
  const latency = windowComparison(
    c,
    {
      name: 'latency-p95-vs-stable',
      measure: 'latency',
      canary: { value: canary.p95, requests: canary.requests },
      stable: { value: stable.p95, requests: stable.requests },
      bound: c.o.maxLatencyIncrease,
      // A quantile is noisier than a count: three slow looks in a row, not one.
      rules: { critical: false, consecutive: 3 },
    },
    since,
  );
  return weight < 100 ? [errorRate, latency] : [errorRate];
}

interface Side {
  errors: string;
  requests: string;
}

/** The built-in error-rate comparison as health-gate's `compare:` form gives it, with the test asked for. */
function parsedErrorRate(
  c: CanaryContext,
  canary: Side,
  stable: Side,
  test: Record<string, unknown>,
): PrometheusCheck {
  const p = c.o.prometheus!;
  const { checks, problems } = parseChecks(
    [
      {
        kind: 'prometheus',
        name: 'error-rate-vs-stable',
        critical: true,
        'prometheus-url': p.url,
        measure: 'error-rate',
        query: canary.errors,
        'requests-query': canary.requests,
        compare: { query: stable.errors, 'requests-query': stable.requests },
        'min-requests': c.o.minRequests,
        ...test,
      },
    ],
    { namespace: c.o.namespace, windowMs: p.windowMs },
  );
  const check = checks[0];
  if (problems.length > 0 || check?.kind !== 'prometheus' || !check.compare)
    throw new Error(`Input "max-error-ratio": ${problems.join('; ')}`);
  return { ...check, compare: { ...check.compare, baselineName: STABLE } };
}

/**
 * The sequential test counts from the step's gate on (the gate sets `since`), its first looks
 * reaching back `analysis-window` so that every series has its scrapes, but never to before this
 * canary began: what came before under its labels was another canary.
 */
function sequentialErrorRate(
  c: CanaryContext,
  canary: Side,
  stable: Side,
  began: number | undefined,
  now: number,
  ratio: number,
): PrometheusCheck {
  const check = parsedErrorRate(c, canary, stable, {
    test: 'sequential',
    'max-increase': ratio,
  });
  const compare = check.compare!;
  const minMs = Math.min(
    compare.window.minMs ?? 0,
    began === undefined ? Infinity : Math.max(0, now - began),
  );
  return {
    ...check,
    compare: { ...compare, window: { ...compare.window, minMs }, undecidedAtEnd: 'pass' },
  };
}

/** The fixed comparison: the canary's error rate at most `points` above the stable's, judged look by look with 99% Wilson intervals. */
function pointsErrorRate(
  c: CanaryContext,
  canary: Side,
  stable: Side,
  since: number | undefined,
  points: number,
): PrometheusCheck {
  return windowComparison(
    c,
    {
      name: 'error-rate-vs-stable',
      measure: 'error-rate',
      canary: { value: canary.errors, requests: canary.requests },
      stable: { value: stable.errors, requests: stable.requests },
      bound: points,
      rules: { critical: true },
    },
    since,
  );
}

/** A comparison judged look by look (the fixed test) over analysis-window, never reaching back before `since`. */
function windowComparison(
  c: CanaryContext,
  o: {
    name: string;
    measure: 'error-rate' | 'latency';
    canary: { value: string; requests: string };
    stable: { value: string; requests: string };
    bound: number;
    rules: PrometheusCheck['rules'];
  },
  since: number | undefined,
): PrometheusCheck {
  const p = c.o.prometheus!;
  const shown = (query: string): string =>
    query.replaceAll('$window', `${Math.max(1, Math.round(p.windowMs / 1000))}s`);
  return {
    kind: 'prometheus',
    rules: o.rules,
    minRequests: c.o.minRequests,
    prometheusUrl: p.url,
    name: o.name,
    query: shown(o.canary.value),
    requestsQuery: shown(o.canary.requests),
    condition: { op: '<=', value: o.bound },
    unit: 'ratio',
    compare: {
      measure: o.measure,
      canary: o.canary,
      baseline: o.stable,
      baselineName: STABLE,
      window: { maxMs: p.windowMs, ...(since !== undefined ? { since } : {}) },
    },
  };
}
