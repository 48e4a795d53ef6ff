/** The job summary of a blue-green deploy: verdict, facts, each gate's decision record, timeline. */
import type { BlueGreenOutcome } from './blue-green.js';
import { gateSummary } from '../../gate/index.js';
import { details, heading, table, timeline } from '../../runner/report.js';

export function blueGreenSummary(o: {
  app: string;
  namespace: string;
  outcome: BlueGreenOutcome;
  durationMs: number;
}): string {
  const { outcome } = o;
  const title = outcome.dryRun
    ? `🧪 Dry run: ${o.app} in ${o.namespace}`
    : outcome.ok
      ? `✅ Switched to ${outcome.activeColor}: ${o.app} in ${o.namespace}`
      : outcome.rolledBack
        ? `↩️ Failed and switched back to ${outcome.activeColor}: ${o.app} in ${o.namespace}`
        : `❌ Blue-green deploy failed: ${o.app} in ${o.namespace}`;
  const rows: [string, string | undefined][] = [
    ['Route', outcome.route],
    ['Active colour', outcome.activeColor],
    ['Previous colour', outcome.previousColor],
    ['Candidate', `${outcome.candidateColor} (${outcome.deployment})`],
    ['Revision', outcome.revision],
    [
      'Images',
      Object.entries(outcome.images)
        .map(([c, i]) => `${c}=${i}`)
        .join(', '),
    ],
    ['Switched', String(outcome.switched)],
    ['Switched back', String(outcome.rolledBack)],
    ['Failed phase', outcome.failedPhase],
    ['Traffic now', outcome.traffic],
    ['Cutover', outcome.cutoverMs !== undefined ? `${outcome.cutoverMs} ms` : undefined],
    ['Switch back', outcome.switchBackMs !== undefined ? `${outcome.switchBackMs} ms` : undefined],
    ['Preview', outcome.previewUrl],
    ['Duration', `${(o.durationMs / 1000).toFixed(1)} s`],
  ];
  const parts = [
    heading(title),
    `${outcome.message}\n`,
    table(
      ['', ''],
      rows.filter(([, v]) => v !== undefined && v !== ''),
    ),
  ];
  for (const gate of outcome.gates) {
    parts.push(heading(`${gate.name} checks`, 3), gateSummary(gate.decision));
  }
  parts.push(details('Timeline', timeline(outcome.timeline)));
  return parts.join('\n');
}
