/**
 * deploy-rolling against the cluster: dry-run everything, take the app lock, apply, watch the
 * rollout, and on failure or cancel put the previous revision back and wait until it serves.
 * Returns an outcome; never reports success unless every Deployment completed its rollout.
 */
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import type { RunContext } from './github.js';
import type { Kube } from './kube.js';
import { findAutoscaled, type Autoscaled } from './autoscalers.js';
import { DEPLOYMENTS, KubeObjects } from './kube-objects.js';
import { underAppLock } from './lock.js';
import { applyImageOverrides, podContainers, type KubeObject } from './manifests.js';
import {
  newRecord,
  openHistory,
  RECORD_ANNOTATION,
  writeRecord,
  type DeploymentRecord,
  type History,
} from './record.js';
import { CHANGE_CAUSE, currentRevision, imagesOf, listRevisions, restoreTemplate } from './revisions.js';
import type { RollingPlan } from './rolling-plan.js';
import { waitForRollout, type Deployment, type RolloutResult } from './rollout.js';

export interface RollingOptions {
  kube: Kube;
  plan: RollingPlan;
  namespace: string;
  app: string;
  timeoutMs: number;
  autoRollback: boolean;
  onCancel: 'rollback' | 'leave';
  lockWaitMs: number;
  annotations: Record<string, string>;
  dryRun: boolean;
  githubToken?: string;
  environment?: string;
  run: RunContext;
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  log: (text: string) => void;
  /** A problem that does not stop the deploy (a job warning); defaults to log. */
  warn?: (text: string) => void;
}

export interface TimelineEntry {
  at: string;
  text: string;
}

export interface DeploymentOutcome {
  name: string;
  previousRevision?: string;
  revision?: string;
  previousImages: Record<string, string>;
  images: Record<string, string>;
  changed: boolean;
  rolledBack: boolean;
  /** pod-template-hash of the version this run tried to roll out. */
  candidateHash?: string;
  failure?: string;
  events?: string[];
}

export interface RollingOutcome {
  ok: boolean;
  dryRun: boolean;
  cancelled: boolean;
  rolledBack: boolean;
  message: string;
  applied: {
    kind: string;
    name: string;
    source: string;
    result: 'created' | 'configured' | 'unchanged' | 'dry-run';
  }[];
  deployments: DeploymentOutcome[];
  timeline: TimelineEntry[];
  diff?: string;
}

/** How long a cancelled run may spend restoring: the runner kills the process about 10 s after SIGINT. */
const CANCEL_GRACE_MS = 7000;

interface Before {
  live?: Deployment;
  revision?: string;
  templateHash?: string;
  activeHashes: Set<string>;
  images: Record<string, string>;
}

export class RollingDeploy {
  private readonly objects: KubeObjects;
  private readonly timeline: TimelineEntry[] = [];
  private readonly applied: RollingOutcome['applied'] = [];
  private historyLog: History | undefined;
  private autoscaled = new Map<string, Autoscaled>();

  constructor(private readonly o: RollingOptions) {
    this.objects = new KubeObjects(o.kube);
  }

  private note(text: string): void {
    this.timeline.push({ at: new Date().toISOString(), text });
    this.o.log(text);
  }

  async run(): Promise<RollingOutcome> {
    const { namespace } = this.o;
    const targets = await this.resolveTargets();
    await this.keepAutoscaledReplicas(targets);
    const diff = await this.dryRunAll(targets);
    if (this.o.dryRun) {
      this.note('dry run: every object passed server-side validation; nothing was changed');
      return this.outcome({
        ok: true,
        dryRun: true,
        message: 'Dry run passed: nothing was changed',
        diff,
        deployments: [],
      });
    }

    return underAppLock(
      {
        objects: this.objects,
        namespace,
        app: this.o.app,
        run: this.o.run,
        lockWaitMs: this.o.lockWaitMs,
        signal: this.o.signal,
        log: this.o.log,
        github: {
          token: this.o.githubToken,
          environment: this.o.environment,
          description: `Rolling deploy of ${this.o.app} by ${this.o.run.actor}`,
          inProgress: 'Rolling out',
        },
      },
      () => this.deploy(targets),
    );
  }

  /** Deployments to watch, with the live image overrides resolved into patches. */
  private async resolveTargets(): Promise<Map<string, KubeObject | undefined>> {
    const { plan, namespace } = this.o;
    const targets = new Map<string, KubeObject | undefined>();
    const missing: string[] = [];
    for (const name of plan.deployments) {
      const inManifests = plan.objects.find(
        (m) => m.object.kind === 'Deployment' && m.object.metadata.name === name,
      );
      if (inManifests) {
        targets.set(name, inManifests.object);
        continue;
      }
      const live = await this.objects.get<KubeObject>(DEPLOYMENTS, namespace, name);
      if (!live) missing.push(name);
      else targets.set(name, undefined);
    }
    if (missing.length > 0) {
      const existing = await this.objects.list<KubeObject>(DEPLOYMENTS, namespace).catch(() => undefined);
      const names = existing?.items.map((d) => d.metadata.name) ?? [];
      throw new Error(
        `Input "deployment": ${missing.map((m) => `"${m}"`).join(', ')} not found in namespace ${namespace} and not in the manifests; Deployments there: ${names.join(', ') || 'none'}`,
      );
    }
    return targets;
  }

  /** The image patch for a live Deployment that has no manifest (images-only deploy). */
  private async imagePatch(
    name: string,
  ): Promise<{ spec: { template: { spec: { containers: { name: string; image: string }[] } } } }> {
    const live = await this.objects.mustGet<KubeObject>(DEPLOYMENTS, this.o.namespace, name);
    const copy = structuredClone(live);
    const problems = applyImageOverrides([copy], this.o.plan.liveImageOverrides);
    if (problems.length > 0) throw new Error(problems.join('\n'));
    const containers = podContainers(copy).map((c) => ({ name: c.name, image: c.image }));
    return { spec: { template: { spec: { containers } } } };
  }

  /**
   * Server-side dry run of every write: the API server validates each object against its schema,
   * admission and RBAC, so a bad manifest fails here with nothing changed.
   */
  private async dryRunAll(targets: Map<string, KubeObject | undefined>): Promise<string> {
    const problems: string[] = [];
    const diffs: string[] = [];
    for (const { object, source } of this.o.plan.objects) {
      try {
        const result = await this.objects.apply<KubeObject>(this.forApply(object), { dryRun: true });
        const live = await this.objects.getLive(object);
        diffs.push(diffObjects(object, live, result));
        this.applied.push({ kind: object.kind, name: object.metadata.name, source, result: 'dry-run' });
      } catch (error) {
        problems.push(
          `Input "manifests": ${source}: ${object.kind} ${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    for (const [name, manifest] of targets) {
      if (manifest) continue;
      try {
        const patch = await this.imagePatch(name);
        const live = await this.objects.mustGet<KubeObject>(DEPLOYMENTS, this.o.namespace, name);
        const result = await this.objects.patch<KubeObject>(
          DEPLOYMENTS,
          this.o.namespace,
          name,
          patch,
          'strategic',
          { dryRun: true },
        );
        diffs.push(diffObjects(live, live, result));
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        problems.push(
          message.startsWith('Input "') ? message : `Input "images": Deployment ${name}: ${message}`,
        );
      }
    }
    if (problems.length > 0) {
      throw new Error(
        `The cluster rejected the change in a dry run; nothing was changed:\n${problems.join('\n')}`,
      );
    }
    return diffs.filter(Boolean).join('\n');
  }

  /** Deployments from the manifests that an HPA scales keep their live replicas (see autoscalers.ts). */
  private async keepAutoscaledReplicas(targets: Map<string, KubeObject | undefined>): Promise<void> {
    const fromManifests = [...targets].filter(([, manifest]) => manifest).map(([name]) => name);
    if (fromManifests.length === 0) return;
    this.autoscaled = await findAutoscaled(this.objects, this.o.namespace, fromManifests, (m) =>
      (this.o.warn ?? this.o.log)(m),
    );
    for (const [name, { hpa, replicas }] of this.autoscaled) {
      const manifest = (targets.get(name)?.spec as { replicas?: number } | undefined)?.replicas;
      this.note(
        `${name}: replicas stay at ${replicas}, set by HorizontalPodAutoscaler ${hpa}${manifest !== undefined && manifest !== replicas ? ` (the manifest says ${manifest})` : ''}`,
      );
    }
  }

  /** A manifest as it is applied: annotations (change cause, record) and an HPA's replica count. */
  private forApply(object: KubeObject, record?: DeploymentRecord): KubeObject {
    if (object.kind !== 'Deployment' || !this.o.plan.deployments.includes(object.metadata.name))
      return object;
    const copy = structuredClone(object);
    const autoscaled = this.autoscaled.get(object.metadata.name);
    if (autoscaled) copy.spec = { ...(copy.spec as object), replicas: autoscaled.replicas };
    copy.metadata.annotations = {
      ...copy.metadata.annotations,
      ...this.o.annotations,
      [CHANGE_CAUSE]: this.changeCause(),
      ...(record ? { [RECORD_ANNOTATION]: JSON.stringify(record) } : {}),
    };
    return copy;
  }

  private changeCause(): string {
    const run = this.o.run;
    return `cd-actions deploy-rolling ${run.repository}@${run.sha.slice(0, 7)} run ${run.runId}`;
  }

  private async before(name: string): Promise<Before> {
    const live = await this.objects.get<Deployment>(DEPLOYMENTS, this.o.namespace, name);
    if (!live) return { activeHashes: new Set(), images: {} };
    const revisions = await listRevisions(this.objects, live);
    const current = revisions.find((r) => r.revision === currentRevision(live));
    return {
      live,
      revision: current ? String(current.revision) : undefined,
      templateHash: current?.templateHash,
      activeHashes: new Set(
        revisions.filter((r) => r.replicas > 0 || r === current).map((r) => r.templateHash),
      ),
      images: imagesOf(live.spec.template),
    };
  }

  private async deploy(targets: Map<string, KubeObject | undefined>): Promise<RollingOutcome> {
    const { namespace } = this.o;
    this.historyLog = await openHistory(this.objects, namespace, this.o.app);
    const before = new Map<string, Before>();
    for (const name of targets.keys()) before.set(name, await this.before(name));
    const records = new Map<string, DeploymentRecord>();
    for (const [name, b] of before) {
      const record = newRecord({ strategy: 'rolling', app: this.o.app, run: this.o.run });
      if (b.live) record.stable = { revision: b.revision, templateHash: b.templateHash, images: b.images };
      records.set(name, record);
    }

    this.note(`applying ${this.o.plan.objects.length} object(s) to ${namespace}`);
    this.applied.length = 0;
    for (const { object, source } of this.o.plan.objects) {
      const existed = await this.objects.getLive(object);
      const result = await this.objects.apply<KubeObject>(
        this.forApply(object, records.get(object.metadata.name)),
      );
      const changed = !existed || existed.metadata.resourceVersion !== result.metadata.resourceVersion;
      this.applied.push({
        kind: object.kind,
        name: object.metadata.name,
        source,
        result: !existed ? 'created' : changed ? 'configured' : 'unchanged',
      });
      this.note(
        `${object.kind} ${object.metadata.name} ${!existed ? 'created' : changed ? 'configured' : 'unchanged'}`,
      );
    }
    for (const [name, manifest] of targets) {
      if (manifest) continue;
      const patch = await this.imagePatch(name);
      const annotations = {
        ...this.o.annotations,
        [CHANGE_CAUSE]: this.changeCause(),
        [RECORD_ANNOTATION]: JSON.stringify(records.get(name)),
      };
      await this.objects.patch(
        DEPLOYMENTS,
        namespace,
        name,
        { metadata: { annotations }, ...patch },
        'strategic',
      );
      this.applied.push({ kind: 'Deployment', name, source: 'images', result: 'configured' });
      this.note(
        `Deployment ${name}: images set to ${patch.spec.template.spec.containers.map((c) => c.image).join(', ')}`,
      );
    }

    const deadline = Date.now() + this.o.timeoutMs;
    const results = new Map<string, RolloutResult>();
    let cancelled = false;
    let lostSight: string | undefined;
    try {
      await Promise.all(
        [...targets.keys()].map(async (name) => {
          const result = await waitForRollout({
            kube: this.o.kube,
            objects: this.objects,
            namespace,
            name,
            previousHashes: before.get(name)!.activeHashes,
            deadline,
            signal: this.o.signal,
            onProgress: (text) => this.note(`${name}: ${text}`),
          });
          results.set(name, result);
          if (!result.ok) throw new RolloutFailed();
        }),
      );
    } catch (error) {
      if (this.o.signal.aborted) cancelled = true;
      // Losing sight of the rollout (the API keeps failing) is a failure too: restore what served before.
      else if (!(error instanceof RolloutFailed))
        lostSight = error instanceof Error ? error.message : String(error);
    }

    // Every call from here to exit is time the pipeline waits after the rollout is done: keep them few and parallel.
    const outcomes = await Promise.all(
      [...targets.keys()].map(async (name): Promise<DeploymentOutcome> => {
        const result = results.get(name);
        const live = result?.ok
          ? result.deployment
          : await this.objects.mustGet<Deployment>(DEPLOYMENTS, namespace, name);
        const b = before.get(name)!;
        const revision = live.metadata.annotations?.['deployment.kubernetes.io/revision'];
        return {
          name,
          previousRevision: b.revision,
          revision,
          previousImages: b.images,
          images: imagesOf(live.spec.template),
          changed: b.revision !== revision,
          rolledBack: false,
          candidateHash: (result?.ok ? result.templateHash : undefined) ?? (await this.hashOf(live)),
          ...(result && !result.ok ? { failure: result.reason, events: result.events } : {}),
          ...(!result && lostSight ? { failure: `could not follow the rollout: ${lostSight}` } : {}),
        };
      }),
    );
    const failed = outcomes.filter((d) => d.failure);
    if (!cancelled && failed.length === 0) {
      await Promise.all(
        outcomes.map(async (d) => {
          const record = records.get(d.name)!;
          record.phase = 'succeeded';
          record.stable = { revision: d.revision, images: d.images, templateHash: d.candidateHash };
          delete record.candidate;
          await Promise.all([
            writeRecord(this.objects, DEPLOYMENTS, namespace, d.name, record),
            this.history(d, 'succeeded'),
          ]);
        }),
      );
      const message = `Rolled out ${outcomes.map((d) => `${d.name} to revision ${d.revision}`).join(', ')}`;
      this.note(message);
      return this.outcome({ ok: true, dryRun: false, message, deployments: outcomes });
    }

    // Failure or cancel: say what failed, then put back what served before if asked to.
    for (const d of failed) {
      this.note(`${d.name} failed: ${d.failure}`);
      for (const e of d.events ?? []) this.note(`  event ${e}`);
    }
    if (cancelled) this.note(`run cancelled; on-cancel is ${this.o.onCancel}`);
    const restore = cancelled ? this.o.onCancel === 'rollback' : this.o.autoRollback;
    const restoreDeadline = Date.now() + (cancelled ? CANCEL_GRACE_MS : this.o.timeoutMs);
    const problems: string[] = [];
    if (restore) {
      for (const d of outcomes.filter((x) => x.changed)) {
        const b = before.get(d.name)!;
        if (!b.templateHash) {
          problems.push(`${d.name} had no earlier revision to roll back to (first deploy)`);
          continue;
        }
        try {
          const restored = await this.restore(d.name, b, restoreDeadline);
          d.rolledBack = restored.ok;
          d.revision = restored.revision;
          d.images = restored.images;
          if (!restored.ok)
            problems.push(
              `${d.name}: revision ${b.revision}'s template was put back, but its rollout is not confirmed: ${restored.reason}`,
            );
        } catch (error) {
          problems.push(
            `${d.name}: rollback failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    }
    const rolledBack = outcomes.some((d) => d.rolledBack);
    for (const d of outcomes) {
      const record = records.get(d.name)!;
      record.phase = d.rolledBack ? 'rolled-back' : cancelled ? 'cancelled' : 'failed';
      record.message = d.failure ?? (cancelled ? 'run cancelled' : undefined);
      if (!d.rolledBack) record.candidate = { revision: d.revision, images: d.images };
      await writeRecord(this.objects, DEPLOYMENTS, namespace, d.name, record).catch(() => undefined);
      await this.history(d, record.phase).catch(() => undefined);
    }
    const what = cancelled
      ? 'The run was cancelled'
      : `Rollout failed: ${failed.map((d) => `${d.name}: ${d.failure}`).join('; ')}`;
    const after = rolledBack
      ? `Rolled back: ${outcomes
          .filter((d) => d.rolledBack)
          .map(
            (d) =>
              `${d.name} is serving revision ${d.revision} again (${Object.values(d.images).join(', ')})`,
          )
          .join('; ')}`
      : restore
        ? problems.length > 0
          ? 'The rollback is not confirmed'
          : 'Nothing needed rolling back'
        : cancelled
          ? 'on-cancel is leave: the new revision was left in place'
          : 'auto-rollback is off: the failed revision was left in place';
    const message = [what, after, ...problems].join('. ');
    this.note(message);
    return this.outcome({ ok: false, dryRun: false, cancelled, rolledBack, message, deployments: outcomes });
  }

  /** The pod-template-hash of the revision a Deployment serves. */
  private async hashOf(live: Deployment): Promise<string | undefined> {
    const revisions = await listRevisions(this.objects, live);
    return revisions.find((r) => r.revision === currentRevision(live))?.templateHash;
  }

  private async restore(
    name: string,
    b: Before,
    deadline: number,
  ): Promise<{ ok: boolean; revision?: string; images: Record<string, string>; reason?: string }> {
    const live = await this.objects.mustGet<Deployment>(DEPLOYMENTS, this.o.namespace, name);
    const revisions = await listRevisions(this.objects, live);
    const target = revisions.find((r) => r.templateHash === b.templateHash);
    if (!target) throw new Error(`the ReplicaSet of revision ${b.revision} is gone`);
    this.note(`${name}: rolling back to revision ${b.revision} (${Object.values(target.images).join(', ')})`);
    await restoreTemplate(
      this.objects,
      live,
      target,
      `cd-actions rollback after failed deploy, run ${this.o.run.runId}`,
    );
    const others = new Set(
      revisions.filter((r) => r.templateHash !== target.templateHash).map((r) => r.templateHash),
    );
    // No cancel signal here: a cancelled run's has fired already; the restore runs on its deadline alone.
    const result = await waitForRollout({
      kube: this.o.kube,
      objects: this.objects,
      namespace: this.o.namespace,
      name,
      previousHashes: others,
      deadline,
      onProgress: (text) => this.note(`${name} (rollback): ${text}`),
    });
    if (result.ok) {
      this.note(`${name}: revision ${result.revision} is serving again`);
      return { ok: true, revision: result.revision, images: target.images };
    }
    return { ok: false, revision: undefined, images: target.images, reason: result.reason };
  }

  private async history(d: DeploymentOutcome, outcome: DeploymentRecord['phase']): Promise<void> {
    await this.historyLog?.append({
      action: 'deploy',
      strategy: 'rolling',
      outcome,
      deployment: d.name,
      revision: d.revision,
      // For a failed deploy this names the version that failed, so rollback's "previous" can skip it.
      templateHash: d.candidateHash,
      images: d.images,
      from: d.previousRevision,
      to: d.revision,
      reason: d.failure,
      commit: this.o.run.sha,
      runUrl: `${this.o.run.serverUrl}/${this.o.run.repository}/actions/runs/${this.o.run.runId}`,
      actor: this.o.run.actor,
      time: new Date().toISOString(),
    });
  }

  private outcome(
    o: Omit<RollingOutcome, 'applied' | 'timeline' | 'rolledBack' | 'cancelled'> & {
      rolledBack?: boolean;
      cancelled?: boolean;
    },
  ): RollingOutcome {
    return {
      rolledBack: false,
      cancelled: false,
      ...o,
      applied: [...this.applied],
      timeline: [...this.timeline],
    };
  }
}

class RolloutFailed extends Error {}

/** A readable diff of what a change does to an object: the parts a person reviews, without server noise. */
function diffObjects(manifest: KubeObject, live: KubeObject | undefined, result: KubeObject): string {
  const view = (o: KubeObject | undefined): string => {
    if (!o) return '';
    const { metadata, status: _status, ...rest } = o;
    const {
      managedFields: _m,
      resourceVersion: _r,
      uid: _u,
      creationTimestamp: _c,
      generation: _g,
      ...meta
    } = metadata as Record<string, unknown>;
    const annotations = { ...(meta.annotations as Record<string, string> | undefined) };
    delete annotations[RECORD_ANNOTATION];
    delete annotations['deployment.kubernetes.io/revision'];
    return stringify({ ...rest, metadata: { ...meta, annotations } }, { sortMapEntries: true });
  };
  const name = `${manifest.kind}/${manifest.metadata.name}`;
  const before = view(live);
  const after = view(result);
  if (before === after) return '';
  return createTwoFilesPatch(
    live ? `live ${name}` : '/dev/null',
    `new ${name}`,
    before,
    after,
    undefined,
    undefined,
    { context: 3 },
  );
}
