/** The job summary of a rollback: verdict, the checks on the restored version, the revisions the cluster holds, the history. */
import { gateSummary } from '../gate/index.js';
import { heading, table, timeline } from '../runner/report.js';
import type { RollbackOutcome } from './rollback.js';

export function rollbackSummary(o: RollbackOutcome, namespace: string): string {
  const verdict = o.dryRun
    ? '🧪 Rollback dry run'
    : o.ok
      ? '↩️ Rolled back'
      : o.restored
        ? '⚠️ Rolled back, but the restored version did not verify'
        : '❌ Rollback failed';
  const parts = [heading(`${verdict}: ${o.deployment} in ${namespace}`), o.message];
  // A failure's message already says where traffic is.
  if (o.traffic && o.ok) parts.push(`Traffic: ${o.traffic}`);
  parts.push(
    heading('What changes', 3),
    table(
      ['', 'Revision', 'Images'],
      [
        [
          'from',
          o.fromRevision,
          Object.entries(o.fromImages)
            .map(([c, i]) => `${c}=${i}`)
            .join(', '),
        ],
        [
          'to',
          o.toRevision ? `${o.restoredRevision} (now ${o.toRevision})` : o.restoredRevision,
          Object.entries(o.images)
            .map(([c, i]) => `${c}=${i}`)
            .join(', '),
        ],
      ],
    ),
  );
  if (o.gate) parts.push(heading('Checks on the restored version', 3), gateSummary(o.gate));
  parts.push(
    heading('Revisions in the cluster', 3),
    table(
      ['Revision', 'ReplicaSet', 'Images', 'Pods', 'Change cause', 'Created'],
      o.revisions.map((r) => [
        r.revision,
        r.replicaSet,
        Object.values(r.images).join(', '),
        r.replicas,
        r.changeCause ?? '',
        r.created ?? '',
      ]),
    ),
  );
  if (o.history.length > 0) {
    parts.push(
      heading(`History of ${o.app}`, 3),
      table(
        ['Time', 'Action', 'Revision', 'Images', 'Commit', 'Run', 'Outcome', 'Reason'],
        [...o.history]
          .reverse()
          .map((h) => [
            h.time,
            h.action,
            h.revision ?? '',
            Object.values(h.images).join(', '),
            h.commit.slice(0, 7),
            h.runUrl ? `[run](${h.runUrl})` : '',
            h.outcome,
            h.reason ?? '',
          ]),
      ),
    );
  }
  if (o.timeline.length > 0) parts.push(heading('Timeline', 3), timeline(o.timeline));
  return parts.join('\n\n') + '\n';
}
