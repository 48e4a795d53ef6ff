/** The job summary of a rolling deploy: verdict first, then what changed, then how it went. */
import { gateSummary } from '../../gate/index.js';
import { details, heading, table, timeline } from '../../runner/report.js';
import type { RollingOutcome } from './rolling.js';

function images(map: Record<string, string>): string {
  return Object.entries(map)
    .map(([c, i]) => `${c}=${i}`)
    .join(', ');
}

export function rollingSummary(o: {
  app: string;
  namespace: string;
  outcome: RollingOutcome;
  durationMs: number;
}): string {
  const { outcome } = o;
  const verdict = outcome.dryRun
    ? '🧪 Dry run'
    : outcome.ok
      ? '✅ Rolled out'
      : outcome.rolledBack
        ? '↩️ Failed and rolled back'
        : outcome.cancelled
          ? '⏹️ Cancelled'
          : '❌ Failed';
  const parts = [
    heading(`${verdict}: ${o.app} in ${o.namespace}`),
    `${outcome.message} (${(o.durationMs / 1000).toFixed(1)} s)`,
  ];
  const facts = [
    ...(outcome.failedPhase ? [`**Failed in phase:** ${outcome.failedPhase}`] : []),
    ...(outcome.gate ? [`**Checks after the rollout:** ${outcome.gate.verdict}`] : []),
    ...(outcome.traffic ? [`**Traffic:** ${outcome.traffic}`] : []),
  ];
  if (facts.length > 0) parts.push(facts.map((f) => `- ${f}`).join('\n'));
  if (outcome.deployments.length > 0) {
    parts.push(
      heading('Deployments', 3),
      table(
        ['Deployment', 'Revision before', 'Revision after', 'Images before', 'Images after', 'Outcome'],
        outcome.deployments.map((d) => [
          d.name,
          d.previousRevision ?? '—',
          d.revision ?? '—',
          images(d.previousImages) || '—',
          images(d.images),
          d.failure
            ? `failed: ${d.failure}${d.rolledBack ? ' (rolled back)' : ''}`
            : d.rolledBack
              ? 'rolled back'
              : 'ok',
        ]),
      ),
    );
  }
  for (const d of outcome.deployments.filter((x) => x.events?.length)) {
    parts.push(
      details(`Last events of the failing pod of ${d.name}`, ['```', ...(d.events ?? []), '```'].join('\n')),
    );
  }
  if (outcome.gate) parts.push(heading('Checks after the rollout', 3), gateSummary(outcome.gate));
  if (outcome.applied.length > 0) {
    parts.push(
      heading('Objects', 3),
      table(
        ['Kind', 'Name', 'Source', 'Result'],
        outcome.applied.map((a) => [a.kind, a.name, a.source, a.result]),
      ),
    );
  }
  if (outcome.diff !== undefined) {
    parts.push(
      details(
        'Diff (server-side dry run)',
        outcome.diff ? ['```diff', outcome.diff, '```'].join('\n') : 'No changes.',
      ),
    );
  }
  if (outcome.timeline.length > 0) {
    parts.push(heading('Timeline', 3), timeline(outcome.timeline.map((t) => ({ at: t.at, text: t.text }))));
  }
  return parts.join('\n\n') + '\n';
}
