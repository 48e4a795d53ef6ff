/**
 * Deployment → ReplicaSets, after the Kubernetes deployment controller: revisions, rolling
 * update by maxSurge/maxUnavailable counting available pods, Recreate, paused, proportional
 * scaling, history cleanup, status and the Progressing deadline.
 */
import type { KubeObject, Store } from '../store.js';
import type { EventRecorder } from './events.js';
import type { WorkQueue } from './queue.js';
import {
  calculateStatus,
  condition,
  deploymentComplete,
  deploymentProgressing,
  getCondition,
  REASON,
  removeCondition,
  rsReplicas,
  rsStatus,
  setCondition,
  type DeploymentStatus,
} from './deployment-status.js';
import {
  isControlledBy,
  podTemplateHash,
  POD_TEMPLATE_HASH,
  scaledValue,
  stableJson,
  T,
  templatesEqual,
  type LabelSelector,
} from './util.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations not copied to its ReplicaSets (as annotationsToSkip in Kubernetes). */
const SKIPPED_ANNOTATIONS = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
}

interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelector;
  template?: PodTemplate;
  strategy?: {
    type?: string;
    rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
  };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  paused?: boolean;
}

export function revisionOf(obj: KubeObject | undefined): number {
  const value = Number(obj?.metadata.annotations?.[REVISION]);
  return Number.isFinite(value) ? value : 0;
}

/** maxSurge rounds up, maxUnavailable down; both zero would deadlock, so unavailable becomes 1. */
export function fenceposts(
  spec: DeploymentSpec,
  replicas: number,
): { maxSurge: number; maxUnavailable: number } {
  if (spec.strategy?.type === 'Recreate') return { maxSurge: 0, maxUnavailable: 0 };
  const rolling = spec.strategy?.rollingUpdate ?? {};
  const maxSurge = scaledValue(rolling.maxSurge, '25%', replicas, true);
  let maxUnavailable = scaledValue(rolling.maxUnavailable, '25%', replicas, false);
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

function creationOrder(a: KubeObject, b: KubeObject): number {
  const byTime = (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '');
  return byTime !== 0 ? byTime : Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion);
}

export interface DeploymentControllerOptions {
  store: Store;
  events: EventRecorder;
  queue: WorkQueue;
  /** Upper bound on how late a passed progress deadline is noticed. */
  progressCheckMs: number;
  /** Whether any pod of the ReplicaSet still exists (Recreate waits for old pods to go). */
  hasPods: (rs: KubeObject) => boolean;
}

export class DeploymentController {
  /** When each deployment last made progress, in ms: conditions only hold whole seconds. */
  private readonly lastProgressMs = new Map<string, number>();

  constructor(private readonly options: DeploymentControllerOptions) {}

  enqueue(namespace: string, name: string): void {
    this.options.queue.enqueue(`deploy/${namespace}/${name}`, () => this.sync(namespace, name));
  }

  /** ReplicaSet events go to the controlling Deployment. */
  onReplicaSet(rs: KubeObject): void {
    const owner = (rs.metadata.ownerReferences ?? []).find(
      (r) => r.controller === true && r.kind === 'Deployment',
    );
    if (owner && rs.metadata.namespace) this.enqueue(rs.metadata.namespace, owner.name);
  }

  forget(namespace: string, name: string): void {
    this.lastProgressMs.delete(`${namespace}/${name}`);
  }

  sync(namespace: string, name: string): void {
    const { store } = this.options;
    const d = store.get(T.deployments, namespace, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const spec = (d.spec ?? {}) as DeploymentSpec;
    if (!spec.template) return;
    const replicas = spec.replicas ?? 1;
    const status = structuredClone((d.status ?? {}) as DeploymentStatus);
    const rsList = store.list(T.replicasets, namespace).items.filter((rs) => isControlledBy(rs, d));

    if (spec.paused) {
      setCondition(status, condition('Progressing', 'Unknown', REASON.paused, 'Deployment is paused'));
    } else if (getCondition(status, 'Progressing')?.reason === REASON.paused) {
      setCondition(status, condition('Progressing', 'Unknown', REASON.resumed, 'Deployment is resumed'));
      this.markProgress(d);
    }

    const state: SyncState = { d, spec, replicas, status, rsList, newRS: undefined };
    this.findNewReplicaSet(state, false);

    if (spec.paused || this.isScalingEvent(state)) {
      this.scale(state);
      if (!spec.paused && state.newRS && this.completeByReplicas(state)) this.cleanup(state);
      this.writeStatus(state, !spec.paused);
      return;
    }
    if (spec.strategy?.type === 'Recreate') this.rolloutRecreate(state);
    else this.rolloutRolling(state);
  }

  private markProgress(d: KubeObject): void {
    this.lastProgressMs.set(`${d.metadata.namespace}/${d.metadata.name}`, Date.now());
  }

  /** getAllReplicaSetsAndSyncRevision: finds (or creates) the ReplicaSet of the current template. */
  private findNewReplicaSet(state: SyncState, createIfMissing: boolean): void {
    const { d, spec, rsList, status } = state;
    const existing = rsList.find((rs) =>
      templatesEqual((rs.spec as { template?: unknown }).template, spec.template),
    );
    const olds = rsList.filter((rs) => rs !== existing);
    const newRevision = Math.max(0, ...olds.map(revisionOf)) + 1;
    if (existing) {
      const previousRevision = revisionOf(existing);
      const updated = this.syncReplicaSetAnnotations(state, existing, newRevision);
      state.newRS = updated;
      state.rsList = rsList.map((rs) => (rs === existing ? updated : rs));
      if (spec.paused) {
        // A paused rollout keeps its Progressing=Unknown/DeploymentPaused condition.
      } else if (previousRevision < newRevision) {
        // An old template brought back (rollout undo): a fresh start for the progress clock.
        setCondition(
          status,
          condition(
            'Progressing',
            'True',
            REASON.foundNewRS,
            `Found new replica set "${updated.metadata.name}"`,
          ),
        );
        this.markProgress(d);
      } else if (!getCondition(status, 'Progressing')) {
        setCondition(
          status,
          condition(
            'Progressing',
            'True',
            REASON.foundNewRS,
            `Found new replica set "${updated.metadata.name}"`,
          ),
        );
        this.markProgress(d);
      }
      this.setDeploymentRevision(state, revisionOf(updated));
      return;
    }
    if (!createIfMissing) return;
    const initialReplicas =
      spec.strategy?.type === 'Recreate' ? state.replicas : this.newRSNewReplicas(state, 0);
    const created = this.createReplicaSet(state, newRevision, initialReplicas);
    state.newRS = created;
    state.rsList = [...rsList, created];
    const cond = condition(
      'Progressing',
      'True',
      REASON.newRSCreated,
      `Created new replica set "${created.metadata.name}"`,
    );
    // A new template always restarts the progress clock, even when the reason stays the same.
    removeCondition(status, 'Progressing');
    const previous = (d.status as DeploymentStatus | undefined)?.conditions?.find(
      (c) => c.type === 'Progressing',
    );
    setCondition(
      status,
      previous?.status === 'True' ? { ...cond, lastTransitionTime: previous.lastTransitionTime } : cond,
    );
    this.markProgress(d);
    this.setDeploymentRevision(state, newRevision);
  }

  private createReplicaSet(state: SyncState, revision: number, replicas: number): KubeObject {
    const { d, spec, status } = state;
    const { store } = this.options;
    for (;;) {
      const hash = podTemplateHash(spec.template, status.collisionCount ?? 0);
      const name = `${d.metadata.name}-${hash}`;
      const clash = store.get(T.replicasets, d.metadata.namespace, name);
      if (clash) {
        // Same name, different template or owner: Kubernetes bumps collisionCount and rehashes.
        status.collisionCount = (status.collisionCount ?? 0) + 1;
        continue;
      }
      const template = structuredClone(spec.template ?? {});
      template.metadata = {
        ...(template.metadata ?? {}),
        labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
      };
      const selector = structuredClone(spec.selector ?? {});
      selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
      const { maxSurge } = fenceposts(spec, state.replicas);
      const created = store.create(T.replicasets, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name,
          namespace: d.metadata.namespace,
          labels: { ...(spec.template?.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
          annotations: {
            ...this.copiedAnnotations(d),
            [REVISION]: String(revision),
            [DESIRED_REPLICAS]: String(state.replicas),
            [MAX_REPLICAS]: String(state.replicas + maxSurge),
          },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name: d.metadata.name ?? '',
              uid: d.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { replicas, minReadySeconds: spec.minReadySeconds ?? 0, selector, template },
      });
      if (replicas > 0) {
        this.options.events.record(
          d,
          'Normal',
          'ScalingReplicaSet',
          `Scaled up replica set ${name} from 0 to ${replicas}`,
          'deployment-controller',
        );
      }
      return created;
    }
  }

  private copiedAnnotations(d: KubeObject): Record<string, string> {
    return Object.fromEntries(
      Object.entries(d.metadata.annotations ?? {}).filter(([k]) => !SKIPPED_ANNOTATIONS.has(k)),
    );
  }

  /** Revision max+1 for the current template (history kept), and the Deployment's annotations copied. */
  private syncReplicaSetAnnotations(state: SyncState, rs: KubeObject, newRevision: number): KubeObject {
    const annotations = { ...(rs.metadata.annotations ?? {}), ...this.copiedAnnotations(state.d) };
    const oldRevision = revisionOf(rs);
    if (oldRevision < newRevision) {
      annotations[REVISION] = String(newRevision);
      if (oldRevision > 0) {
        const history = annotations[REVISION_HISTORY];
        annotations[REVISION_HISTORY] = history ? `${history},${oldRevision}` : String(oldRevision);
      }
    }
    const minReadySeconds = state.spec.minReadySeconds ?? 0;
    const rsSpec = rs.spec as { minReadySeconds?: number };
    if (
      stableJson(annotations) === stableJson(rs.metadata.annotations ?? {}) &&
      (rsSpec.minReadySeconds ?? 0) === minReadySeconds
    ) {
      return rs;
    }
    return this.options.store.update(T.replicasets, {
      ...rs,
      metadata: { ...rs.metadata, annotations },
      spec: { ...(rs.spec as object), minReadySeconds },
    });
  }

  private setDeploymentRevision(state: SyncState, revision: number): void {
    const { d } = state;
    if (d.metadata.annotations?.[REVISION] === String(revision)) return;
    const updated = this.options.store.update(T.deployments, {
      ...d,
      metadata: {
        ...d.metadata,
        annotations: { ...(d.metadata.annotations ?? {}), [REVISION]: String(revision) },
      },
    });
    state.d = { ...updated, status: d.status };
  }

  private olds(state: SyncState): KubeObject[] {
    return state.rsList.filter((rs) => rs !== state.newRS).sort(creationOrder);
  }

  /** Writes spec.replicas (and the replica annotations) of a ReplicaSet; records the event. */
  private scaleReplicaSet(state: SyncState, rs: KubeObject, replicas: number): KubeObject {
    const from = rsReplicas(rs);
    const { maxSurge } = fenceposts(state.spec, state.replicas);
    const annotations = {
      ...(rs.metadata.annotations ?? {}),
      [DESIRED_REPLICAS]: String(state.replicas),
      [MAX_REPLICAS]: String(state.replicas + maxSurge),
    };
    if (from === replicas && stableJson(annotations) === stableJson(rs.metadata.annotations ?? {})) return rs;
    const updated = this.options.store.update(T.replicasets, {
      ...rs,
      metadata: { ...rs.metadata, annotations },
      spec: { ...(rs.spec as object), replicas },
    });
    state.rsList = state.rsList.map((r) => (r === rs ? updated : r));
    if (state.newRS === rs) state.newRS = updated;
    if (from !== replicas) {
      const verb = replicas > from ? 'up' : 'down';
      this.options.events.record(
        state.d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${verb} replica set ${rs.metadata.name} from ${from} to ${replicas}`,
        'deployment-controller',
      );
    }
    return updated;
  }

  /** NewRSNewReplicas for RollingUpdate: grow the new ReplicaSet as far as maxSurge allows. */
  private newRSNewReplicas(state: SyncState, newRSReplicas: number): number {
    const { maxSurge } = fenceposts(state.spec, state.replicas);
    const current =
      state.rsList.reduce((sum, rs) => sum + rsReplicas(rs), 0) + (state.newRS ? 0 : newRSReplicas);
    const maxTotal = state.replicas + maxSurge;
    if (current >= maxTotal) return newRSReplicas;
    return newRSReplicas + Math.max(0, Math.min(maxTotal - current, state.replicas - newRSReplicas));
  }

  private rolloutRolling(state: SyncState): void {
    this.findNewReplicaSet(state, true);
    const newRS = state.newRS;
    if (!newRS) return;
    // reconcileNewReplicaSet
    const newReplicas = rsReplicas(newRS);
    if (newReplicas > state.replicas) this.scaleReplicaSet(state, newRS, state.replicas);
    else if (newReplicas < state.replicas) {
      const wanted = this.newRSNewReplicas(state, newReplicas);
      if (wanted !== newReplicas) this.scaleReplicaSet(state, newRS, wanted);
    }
    this.reconcileOldReplicaSets(state);
    if (this.completeByReplicas(state)) this.cleanup(state);
    this.writeStatus(state, true);
  }

  private reconcileOldReplicaSets(state: SyncState): void {
    const newRS = state.newRS;
    if (!newRS) return;
    const olds = this.olds(state);
    const oldPods = olds.reduce((sum, rs) => sum + rsReplicas(rs), 0);
    if (oldPods === 0) return;
    const allPods = state.rsList.reduce((sum, rs) => sum + rsReplicas(rs), 0);
    const { maxUnavailable } = fenceposts(state.spec, state.replicas);
    const minAvailable = state.replicas - maxUnavailable;
    const newUnavailable = rsReplicas(newRS) - rsStatus(newRS).availableReplicas;
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return;
    // cleanupUnhealthyReplicas: unavailable old pods cost nothing to remove.
    let scaledDown = 0;
    for (const rs of olds) {
      if (scaledDown >= maxScaledDown) break;
      const current = state.rsList.find((r) => r.metadata.uid === rs.metadata.uid) ?? rs;
      const spec = rsReplicas(current);
      const unhealthy = spec - rsStatus(current).availableReplicas;
      if (spec === 0 || unhealthy <= 0) continue;
      const count = Math.min(maxScaledDown - scaledDown, unhealthy);
      this.scaleReplicaSet(state, current, spec - count);
      scaledDown += count;
    }
    // scaleDownOldReplicaSetsForRollingUpdate: only as far as availability allows.
    const available = state.rsList.reduce((sum, rs) => sum + rsStatus(rs).availableReplicas, 0);
    if (available <= minAvailable) return;
    const totalScaleDown = available - minAvailable;
    let done = 0;
    for (const rs of this.olds(state)) {
      if (done >= totalScaleDown) break;
      const spec = rsReplicas(rs);
      if (spec === 0) continue;
      const count = Math.min(spec, totalScaleDown - done);
      this.scaleReplicaSet(state, rs, spec - count);
      done += count;
    }
  }

  private rolloutRecreate(state: SyncState): void {
    for (const rs of this.olds(state)) if (rsReplicas(rs) > 0) this.scaleReplicaSet(state, rs, 0);
    const oldPodsRunning = this.olds(state).some(
      (rs) => rsStatus(rs).replicas > 0 || this.options.hasPods(rs),
    );
    if (oldPodsRunning) {
      this.writeStatus(state, true);
      return;
    }
    this.findNewReplicaSet(state, true);
    if (state.newRS && rsReplicas(state.newRS) !== state.replicas)
      this.scaleReplicaSet(state, state.newRS, state.replicas);
    if (this.completeByReplicas(state)) this.cleanup(state);
    this.writeStatus(state, true);
  }

  /** A replica-count change, not a template change: some active ReplicaSet was sized for another count. */
  private isScalingEvent(state: SyncState): boolean {
    return state.rsList.some((rs) => {
      if (rsReplicas(rs) === 0) return false;
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      return desired !== undefined && Number(desired) !== state.replicas;
    });
  }

  /** Kubernetes' `sync`/`scale`: resize without rolling, proportionally when several ReplicaSets are active. */
  private scale(state: SyncState): void {
    const active = state.rsList.filter((rs) => rsReplicas(rs) > 0);
    const single =
      active.length === 1
        ? active[0]
        : active.length === 0
          ? (state.newRS ?? [...state.rsList].sort((a, b) => revisionOf(b) - revisionOf(a))[0])
          : undefined;
    if (single) {
      this.scaleReplicaSet(state, single, state.replicas);
      return;
    }
    const newRS = state.newRS;
    if (
      newRS &&
      rsReplicas(newRS) === state.replicas &&
      rsStatus(newRS).availableReplicas === state.replicas
    ) {
      for (const rs of this.olds(state)) if (rsReplicas(rs) > 0) this.scaleReplicaSet(state, rs, 0);
      return;
    }
    // Proportional scaling (deployment/sync.go scale + GetProportion): each active ReplicaSet
    // grows or shrinks by its share of the size it was last scaled for (max-replicas).
    const { maxSurge } = fenceposts(state.spec, state.replicas);
    const allowed = state.replicas + maxSurge;
    const current = active.reduce((sum, rs) => sum + rsReplicas(rs), 0);
    const toAdd = allowed - current;
    if (toAdd === 0) return;
    const previousStatusReplicas = (state.d.status as DeploymentStatus | undefined)?.replicas ?? current;
    const sorted = [...active].sort(
      (a, b) => rsReplicas(b) - rsReplicas(a) || (toAdd > 0 ? creationOrder(b, a) : creationOrder(a, b)),
    );
    const sizes = new Map<KubeObject, number>();
    let added = 0;
    for (const rs of sorted) {
      const size = rsReplicas(rs);
      const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS] ?? previousStatusReplicas) || current;
      const fraction = state.replicas === 0 ? -size : Math.round((size * allowed) / annotated) - size;
      const left = toAdd - added;
      const proportion =
        added === toAdd ? 0 : toAdd > 0 ? Math.min(fraction, left) : Math.max(fraction, left);
      sizes.set(rs, size + proportion);
      added += proportion;
    }
    // Rounding leftovers go to the largest ReplicaSet.
    const largest = sorted[0];
    if (largest) sizes.set(largest, Math.max(0, (sizes.get(largest) ?? 0) + toAdd - added));
    for (const [rs, size] of sizes) this.scaleReplicaSet(state, rs, size);
  }

  private completeByReplicas(state: SyncState): boolean {
    const newRS = state.newRS;
    if (!newRS) return false;
    const olds = this.olds(state);
    return (
      rsReplicas(newRS) === state.replicas &&
      rsStatus(newRS).availableReplicas === state.replicas &&
      olds.every((rs) => rsReplicas(rs) === 0 && rsStatus(rs).replicas === 0)
    );
  }

  /** Old, empty ReplicaSets beyond revisionHistoryLimit go, oldest revision first. */
  private cleanup(state: SyncState): void {
    const limit = state.spec.revisionHistoryLimit ?? 10;
    const empty = this.olds(state)
      .filter((rs) => rsReplicas(rs) === 0 && rsStatus(rs).replicas === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    const excess = empty.length - limit;
    for (const rs of empty.slice(0, Math.max(0, excess))) {
      this.options.store.delete(T.replicasets, rs.metadata.namespace, rs.metadata.name ?? '');
      state.rsList = state.rsList.filter((r) => r !== rs);
    }
  }

  /** syncRolloutStatus: counts, Available, and Progressing with its deadline. */
  private writeStatus(state: SyncState, trackProgress: boolean): void {
    const { d, spec, replicas } = state;
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    const previous = (d.status ?? {}) as DeploymentStatus;
    const maxUnavailable = Math.min(
      replicas,
      spec.strategy?.type === 'Recreate' || replicas === 0 ? 0 : fenceposts(spec, replicas).maxUnavailable,
    );
    const next = calculateStatus(
      state.rsList,
      state.newRS,
      d.metadata.generation ?? 1,
      replicas,
      maxUnavailable,
      state.status,
    );
    const deadlineSeconds = spec.progressDeadlineSeconds ?? 600;
    const current = getCondition(next, 'Progressing');
    const newName = state.newRS?.metadata.name ?? '';
    const alreadyComplete =
      next.replicas === next.updatedReplicas && current?.reason === REASON.newRSAvailable;
    let waitMs: number | undefined;
    if (trackProgress && !alreadyComplete) {
      if (deploymentComplete(replicas, d.metadata.generation ?? 1, next)) {
        setCondition(
          next,
          condition(
            'Progressing',
            'True',
            REASON.newRSAvailable,
            `ReplicaSet "${newName}" has successfully progressed.`,
          ),
        );
        this.markProgress(d);
      } else if (deploymentProgressing(previous, next)) {
        const message = state.newRS
          ? `ReplicaSet "${newName}" is progressing.`
          : `Deployment "${d.metadata.name}" is progressing.`;
        const cond = condition('Progressing', 'True', REASON.rsUpdated, message);
        const keep =
          current?.status === 'True' ? { ...cond, lastTransitionTime: current.lastTransitionTime } : cond;
        removeCondition(next, 'Progressing');
        setCondition(next, keep);
        this.markProgress(d);
      } else if (current && current.reason !== REASON.timedOut) {
        const since = this.lastProgressMs.get(key) ?? Date.parse(current.lastUpdateTime);
        const remaining = since + deadlineSeconds * 1000 - Date.now();
        if (remaining <= 0) {
          setCondition(
            next,
            condition(
              'Progressing',
              'False',
              REASON.timedOut,
              `ReplicaSet "${newName}" has timed out progressing.`,
            ),
          );
        } else {
          waitMs = remaining;
        }
      }
      const afterCond = getCondition(next, 'Progressing');
      if (
        waitMs === undefined &&
        afterCond?.status === 'True' &&
        afterCond.reason !== REASON.newRSAvailable
      ) {
        const since = this.lastProgressMs.get(key) ?? Date.parse(afterCond.lastUpdateTime);
        waitMs = since + deadlineSeconds * 1000 - Date.now();
      }
    }
    if (waitMs !== undefined) {
      const delay = Math.max(5, Math.min(waitMs + 5, this.options.progressCheckMs));
      this.options.queue.enqueueAfter(
        `deploy/${key}`,
        () => this.sync(d.metadata.namespace ?? '', d.metadata.name ?? ''),
        delay,
      );
    }
    if (stableJson(next) === stableJson(previous)) return;
    this.options.store.update(T.deployments, { ...d, status: next }, { subresource: 'status' });
  }
}

interface SyncState {
  d: KubeObject;
  spec: DeploymentSpec;
  replicas: number;
  status: DeploymentStatus;
  rsList: KubeObject[];
  newRS: KubeObject | undefined;
}
