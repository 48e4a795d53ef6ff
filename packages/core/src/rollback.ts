/**
 * Rollback of a rolling deployment, from what the cluster holds: the Deployment's ReplicaSets
 * (its revisions) and the app's history. No state comes through the workflow, so a manual run
 * days later works the same as one right after a deploy.
 */
import type { RunContext } from './github.js';
import type { Kube } from './kube.js';
import { DEPLOYMENTS, KubeObjects } from './kube-objects.js';
import { underAppLock } from './lock.js';
import { appendHistory, newRecord, readHistory, writeRecord, type HistoryEntry } from './record.js';
import { currentRevision, imagesOf, listRevisions, restoreTemplate, type Revision } from './revisions.js';
import { waitForRollout, type Deployment } from './rollout.js';

export interface RollbackOptions {
  kube: Kube;
  namespace: string;
  app?: string;
  deployment?: string;
  /** 'previous', 'last-successful' or a revision number. */
  toRevision: string;
  reason?: string;
  dryRun: boolean;
  timeoutMs: number;
  githubToken?: string;
  environment?: string;
  run: RunContext;
  signal: AbortSignal;
  log: (text: string) => void;
  /** A problem that does not fail the rollback (a job warning); defaults to log. */
  warn?: (text: string) => void;
}

export interface RollbackOutcome {
  ok: boolean;
  dryRun: boolean;
  message: string;
  app: string;
  deployment: string;
  fromRevision: string;
  /** The revision number serving after the rollback (an undo gets a new number, as in kubectl). */
  toRevision?: string;
  /** The revision whose template was restored. */
  restoredRevision: string;
  fromImages: Record<string, string>;
  images: Record<string, string>;
  revisions: Revision[];
  history: HistoryEntry[];
  timeline: { at: string; text: string }[];
  /** Blue-green: the colour that served before and the one serving after. */
  fromColor?: string;
  toColor?: string;
}

export class RollbackInputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(message);
  }
}

async function findDeployment(
  objects: KubeObjects,
  o: RollbackOptions,
): Promise<{ name: string; app: string }> {
  if (o.deployment) return { name: o.deployment, app: o.app ?? o.deployment };
  const app = o.app!;
  const history = await readHistory(objects, o.namespace, app);
  const recorded = history.at(-1)?.deployment;
  if (recorded) return { name: recorded, app };
  // No history yet (deployed by other means): a Deployment named after the app is the natural guess.
  if (await objects.get(DEPLOYMENTS, o.namespace, app)) return { name: app, app };
  throw new RollbackInputError(
    'app',
    `Input "app" has value "${app}": no deployment history (ConfigMap cd-actions-history-${app}) and no Deployment of that name in namespace ${o.namespace}; give input "deployment"`,
  );
}

function chooseTarget(
  o: RollbackOptions,
  live: Deployment,
  revisions: Revision[],
  history: HistoryEntry[],
): Revision {
  const current = currentRevision(live);
  const listing =
    revisions.map((r) => `${r.revision} (${Object.values(r.images).join(', ')})`).join(', ') || 'none';
  if (o.toRevision === 'previous') {
    // What served before the current version: older revisions, minus versions a deploy tried and failed.
    const failed = new Set(
      history
        .filter((h) => h.action === 'deploy' && h.outcome !== 'succeeded' && h.templateHash)
        .map((h) => h.templateHash),
    );
    const currentHash = revisions.find((r) => r.revision === current)?.templateHash;
    const previous = revisions.find(
      (r) => r.revision < current && r.templateHash !== currentHash && !failed.has(r.templateHash),
    );
    if (!previous) {
      throw new RollbackInputError(
        'to-revision',
        `Input "to-revision" is "previous" but ${live.metadata.name} has no revision before ${current}; revisions: ${listing}`,
      );
    }
    return previous;
  }
  if (o.toRevision === 'last-successful') {
    const currentHash = revisions.find((r) => r.revision === current)?.templateHash;
    for (const entry of [...history].reverse()) {
      if (
        entry.action !== 'deploy' ||
        entry.outcome !== 'succeeded' ||
        !entry.templateHash ||
        entry.templateHash === currentHash
      )
        continue;
      const found = revisions.find((r) => r.templateHash === entry.templateHash);
      if (found) return found;
    }
    throw new RollbackInputError(
      'to-revision',
      `Input "to-revision" is "last-successful" but the history holds no successful deploy other than the one serving whose ReplicaSet still exists; revisions: ${listing}`,
    );
  }
  const wanted = Number(o.toRevision);
  const found = revisions.find((r) => r.revision === wanted);
  if (!found) {
    throw new RollbackInputError(
      'to-revision',
      `Input "to-revision" has value "${o.toRevision}": ${live.metadata.name} has no such revision; revisions that exist: ${listing}`,
    );
  }
  if (found.revision === current) {
    throw new RollbackInputError(
      'to-revision',
      `Input "to-revision" has value "${o.toRevision}": that revision is already serving; revisions: ${listing}`,
    );
  }
  return found;
}

export async function rollbackRolling(o: RollbackOptions): Promise<RollbackOutcome> {
  const objects = new KubeObjects(o.kube);
  const timeline: RollbackOutcome['timeline'] = [];
  const note = (text: string): void => {
    timeline.push({ at: new Date().toISOString(), text });
    o.log(text);
  };
  const { name, app } = await findDeployment(objects, o);
  const live = await objects.get<Deployment>(DEPLOYMENTS, o.namespace, name);
  if (!live) {
    const existing = await objects.list<Deployment>(DEPLOYMENTS, o.namespace).catch(() => undefined);
    throw new RollbackInputError(
      o.deployment ? 'deployment' : 'app',
      `Input "${o.deployment ? 'deployment' : 'app'}": Deployment "${name}" not found in namespace ${o.namespace}; Deployments there: ${existing?.items.map((d) => d.metadata.name).join(', ') || 'none'}`,
    );
  }
  const revisions = await listRevisions(objects, live);
  const history = await readHistory(objects, o.namespace, app);
  const target = chooseTarget(o, live, revisions, history);
  const fromRevision = String(currentRevision(live));
  const base = {
    app,
    deployment: name,
    fromRevision,
    restoredRevision: String(target.revision),
    fromImages: imagesOf(live.spec.template),
    revisions,
    history,
    timeline,
  };
  if (o.dryRun) {
    const message = `Dry run: would roll ${name} back from revision ${fromRevision} (${Object.values(base.fromImages).join(', ')}) to revision ${target.revision} (${Object.values(target.images).join(', ')})`;
    note(message);
    return { ...base, ok: true, dryRun: true, message, images: target.images };
  }

  return underAppLock(
    {
      objects,
      namespace: o.namespace,
      app,
      run: o.run,
      signal: o.signal,
      log: o.log,
      github: {
        token: o.githubToken,
        environment: o.environment,
        description: `Rollback of ${app} to revision ${target.revision}`,
        inProgress: 'Rolling back',
      },
    },
    async () => {
      note(
        `rolling ${name} back from revision ${fromRevision} to revision ${target.revision} (${Object.values(target.images).join(', ')})${o.reason ? `: ${o.reason}` : ''}`,
      );
      await restoreTemplate(
        objects,
        live,
        target,
        `cd-actions rollback to revision ${target.revision} by ${o.run.actor}${o.reason ? `: ${o.reason}` : ''}`,
      );
      const result = await waitForRollout({
        kube: o.kube,
        objects,
        namespace: o.namespace,
        name,
        previousHashes: new Set(
          revisions.filter((r) => r.templateHash !== target.templateHash).map((r) => r.templateHash),
        ),
        deadline: Date.now() + o.timeoutMs,
        signal: o.signal,
        onProgress: (text) => note(`${name}: ${text}`),
      });
      const record = newRecord({ strategy: 'rolling', app, run: o.run });
      record.phase = result.ok ? 'rolled-back' : 'failed';
      record.stable = {
        revision: result.ok ? result.revision : undefined,
        templateHash: target.templateHash,
        images: target.images,
      };
      record.message = `rollback from revision ${fromRevision} to revision ${target.revision}${o.reason ? `: ${o.reason}` : ''}`;
      await writeRecord(objects, DEPLOYMENTS, o.namespace, name, record);
      await appendHistory(objects, o.namespace, app, {
        action: 'rollback',
        strategy: 'rolling',
        outcome: result.ok ? 'succeeded' : 'failed',
        deployment: name,
        revision: result.ok ? result.revision : undefined,
        templateHash: target.templateHash,
        images: target.images,
        from: fromRevision,
        to: String(target.revision),
        reason: o.reason,
        commit: o.run.sha,
        runUrl: record.runUrl,
        actor: o.run.actor,
        time: new Date().toISOString(),
      });
      const message = result.ok
        ? `Rolled ${name} back from revision ${fromRevision} to revision ${target.revision}'s template (now revision ${result.revision}): ${Object.values(target.images).join(', ')} is serving`
        : `Rollback of ${name} to revision ${target.revision} did not complete: ${result.reason}`;
      note(message);
      return {
        ...base,
        ok: result.ok,
        dryRun: false,
        message,
        toRevision: result.ok ? result.revision : undefined,
        images: target.images,
      };
    },
  );
}

/** Rollback by the strategy the cluster's record names: blue-green switches colours, rolling restores a revision. */
export async function rollback(o: RollbackOptions): Promise<RollbackOutcome> {
  if (o.app && !o.deployment) {
    const objects = new KubeObjects(o.kube);
    const history = await readHistory(objects, o.namespace, o.app);
    const { blueGreenRecord, rollbackBlueGreen } = await import('./rollback-blue-green.js');
    const record = await blueGreenRecord(objects, o.namespace, history);
    if (record) return rollbackBlueGreen({ ...o, objects, app: o.app }, record, history);
  }
  return rollbackRolling(o);
}
