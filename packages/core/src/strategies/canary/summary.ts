/** The job summary and the `report` output of a canary: where it stands, each step, each gate, a chart, the timeline. */
import type { CanaryOutcome } from './canary.js';
import { gateSummary } from '../../gate/index.js';
import { details, heading, mermaidChart, table, timeline } from '../../runner/report.js';

const TITLES: Record<CanaryOutcome['phase'], string> = {
  none: 'ℹ️ No canary',
  progressing: '⏳ Canary in progress',
  paused: '⏸️ Canary paused',
  promoted: '✅ Canary promoted',
  aborted: '↩️ Canary aborted',
};

/** Weight and the canary's error increase over the stable, per gate sample, across the steps. */
function chart(outcome: CanaryOutcome): string | undefined {
  const points = outcome.gates.flatMap((gate) => {
    const weight = Number(gate.name.replace('%', ''));
    const errors = gate.decision.checks.find((c) => c.name === 'error-rate-vs-stable');
    const samples = errors?.samples ?? gate.decision.checks[0]?.samples ?? [];
    return samples.map((sample) => ({
      at: sample.at,
      weight,
      errors: errors && sample.value !== undefined ? sample.value * 100 : undefined,
    }));
  });
  if (points.length < 2) return undefined;
  const first = new Date(points[0]!.at).getTime();
  const hasErrors = points.some((p) => p.errors !== undefined);
  return mermaidChart({
    title: hasErrors ? 'Canary weight (%) and error rate above stable (points)' : 'Canary weight (%)',
    xLabels: points.map((p) => `${Math.round((new Date(p.at).getTime() - first) / 1000)}s`),
    yLabel: 'percent',
    series: [
      { name: 'weight %', values: points.map((p) => p.weight), type: 'bar' },
      ...(hasErrors
        ? [{ name: 'error rate above stable, points', values: points.map((p) => p.errors ?? 0) }]
        : []),
    ],
  });
}

export function canarySummary(o: {
  app: string;
  namespace: string;
  outcome: CanaryOutcome;
  durationMs: number;
}): string {
  const { outcome } = o;
  const failed = !outcome.ok && outcome.action !== 'abort' && outcome.action !== 'status';
  const title = `${failed && outcome.phase !== 'aborted' ? '❌ Canary failed' : TITLES[outcome.phase]}: ${o.app} in ${o.namespace}`;
  const rows: [string, string | undefined][] = [
    ['Action', outcome.action],
    ['Phase', outcome.phase],
    ['Route', outcome.route],
    ['Weight', `${outcome.weight}%`],
    ['Stable', outcome.stableVersion],
    ['Canary', outcome.canaryVersion],
    ['Header route', outcome.header],
    ['Stable size', outcome.stableScale],
    ['Observed split', outcome.observedSplit],
    ['Verdict', outcome.verdict],
    ['Failed phase', outcome.failedPhase],
    ['Traffic now', outcome.traffic],
    ['Duration', `${(o.durationMs / 1000).toFixed(1)} s`],
  ];
  const parts = [
    heading(title),
    `${outcome.message}\n`,
    table(
      ['', ''],
      rows.filter(([, v]) => v),
    ),
  ];
  if (outcome.firstDeploy)
    parts.push(
      'The first deploy of an app has no stable version to compare with, so it went straight to full size.\n',
    );
  if (outcome.approximated)
    parts.push(
      'Route `replicas`: a Service alone splits traffic by ready pods, so each weight is approximated by the replica counts of the canary and the stable (the weights shown are what the pods give).\n',
    );
  if (outcome.steps.length > 0) {
    parts.push(
      heading('Steps', 3),
      table(
        ['Weight', 'Verdict', 'Observed canary share', 'At', 'Run'],
        outcome.steps.map((s) => [
          `${s.weight}%`,
          s.verdict ?? 'not judged',
          s.observed !== undefined ? `${s.observed}%` : '',
          s.at,
          s.runId ?? '',
        ]),
      ),
    );
  }
  const drawn = chart(outcome);
  if (drawn) parts.push(drawn);
  for (const gate of outcome.gates)
    parts.push(heading(`Checks at ${gate.name}`, 3), gateSummary(gate.decision));
  parts.push(details('Timeline', timeline(outcome.timeline)));
  return parts.join('\n');
}

/**
 * The `report` file: the generic report shape notify-slack reads (`{ verdict, checks: [{ name,
 * verdict, ... }] }`: the checks of this run's last gate, as health-gate records them) plus where
 * the canary stands: phase, weight, versions, observed split and every step with its verdict.
 */
export function canaryReport(outcome: CanaryOutcome): Record<string, unknown> {
  const last = outcome.gates.at(-1);
  return {
    strategy: 'canary',
    verdict: outcome.verdict,
    checks: last?.decision.checks ?? [],
    ...(last ? { gate: { name: last.name, reason: last.decision.reason } } : {}),
    action: outcome.action,
    ok: outcome.ok,
    phase: outcome.phase,
    weight: outcome.weight,
    stableVersion: outcome.stableVersion,
    canaryVersion: outcome.canaryVersion,
    ...(outcome.observedSplit ? { observedSplit: outcome.observedSplit } : {}),
    ...(outcome.failedPhase ? { failedPhase: outcome.failedPhase } : {}),
    message: outcome.message,
    ...(outcome.traffic ? { traffic: outcome.traffic } : {}),
    ...(outcome.stableScale ? { stableScale: outcome.stableScale } : {}),
    steps: outcome.steps.map((s) => ({
      weight: s.weight,
      verdict: s.verdict ?? null,
      ...(s.observed !== undefined ? { observed: s.observed } : {}),
    })),
  };
}
