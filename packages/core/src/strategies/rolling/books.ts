/**
 * How a rolling deploy ended, read from the cluster once the phases and any undo are done: per
 * Deployment what serves now, the record annotation and the history entry (rollback reads both),
 * each with the verify gate's verdict when checks ran, and where traffic is, in words.
 */
import type { EngineOutcome } from '../../engine/phases.js';
import { runUrl } from '../../github/github.js';
import { DEPLOYMENTS } from '../../kube/objects.js';
import { openHistory, writeRecord, type DeploymentRecord } from '../../record/record.js';
import { currentRevision, imagesOf, listRevisions } from '../../kube/revisions.js';
import { revisionOfTemplate, type RollingRun } from './phases.js';
import { recordedGate } from './gate.js';
import {
  describeDeployment,
  judgeDeployment,
  REVISION_ANNOTATION,
  type Deployment,
} from '../../kube/rollout.js';

export interface DeploymentOutcome {
  name: string;
  previousRevision?: string;
  revision?: string;
  previousImages: Record<string, string>;
  images: Record<string, string>;
  /** This run put the earlier revision back and saw it serve again. */
  rolledBack: boolean;
  /** pod-template-hash of the version this run tried to roll out. */
  candidateHash?: string;
  failure?: string;
  events?: string[];
}

/** Each Deployment as it is now, with what this run did to it. */
export async function settleDeployments(s: RollingRun, outcome: EngineOutcome): Promise<DeploymentOutcome[]> {
  return Promise.all(
    [...s.targets.keys()].map(async (name): Promise<DeploymentOutcome> => {
      const b = s.before.get(name);
      const live = await s.objects.get<Deployment>(DEPLOYMENTS, s.namespace, name);
      const failed = s.failures.get(name);
      return {
        name,
        previousRevision: b?.revision,
        revision: live?.metadata.annotations?.[REVISION_ANNOTATION],
        previousImages: b?.images ?? {},
        images: live ? imagesOf(live.spec.template) : {},
        rolledBack: s.restored.has(name),
        candidateHash: await candidateHash(s, name, live, outcome.ok),
        ...(failed ? { failure: failed.reason, events: failed.events } : {}),
        ...(!failed && !outcome.ok && outcome.cause ? { failure: outcome.cause } : {}),
      };
    }),
  );
}

/**
 * The template hash of the version this run tried: the new pods' when it rolled out, the one the
 * undo saw before putting the earlier revision back, else the live template's. Never the hash of
 * what served before, so a failed entry cannot make rollback skip the good version.
 */
async function candidateHash(
  s: RollingRun,
  name: string,
  live: Deployment | undefined,
  ok: boolean,
): Promise<string | undefined> {
  const seen = ok ? s.rolledOut.get(name)?.templateHash : s.candidates.get(name);
  if (seen || !live) return seen;
  const revisions = await listRevisions(s.objects, live);
  if (ok) return revisions.find((r) => r.revision === currentRevision(live))?.templateHash;
  const hash = revisionOfTemplate(revisions, live.spec.template)?.templateHash;
  return hash === s.before.get(name)?.templateHash ? undefined : hash;
}

export function phaseOf(d: DeploymentOutcome, outcome: EngineOutcome): DeploymentRecord['phase'] {
  if (outcome.ok) return 'succeeded';
  if (d.rolledBack) return 'rolled-back';
  return outcome.reason === 'cancelled' ? 'cancelled' : 'failed';
}

/** A record or history write (each retries its own transient failures), named in its error. */
function write(what: string, fn: () => Promise<void>): Promise<void> {
  return fn().catch((error: unknown) => {
    throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  });
}

/**
 * The record annotation on each Deployment and one history entry per Deployment. Every write is
 * tried even when another fails; the failures come back as one error (a warning to the engine).
 */
export async function keepRollingBooks(
  s: RollingRun,
  outcome: EngineOutcome,
  deployments: DeploymentOutcome[],
): Promise<void> {
  // The new holder may be deploying this app now: writing its record and history would make two writers.
  if (outcome.reason === 'lock-lost')
    throw new Error('another run holds the lock now, so this run writes nothing more');
  const failures: string[] = [];
  // The verify gate's verdict goes on the record and on each history entry (as `gate`).
  const gate = s.decision ? { gate: recordedGate(s.decision) } : {};
  const records = deployments.map(async (d) => {
    const found = s.records.get(d.name);
    if (!found || d.revision === undefined) return; // it does not exist: nothing to annotate
    const record: DeploymentRecord = Object.assign(found, gate);
    const phase = phaseOf(d, outcome);
    const version = { revision: d.revision, images: d.images, templateHash: d.candidateHash };
    record.phase = phase;
    if (phase === 'succeeded') {
      record.stable = version;
      delete record.candidate;
      delete record.message;
    } else {
      record.message = d.failure;
      if (!d.rolledBack) record.candidate = version;
    }
    await write(`record on Deployment ${d.name}`, () =>
      writeRecord(s.objects, DEPLOYMENTS, s.namespace, d.name, record),
    ).catch((error: unknown) => failures.push(String((error as Error).message)));
  });
  // One after another: each append rewrites the same ConfigMap.
  const history = (async () => {
    const log = s.history ?? (await openHistory(s.objects, s.namespace, s.app));
    for (const d of deployments) {
      const entry = {
        action: 'deploy' as const,
        strategy: 'rolling' as const,
        outcome: phaseOf(d, outcome),
        deployment: d.name,
        revision: d.revision,
        // For a failed deploy this names the version that failed, so rollback's "previous" skips it.
        templateHash: d.candidateHash,
        images: d.images,
        from: d.previousRevision,
        to: d.revision,
        reason: d.failure,
        commit: s.run.sha,
        runUrl: runUrl(s.run),
        actor: s.run.actor,
        time: new Date().toISOString(),
        ...gate,
      };
      await write(`history entry for ${d.name}`, () => log.append(entry)).catch((error: unknown) =>
        failures.push(String((error as Error).message)),
      );
    }
  })().catch((error: unknown) => failures.push(`history of ${s.app}: ${String((error as Error).message)}`));
  await Promise.all([...records, history]);
  if (failures.length > 0) throw new Error(failures.join('; '));
}

/** Where traffic is, read from the cluster: the revision each Deployment serves and whether all of it is ready. */
export async function whereTrafficIs(s: RollingRun): Promise<string> {
  const parts = await Promise.all(
    [...s.targets.keys()].map(async (name) => {
      const live = await s.objects.get<Deployment>(DEPLOYMENTS, s.namespace, name, { deadlineMs: 10_000 });
      if (!live) return `${name} does not exist`;
      const revision = live.metadata.annotations?.[REVISION_ANNOTATION] ?? '?';
      const images = Object.values(imagesOf(live.spec.template)).join(', ');
      const verdict = judgeDeployment(live);
      if (verdict && 'done' in verdict) {
        return s.restored.has(name)
          ? `${name} is serving revision ${revision} again (${images})`
          : `${name} serves revision ${revision} (${images})`;
      }
      return `${name} is at revision ${revision} (${images}), rollout not complete: ${describeDeployment(live)}`;
    }),
  );
  return parts.join('; ');
}
