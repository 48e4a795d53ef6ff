/**
 * Rollback of a rolling deployment, from what the cluster holds: the Deployment's ReplicaSets
 * (its revisions) and the app's history. No state comes through the workflow, so a manual run
 * days later works the same as one right after a deploy.
 *
 * It runs on the strategy engine (engine/deploy.ts) in three phases: `prepare` reads and chooses
 * the revision, `restore` puts its template back (having said first how to undo that: put back
 * the template that was serving, the known-good fallback), `rollout` waits for it to serve. With
 * checks, `checks` then gates the restored version, which stays whatever the verdict (verify.ts).
 *
 * An app canary-step promoted is rolled back the same way: promotion gave the stable Deployment
 * the canary's template by a rolling update, so its previous revision is the version from before
 * the canary. A canary still in progress is refused: canary-step's abort is the way back then.
 */
import { runDeploy } from '../engine/deploy.js';
import {
  errorText,
  PhaseFailed,
  type EngineOutcome,
  type PhaseContext,
  type Phase,
  type TimelineEntry,
  type Undo,
} from '../engine/phases.js';
import type { RunContext } from '../github/github.js';
import type { Kube } from '../kube/kube.js';
import { DEPLOYMENTS, KubeObjects, LEASES, type ResourceRef } from '../kube/objects.js';
import { lockName } from '../record/lock.js';
import {
  appendHistory,
  newRecord,
  openHistory,
  readRecord,
  writeRecord,
  type DeploymentRecord,
  type History,
  type HistoryEntry,
  type Phase as RecordPhase,
} from '../record/record.js';
import {
  currentRevision,
  imagesOf,
  listRevisions,
  restoreTemplate,
  type Revision,
} from '../kube/revisions.js';
import { describeDeployment, judgeDeployment, waitForRollout, type Deployment } from '../kube/rollout.js';
import type { Runner } from '../runner/runner.js';
import { canaryName } from '../strategies/canary/plan.js';
import { missingConfigMaps } from '../manifests/config-files.js';
import type { GateDecision } from '../gate/types.js';
import { preflightVerifyGate, recordedGate, type VerifyGate } from '../strategies/rolling/gate.js';
import {
  gateRestored,
  restoredButUnverified,
  unverifiedMessage,
  type RestoredGate,
  keptBecause,
} from './verify.js';

export interface RollbackOptions {
  kube: Kube;
  namespace: string;
  app?: string;
  deployment?: string;
  /** 'previous', 'last-successful' or a revision number. */
  toRevision: string;
  reason?: string;
  /** Checks on the restored version once it serves; a gate that does not pass fails the step, and the version stays. */
  gate?: VerifyGate;
  dryRun: boolean;
  timeoutMs: number;
  githubToken?: string;
  environment?: string;
  run: RunContext;
  signal: AbortSignal;
  runner: Runner;
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
  /** The images the rollback goes to. */
  images: Record<string, string>;
  revisions: Revision[];
  history: HistoryEntry[];
  timeline: TimelineEntry[];
  /** Where traffic is when the step ends, read from the cluster (not set on a dry run). */
  traffic?: string;
  /** Blue-green: the colour that served before and the one the rollback goes to. */
  fromColor?: string;
  toColor?: string;
  /** Blue-green: the colour serving when the step ends (the one it would switch to, on a dry run). */
  activeColor?: string;
  /** The version the rollback went to serves when the step ends (verified or not). */
  restored: boolean;
  /** The checks' decision on the restored version, when they ran (a cancelled gate included). */
  gate?: GateDecision;
}

export class RollbackInputError extends Error {
  constructor(
    readonly input: string,
    message: string,
  ) {
    super(message);
  }
}

/** Whether the run that wrote a `progressing` record is deploying right now (holds the app's lock). */
type DeployingNow = (app: string, record: DeploymentRecord) => Promise<boolean>;

interface RollingPlan {
  app: string;
  name: string;
  live: Deployment;
  /** The serving version was promoted by canary-step (the record on the Deployment says canary). */
  canary: boolean;
  revisions: Revision[];
  history: History;
  /** The template serving before the rollback: the known-good fallback. */
  serving: Revision;
  target: Revision;
}

async function findDeployment(
  objects: KubeObjects,
  o: RollbackOptions,
): Promise<{ name: string; app: string; history: History }> {
  if (o.deployment) {
    const app = o.app ?? o.deployment;
    return { name: o.deployment, app, history: await openHistory(objects, o.namespace, app) };
  }
  const app = o.app!;
  const history = await openHistory(objects, o.namespace, app);
  const recorded = history.entries.at(-1)?.deployment;
  if (recorded) return { name: recorded, app, history };
  // No history yet (deployed by other means): a Deployment named after the app is the natural guess.
  if (await objects.get(DEPLOYMENTS, o.namespace, app)) return { name: app, app, history };
  throw new RollbackInputError(
    'app',
    `Input "app" has value "${app}": no deployment history (ConfigMap cd-actions-history-${app}) and no Deployment of that name in namespace ${o.namespace}; give input "deployment"`,
  );
}

function listing(revisions: Revision[]): string {
  return revisions.map((r) => `${r.revision} (${Object.values(r.images).join(', ')})`).join(', ') || 'none';
}

function chooseTarget(
  o: RollbackOptions,
  live: Deployment,
  revisions: Revision[],
  history: HistoryEntry[],
): Revision {
  const current = currentRevision(live);
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
        `Input "to-revision" is "previous" but ${live.metadata.name} has no revision before ${current}; revisions: ${listing(revisions)}`,
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
      `Input "to-revision" is "last-successful" but the history holds no successful deploy other than the one serving whose ReplicaSet still exists; revisions: ${listing(revisions)}`,
    );
  }
  const wanted = Number(o.toRevision);
  const found = revisions.find((r) => r.revision === wanted);
  if (!found) {
    throw new RollbackInputError(
      'to-revision',
      `Input "to-revision" has value "${o.toRevision}": ${live.metadata.name} has no such revision; revisions that exist: ${listing(revisions)}`,
    );
  }
  if (found.revision === current) {
    throw new RollbackInputError(
      'to-revision',
      `Input "to-revision" has value "${o.toRevision}": that revision is already serving; revisions: ${listing(revisions)}`,
    );
  }
  return found;
}

/**
 * `previous` and `last-successful` judge versions by how their deploys ended. A record still
 * saying `progressing` from a run that is not deploying now means that ending was never
 * written (the run was killed, or its record write failed): refuse rather than guess.
 */
async function refuseUnwrittenOutcome(
  o: RollbackOptions,
  app: string,
  live: Deployment,
  revisions: Revision[],
  deployingNow: DeployingNow,
): Promise<void> {
  if (o.toRevision !== 'previous' && o.toRevision !== 'last-successful') return;
  const record = readRecord(live);
  if (record?.phase !== 'progressing' || (await deployingNow(app, record))) return;
  throw new RollbackInputError(
    'to-revision',
    `Input "to-revision" is "${o.toRevision}", but how the last run that changed ${live.metadata.name} ended was never written: ` +
      `its record still says progressing, and that run (${record.runUrl}) does not hold lock ${lockName(app)}. ` +
      `Which version failed cannot be told from the cluster; give a revision number instead. Revisions: ${listing(revisions)}`,
  );
}

/**
 * A canary in progress serves a share beside a stable it has not touched: rolling the stable back
 * would change what the canary is judged against and leave the canary serving. Refused, pointing
 * to canary-step's abort (an aborted or promoted canary is history and changes nothing here).
 */
async function refuseCanaryInProgress(objects: KubeObjects, o: RollbackOptions, name: string): Promise<void> {
  const canary = await objects.get<Deployment>(DEPLOYMENTS, o.namespace, canaryName(name));
  const state = readRecord(canary)?.canary;
  if (state?.state !== 'progressing' && state?.state !== 'paused') return;
  const weight = state.history.at(-1)?.weight;
  throw new RollbackInputError(
    o.deployment ? 'deployment' : 'app',
    `A canary of ${name} is ${state.state}${weight !== undefined ? ` at ${weight}%` : ''} (Deployment ${canaryName(name)}, ${images(imagesOf(canary!.spec.template))}), and ${name} still serves the version from before it. ` +
      `To take the canary back, run canary-step with "action: abort" (all traffic back to ${name}); roll ${name} back once no canary is in progress. Nothing was changed`,
  );
}

/** Whether the run that wrote `record` holds the app's lease now (not expired). */
async function holdsAppLock(
  objects: KubeObjects,
  namespace: string,
  app: string,
  record: DeploymentRecord,
): Promise<boolean> {
  const lease = await objects.get<{
    spec?: {
      holderIdentity?: string;
      renewTime?: string;
      acquireTime?: string;
      leaseDurationSeconds?: number;
    };
  }>(LEASES, namespace, lockName(app));
  const spec = lease?.spec;
  if (!spec || spec.holderIdentity !== `${record.repository}#${record.runId}`) return false;
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  return Number.isFinite(renewed) && renewed + (spec.leaseDurationSeconds ?? 0) * 1000 >= Date.now();
}

/** The template serving now, as a revision (its ReplicaSet's, else the Deployment's own). */
function servingRevision(live: Deployment, revisions: Revision[]): Revision {
  const current = currentRevision(live);
  return (
    revisions.find((r) => r.revision === current) ?? {
      revision: current,
      templateHash: '',
      replicaSet: '',
      images: imagesOf(live.spec.template),
      replicas: live.status?.replicas ?? 0,
      template: live.spec.template,
    }
  );
}

/**
 * A revision whose ConfigMap is gone (a config-files ConfigMap is collected once no ReplicaSet
 * refers to it) would start pods that cannot mount it, and the rollout would hang: refused here,
 * before anything is written.
 */
async function refuseMissingConfig(
  objects: KubeObjects,
  o: RollbackOptions,
  name: string,
  target: Revision,
): Promise<void> {
  const missing = await missingConfigMaps(objects, o.namespace, target.template.spec);
  if (missing.length === 0) return;
  throw new RollbackInputError(
    'to-revision',
    `Input "to-revision" is "${o.toRevision}": revision ${target.revision} of ${name} refers to ConfigMap ${missing.join(', ')}, which no longer exists in namespace ${o.namespace}, so its pods could not start; choose a revision whose config still exists, or deploy that version again. Nothing was changed`,
  );
}

/** Every read a rolling rollback needs, and the revision it goes to. Changes nothing. */
async function planRolling(
  objects: KubeObjects,
  o: RollbackOptions,
  deployingNow: DeployingNow,
): Promise<RollingPlan> {
  const { name, app, history } = await findDeployment(objects, o);
  const live = await objects.get<Deployment>(DEPLOYMENTS, o.namespace, name);
  if (!live) {
    const existing = await objects.list<Deployment>(DEPLOYMENTS, o.namespace).catch(() => undefined);
    throw new RollbackInputError(
      o.deployment ? 'deployment' : 'app',
      `Input "${o.deployment ? 'deployment' : 'app'}": Deployment "${name}" not found in namespace ${o.namespace}; Deployments there: ${existing?.items.map((d) => d.metadata.name).join(', ') || 'none'}`,
    );
  }
  await refuseCanaryInProgress(objects, o, name);
  const revisions = await listRevisions(objects, live);
  await refuseUnwrittenOutcome(o, app, live, revisions, deployingNow);
  const target = chooseTarget(o, live, revisions, history.entries);
  await refuseMissingConfig(objects, o, name, target);
  return {
    app,
    name,
    live,
    canary: readRecord(live)?.strategy === 'canary',
    revisions,
    history,
    serving: servingRevision(live, revisions),
    target,
  };
}

/** Two pod templates are the same version when they match apart from the pod-template-hash label. */
function sameTemplate(a: Deployment['spec']['template'], b: Deployment['spec']['template']): boolean {
  const key = (t: Deployment['spec']['template']): string => {
    const copy = structuredClone(t);
    if (copy.metadata?.labels) delete copy.metadata.labels['pod-template-hash'];
    return canonicalJson(copy);
  };
  return key(a) === key(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Runs a write; when it fails, reads back whether the cluster holds it anyway: the answer can be
 * lost after the server stored the write, and what happens next must follow what is true.
 */
export async function writeOrReadBack(
  ctx: PhaseContext,
  what: string,
  write: () => Promise<unknown>,
  stored: () => Promise<boolean>,
): Promise<void> {
  try {
    await write();
  } catch (error) {
    if (!(await stored().catch(() => false))) throw error;
    ctx.note(`the answer to ${what} was lost (${errorText(error)}); read back, the cluster holds it`);
  }
}

/** The record's phase for how a rollback ended. */
export function rollbackPhase(outcome: EngineOutcome): RecordPhase {
  return outcome.ok ? 'rolled-back' : outcome.reason === 'cancelled' ? 'cancelled' : 'failed';
}

/** Writes the record onto `at` and appends `entry` to the history (each retries its own transient failures). */
export async function writeBooks(
  objects: KubeObjects,
  at: { ref: ResourceRef; namespace: string; name: string },
  record: DeploymentRecord,
  app: string,
  entry: HistoryEntry,
): Promise<void> {
  await writeRecord(objects, at.ref, at.namespace, at.name, record);
  await appendHistory(objects, at.namespace, app, entry);
}

function images(map: Record<string, string>): string {
  return Object.values(map).join(', ');
}

/** Puts back the template that served before the rollback and waits until it serves again. */
function putBackServing(objects: KubeObjects, o: RollbackOptions, plan: RollingPlan): Undo {
  const { name, serving, target, revisions } = plan;
  return {
    what: `put revision ${serving.revision}'s template (${images(serving.images)}) back on Deployment ${o.namespace}/${name}, as it was serving before the rollback`,
    run: async (ctx) => {
      const { signal, deadline } = ctx;
      const now = await objects.mustGet<Deployment>(DEPLOYMENTS, o.namespace, name, { signal });
      if (!sameTemplate(now.spec.template, serving.template)) {
        await restoreTemplate(
          objects,
          now,
          serving,
          `cd-actions: rollback to revision ${target.revision} failed; revision ${serving.revision}'s template put back`,
          { signal },
        );
      }
      const result = await waitForRollout({
        kube: o.kube,
        objects,
        namespace: o.namespace,
        name,
        previousHashes: new Set(
          revisions.filter((r) => r.templateHash !== serving.templateHash).map((r) => r.templateHash),
        ),
        deadline,
        signal,
        onProgress: (text) => ctx.note(`${name}: ${text}`),
      });
      if (!result.ok) {
        throw new PhaseFailed(
          `revision ${serving.revision}'s template is back on ${name}, but its rollout did not complete: ${result.reason}`,
        );
      }
    },
  };
}

async function trafficOfDeployment(objects: KubeObjects, namespace: string, name: string): Promise<string> {
  const d = await objects.get<Deployment>(DEPLOYMENTS, namespace, name);
  if (!d) return `Deployment ${namespace}/${name} does not exist`;
  const verdict = judgeDeployment(d);
  const state =
    verdict && 'done' in verdict
      ? `${d.status?.availableReplicas ?? 0}/${d.spec.replicas ?? 1} available`
      : verdict
        ? `its rollout failed (${verdict.failed})`
        : `its rollout is not complete (${describeDeployment(d)})`;
  return `Deployment ${namespace}/${name} runs revision ${currentRevision(d)} (${images(imagesOf(d.spec.template))}), ${state}`;
}

export async function rollbackRolling(
  o: RollbackOptions,
  objects = new KubeObjects(o.kube),
): Promise<RollbackOutcome> {
  // Read and choose before the lock, so bad input fails before anything changes.
  let plan = await planRolling(objects, o, (app, record) => holdsAppLock(objects, o.namespace, app, record));
  const summaryOf = (
    p: RollingPlan,
  ): Omit<RollbackOutcome, 'ok' | 'dryRun' | 'message' | 'timeline' | 'restored'> => ({
    app: p.app,
    deployment: p.name,
    fromRevision: String(currentRevision(p.live)),
    restoredRevision: String(p.target.revision),
    fromImages: imagesOf(p.live.spec.template),
    images: p.target.images,
    revisions: p.revisions,
    history: p.history.entries,
  });
  const reason = o.reason ? `: ${o.reason}` : '';
  const promoted = (p: RollingPlan): string => (p.canary ? ' (promoted by canary-step)' : '');
  if (o.dryRun) {
    const message = `Dry run: would roll ${plan.name} back from revision ${currentRevision(plan.live)}${promoted(plan)} (${images(imagesOf(plan.live.spec.template))}) to revision ${plan.target.revision} (${images(plan.target.images)})`;
    o.runner.info(message);
    return {
      ...summaryOf(plan),
      ok: true,
      dryRun: true,
      restored: false,
      message,
      timeline: [{ at: new Date().toISOString(), text: message }],
    };
  }

  let newRevision: string | undefined;
  const phases: Phase[] = [
    {
      name: 'prepare',
      run: async (ctx) => {
        // Again under the lock: the choice is made on what the cluster holds now.
        plan = await planRolling(objects, o, () => Promise.resolve(false));
        ctx.note(
          `rolling ${plan.name} back from revision ${plan.serving.revision} to revision ${plan.target.revision} (${images(plan.target.images)})${reason}`,
        );
        if (plan.canary)
          ctx.note(
            `${plan.name} was promoted by canary-step (${images(plan.serving.images)}) and no canary is in progress: revision ${plan.target.revision}'s template goes back on it by a rolling update`,
          );
      },
    },
    {
      name: 'restore',
      run: async (ctx) => {
        const { name, live, target } = plan;
        ctx.undoWith(putBackServing(objects, o, plan));
        await writeOrReadBack(
          ctx,
          `the restore of revision ${target.revision}'s template on ${name}`,
          () =>
            restoreTemplate(
              objects,
              live,
              target,
              `cd-actions rollback to revision ${target.revision} by ${o.run.actor}${reason}`,
              { signal: ctx.signal },
            ),
          async () => {
            const now = await objects.get<Deployment>(DEPLOYMENTS, o.namespace, name, { signal: ctx.signal });
            return now !== undefined && sameTemplate(now.spec.template, target.template);
          },
        );
        ctx.note(`${name}: revision ${target.revision}'s template restored`);
      },
    },
    {
      name: 'rollout',
      run: async (ctx) => {
        const { name, target, revisions } = plan;
        const result = await waitForRollout({
          kube: o.kube,
          objects,
          namespace: o.namespace,
          name,
          previousHashes: new Set(
            revisions.filter((r) => r.templateHash !== target.templateHash).map((r) => r.templateHash),
          ),
          deadline: Date.now() + o.timeoutMs,
          signal: ctx.signal,
          onProgress: (text) => ctx.note(`${name}: ${text}`),
        });
        if (!result.ok) {
          for (const event of result.events) ctx.note(`  event ${event}`);
          throw new PhaseFailed(
            `${name} did not become ready with revision ${target.revision}'s template: ${result.reason}`,
          );
        }
        newRevision = result.revision;
      },
    },
  ];
  const gated = gateRestored(
    o,
    phases,
    () =>
      `revision ${plan.target.revision}'s template, now revision ${newRevision ?? '?'} (${images(plan.target.images)})`,
  );

  const result = await runDeploy({
    objects,
    namespace: o.namespace,
    app: plan.app,
    run: o.run,
    runner: o.runner,
    signal: o.signal,
    lockWaitMs: 0,
    github: {
      token: o.githubToken,
      environment: o.environment,
      description: `Rollback of ${plan.app} to revision ${plan.target.revision}`,
    },
    phases: gated.phases,
    // A rollback that cannot finish puts back what was serving, whether it failed or was cancelled;
    // once the restored version serves, its checks' verdict changes nothing (verify.ts).
    get undoOnFailure() {
      return gated.undo();
    },
    get undoOnCancel() {
      return gated.undo();
    },
    get keptBecause() {
      return keptBecause(gated);
    },
    undoBudgetMs: o.timeoutMs,
    keepBooks: async (outcome) => {
      const { app, name, serving, target } = plan;
      // A canary app stays one: the next canary-step reads this record on its stable.
      const strategy = plan.canary ? 'canary' : 'rolling';
      const record: DeploymentRecord = Object.assign(
        newRecord({ strategy, app, run: o.run }),
        gateField(gated),
      );
      record.phase = rollbackPhase(outcome);
      const wanted = { templateHash: target.templateHash, images: target.images };
      const unverified = restoredButUnverified(gated, outcome);
      if (outcome.ok) record.stable = { revision: newRevision, ...wanted };
      // It serves, and no check vouches for it: the record claims no stable version.
      else if (unverified) record.candidate = { revision: newRevision, ...wanted };
      else {
        if (outcome.compensation === 'done') {
          record.stable = {
            revision: String(serving.revision),
            templateHash: serving.templateHash,
            images: serving.images,
          };
        }
        record.candidate = { revision: String(target.revision), ...wanted };
      }
      record.message = `rollback from revision ${serving.revision} to revision ${target.revision}${reason}${outcome.ok ? '' : unverified ? ` restored it (now revision ${newRevision}), which stays serving, but it did not verify: ${outcome.cause}` : ` failed in phase ${outcome.failedPhase ?? 'start'}: ${outcome.cause}`}`;
      await writeBooks(objects, { ref: DEPLOYMENTS, namespace: o.namespace, name }, record, app, {
        action: 'rollback',
        strategy,
        outcome: outcome.ok ? 'succeeded' : record.phase,
        deployment: name,
        revision: outcome.ok || unverified ? newRevision : undefined,
        templateHash: target.templateHash,
        images: target.images,
        from: String(serving.revision),
        to: String(target.revision),
        reason: o.reason,
        commit: o.run.sha,
        runUrl: record.runUrl,
        actor: o.run.actor,
        time: new Date().toISOString(),
        ...gateField(gated),
      });
    },
    whereTrafficIs: () => trafficOfDeployment(objects, o.namespace, plan.name),
    describeSuccess: () =>
      `Rolled ${plan.name} back from revision ${plan.serving.revision}${promoted(plan)} to revision ${plan.target.revision}'s template (now revision ${newRevision}): ${images(plan.target.images)} is serving${checksPassed(gated)}`,
    get what() {
      return `Rollback of ${plan.name} to revision ${plan.target.revision}`;
    },
  });
  const unverified = restoredButUnverified(gated, result);
  return {
    ...summaryOf(plan),
    ok: result.ok,
    dryRun: false,
    message: unverified
      ? unverifiedMessage(gated, result, {
          restored: `revision ${plan.target.revision}'s template on ${plan.name} (now revision ${newRevision}, ${images(plan.target.images)})`,
          from: `revision ${plan.serving.revision} (${images(plan.serving.images)})`,
        })
      : result.message,
    ...(result.ok || unverified ? { toRevision: newRevision } : {}),
    restored: result.ok || unverified,
    timeline: result.timeline,
    traffic: result.traffic,
    ...(gated.decision ? { gate: gated.decision } : {}),
  };
}

/** The checks' verdict as the record and the history entry keep it (as `gate`), when they ran. */
export function gateField(gated: RestoredGate): { gate?: ReturnType<typeof recordedGate> } {
  return gated.decision ? { gate: recordedGate(gated.decision) } : {};
}

/** "; checks pass: why" for a success message, when checks ran. */
export function checksPassed(gated: RestoredGate): string {
  return gated.decision ? `; checks on it ${gated.decision.verdict}: ${gated.decision.reason}` : '';
}

/**
 * Rollback by the strategy the cluster's record names: blue-green switches colours; rolling, and a
 * canary (promotion left one Deployment, the stable, with the new template), restore a revision.
 * Checks are preflighted first.
 */
export async function rollback(o: RollbackOptions): Promise<RollbackOutcome> {
  const objects = new KubeObjects(o.kube);
  // A query Prometheus rejects fails here, before anything changes, not as a verdict afterwards.
  if (o.gate) await preflightVerifyGate(o.gate, { kube: o.kube, namespace: o.namespace, signal: o.signal });
  if (o.app && !o.deployment) {
    const history = await openHistory(objects, o.namespace, o.app);
    const { blueGreenRecord, rollbackBlueGreen } = await import('./blue-green.js');
    const record = await blueGreenRecord(objects, o.namespace, history.entries);
    if (record) return rollbackBlueGreen({ ...o, app: o.app }, objects);
  }
  return rollbackRolling(o, objects);
}
