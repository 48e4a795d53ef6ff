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
 * Error rate and p95 latency of the canary's requests against the stable's, same window. At 100%
 * the stable answers nothing: the error rate is then held to the allowed increase over zero, and
 * latency has nothing to be compared with.
 */
export function comparisons(c: CanaryContext, weight: number, since?: number): PrometheusCheck[] {
  const p = c.o.prometheus;
  if (!p) return [];
  const label = c.o.versionLabel.replace(/[^a-zA-Z0-9_]/g, '_');
  const services = (c.separate ? [c.o.service, c.names.service] : [c.o.service]).join('|');
  // `$window` is filled in at every sample (gate/checks/compare.ts): never before this canary began.
  const window = '$window';
  const shown = (query: string): string =>
    query.replaceAll(window, `${Math.max(1, Math.round(p.windowMs / 1000))}s`);
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
  const common = {
    kind: 'prometheus' as const,
    rules: { critical: true },
    minRequests: c.o.minRequests,
    prometheusUrl: p.url,
  };
  const errorRate: PrometheusCheck = {
    ...common,
    name: 'error-rate-vs-stable',
    query: shown(canary.errors),
    requestsQuery: shown(canary.requests),
    condition: { op: '<=', value: c.o.maxErrorIncrease },
    unit: 'ratio',
    compare: {
      measure: 'error-rate',
      canary: { value: canary.errors, requests: canary.requests },
      baseline: { value: stable.errors, requests: stable.requests },
      baselineName: STABLE,
      window: { maxMs: p.windowMs, ...(since !== undefined ? { since } : {}) },
    },
  };
  const latency: PrometheusCheck = {
    ...common,
    // A quantile is noisier than a count: three slow looks in a row, not one.
    rules: { critical: false, consecutive: 3 },
    name: 'latency-p95-vs-stable',
    query: shown(canary.p95),
    requestsQuery: shown(canary.requests),
    condition: { op: '<=', value: c.o.maxLatencyIncrease },
    unit: 'ratio',
    compare: {
      measure: 'latency',
      canary: { value: canary.p95, requests: canary.requests },
      baseline: { value: stable.p95, requests: stable.requests },
      baselineName: STABLE,
      window: { maxMs: p.windowMs, ...(since !== undefined ? { since } : {}) },
    },
  };
  return weight < 100 ? [errorRate, latency] : [errorRate];
}
