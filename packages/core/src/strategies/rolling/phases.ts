/**
 * deploy-rolling as phases for the strategy engine (engine/phases.ts): prepare reads, apply and
 * images write (each saying first how to put its write back), rollout confirms, verify (with
 * checks) gates the new version: a gate that does not pass, and a cancel while it runs, unwind
 * the writes like any failure. What the phases learn is kept on one RollingRun, which the books
 * (books.ts) read at the end.
 */
import type { Autoscaled } from '../../kube/autoscalers.js';
import { PhaseFailed, type Phase, type PhaseContext, type Undo } from '../../engine/phases.js';
import type { GateDecision } from '../../gate/types.js';
import { undoApply } from '../../engine/undo-apply.js';
import type { RunContext } from '../../github/github.js';
import type { Kube } from '../../kube/kube.js';
import { DEPLOYMENTS, type KubeObjects } from '../../kube/objects.js';
import { applyImageOverrides, type KubeObject } from '../../manifests/manifests.js';
import { configMountPatch } from '../../manifests/config-files.js';
import {
  newRecord,
  openHistory,
  RECORD_ANNOTATION,
  type DeploymentRecord,
  type History,
} from '../../record/record.js';
import {
  CHANGE_CAUSE,
  currentRevision,
  imagesOf,
  listRevisions,
  restoreTemplate,
  type Revision,
} from '../../kube/revisions.js';
import type { RollingPlan } from './plan.js';
import { runVerifyGate, type VerifyGate } from './gate.js';
import { waitForRollout, type Deployment } from '../../kube/rollout.js';
import type { Runner } from '../../runner/runner.js';

export interface AppliedObject {
  kind: string;
  name: string;
  source: string;
  result: 'created' | 'configured' | 'unchanged' | 'dry-run';
}

/** What served before this run touched a Deployment. */
export interface Before {
  live?: Deployment;
  revision?: string;
  templateHash?: string;
  /** Hashes of the ReplicaSets that had pods or served: their pods are not judged in the rollout. */
  activeHashes: Set<string>;
  images: Record<string, string>;
}

/** One run of deploy-rolling: its settings, and what its phases found and did. */
export interface RollingRun {
  kube: Kube;
  objects: KubeObjects;
  plan: RollingPlan;
  namespace: string;
  app: string;
  run: RunContext;
  runner: Runner;
  timeoutMs: number;
  annotations: Record<string, string>;
  /** The Deployments to roll out, each with its manifest (undefined: a live one, images only). */
  targets: Map<string, KubeObject | undefined>;
  /** Deployments an HPA scales: they keep their live replica count. */
  autoscaled: Map<string, Autoscaled>;
  applied: AppliedObject[];
  before: Map<string, Before>;
  records: Map<string, DeploymentRecord>;
  history?: History;
  /** Rollouts that completed: the revision and the new pods' template hash. */
  rolledOut: Map<string, { revision: string; templateHash?: string }>;
  /** Rollouts that failed: why, and the failing pod's last events. */
  failures: Map<string, { reason: string; events: string[] }>;
  /** Deployments whose earlier template this run wrote back and saw serve again. */
  restored: Set<string>;
  /** The template hash of the version this run tried, seen before it was rolled back. */
  candidates: Map<string, string>;
  /** Checks that verify the new version once it has rolled out (input "checks"). */
  gate?: VerifyGate;
  /** The verify phase's decision, once its gate ended (cancelled included). */
  decision?: GateDecision;
}

export function deploymentKey(name: string): string {
  return `Deployment/${name}`;
}

/** A manifest as it is applied: annotations (change cause, record) and an HPA's replica count. */
export function forApply(s: RollingRun, object: KubeObject, record?: DeploymentRecord): KubeObject {
  if (object.kind !== 'Deployment' || !s.targets.has(object.metadata.name)) return object;
  const copy = structuredClone(object);
  const autoscaled = s.autoscaled.get(object.metadata.name);
  if (autoscaled) copy.spec = { ...(copy.spec as object), replicas: autoscaled.replicas };
  copy.metadata.annotations = {
    ...copy.metadata.annotations,
    ...s.annotations,
    [CHANGE_CAUSE]: changeCause(s.run),
    ...(record ? { [RECORD_ANNOTATION]: JSON.stringify(record) } : {}),
  };
  return copy;
}

function changeCause(run: RunContext): string {
  return `cd-actions deploy-rolling ${run.repository}@${run.sha.slice(0, 7)} run ${run.runId}`;
}

type PatchedContainer = { name: string; image: string; volumeMounts?: Record<string, unknown>[] };

export type ImagePatch = {
  spec: {
    template: {
      spec: { containers: PatchedContainer[]; initContainers?: PatchedContainer[]; volumes?: unknown[] };
    };
  };
};

/**
 * The strategic patch for a live Deployment that has no manifest (images-only deploy): its
 * containers' images by name, and with config-files the config volume and mounts.
 */
export async function imagePatch(s: RollingRun, name: string, signal?: AbortSignal): Promise<ImagePatch> {
  const live = await s.objects.mustGet<KubeObject>(DEPLOYMENTS, s.namespace, name, { signal });
  const copy = structuredClone(live);
  const problems = applyImageOverrides([copy], s.plan.liveImageOverrides);
  const config = s.plan.config ? configMountPatch(live, s.plan.config) : undefined;
  if (config) problems.push(...config.problems);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const pod = (copy.spec as { template: { spec: Record<string, { name: string; image: string }[]> } })
    .template.spec;
  // Init containers stay under their own key: listed as containers, the patch would add them as such.
  const patched = (key: 'containers' | 'initContainers'): PatchedContainer[] =>
    (pod[key] ?? []).map((c) => ({
      name: c.name,
      image: c.image,
      ...(config ? { volumeMounts: config.mounts.get(c.name) ?? [] } : {}),
    }));
  const initContainers = patched('initContainers');
  return {
    spec: {
      template: {
        spec: {
          containers: patched('containers'),
          ...(initContainers.length > 0 ? { initContainers } : {}),
          ...(config ? { volumes: config.volumes } : {}),
        },
      },
    },
  };
}

/** The phases of one rolling deploy, in order; only those with something to do. */
export function rollingPhases(s: RollingRun): Phase[] {
  const imagesOnly = [...s.targets.values()].some((manifest) => !manifest);
  return [
    { name: 'prepare', run: (ctx) => prepare(s, ctx) },
    ...(s.plan.objects.length > 0 ? [{ name: 'apply', run: (ctx: PhaseContext) => apply(s, ctx) }] : []),
    ...(imagesOnly ? [{ name: 'images', run: (ctx: PhaseContext) => images(s, ctx) }] : []),
    { name: 'rollout', run: (ctx) => rollout(s, ctx) },
    ...(s.gate ? [{ name: 'verify', run: (ctx: PhaseContext) => verify(s, s.gate!, ctx) }] : []),
  ];
}

/** The checks on the version that rolled out; one that does not pass fails the deploy (and rolls it back). */
async function verify(s: RollingRun, gate: VerifyGate, ctx: PhaseContext): Promise<void> {
  const rolledOut = [...s.rolledOut].map(([name, r]) => `${name} revision ${r.revision}`).join(', ');
  await runVerifyGate(gate, ctx, {
    kube: s.kube,
    namespace: s.namespace,
    what: `the new version (${rolledOut}) rolled out but did not pass its checks`,
    keep: (decision) => {
      s.decision = decision;
    },
  });
}

/** Reads what serves now (the undos restore it) and the history; writes nothing. */
async function prepare(s: RollingRun, ctx: PhaseContext): Promise<void> {
  s.history = await openHistory(s.objects, s.namespace, s.app);
  for (const name of s.targets.keys()) {
    const b = await readBefore(s, name, ctx.signal);
    s.before.set(name, b);
    const record = newRecord({ strategy: 'rolling', app: s.app, run: s.run });
    if (b.live) record.stable = { revision: b.revision, templateHash: b.templateHash, images: b.images };
    s.records.set(name, record);
    ctx.runner.debug(
      b.live
        ? `${name}: serving revision ${b.revision ?? '?'} (${Object.values(b.images).join(', ')}), template ${b.templateHash ?? '?'}`
        : `${name}: does not exist yet (first deploy)`,
    );
  }
}

async function readBefore(s: RollingRun, name: string, signal: AbortSignal): Promise<Before> {
  const live = await s.objects.get<Deployment>(DEPLOYMENTS, s.namespace, name, { signal });
  if (!live) return { activeHashes: new Set(), images: {} };
  const revisions = await listRevisions(s.objects, live);
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

/** Server-side apply of every manifest, in apply order. */
async function apply(s: RollingRun, ctx: PhaseContext): Promise<void> {
  ctx.note(`applying ${s.plan.objects.length} object(s) to ${s.namespace}`);
  for (const { object, source } of s.plan.objects) {
    const existed = await s.objects.getLive(object, { signal: ctx.signal });
    const target = object.kind === 'Deployment' && s.targets.has(object.metadata.name);
    if (target) ctx.undoOnce(deploymentKey(object.metadata.name), restoreUndo(s, object.metadata.name));
    else
      ctx.undoOnce(
        `${object.apiVersion}/${object.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`,
        undoApply(s.objects, object, existed),
      );
    const result = await s.objects.apply<KubeObject>(
      forApply(s, object, target ? s.records.get(object.metadata.name) : undefined),
      { signal: ctx.signal },
    );
    const outcome = !existed
      ? 'created'
      : existed.metadata.resourceVersion !== result.metadata.resourceVersion
        ? 'configured'
        : 'unchanged';
    s.applied.push({ kind: object.kind, name: object.metadata.name, source, result: outcome });
    ctx.note(`${object.kind} ${object.metadata.name} ${outcome}`);
  }
}

/** The images-only patch of each live Deployment that has no manifest. */
async function images(s: RollingRun, ctx: PhaseContext): Promise<void> {
  for (const [name, manifest] of s.targets) {
    if (manifest) continue;
    const patch = await imagePatch(s, name, ctx.signal);
    const annotations = {
      ...s.annotations,
      [CHANGE_CAUSE]: changeCause(s.run),
      [RECORD_ANNOTATION]: JSON.stringify(s.records.get(name)),
    };
    ctx.undoOnce(deploymentKey(name), restoreUndo(s, name));
    await s.objects.patch(
      DEPLOYMENTS,
      s.namespace,
      name,
      { metadata: { annotations }, ...patch },
      'strategic',
      {
        signal: ctx.signal,
      },
    );
    s.applied.push({ kind: 'Deployment', name, source: 'images', result: 'configured' });
    ctx.note(
      `Deployment ${name}: images set to ${patch.spec.template.spec.containers.map((c) => c.image).join(', ')}${s.plan.config ? `, config ${s.plan.config.configMap} at ${s.plan.config.mountPath}` : ''}`,
    );
  }
}

/**
 * Waits for every Deployment's rollout. The first to fail decides (the other waits stop): a
 * failed rollout is a PhaseFailed naming the pod's reason and last events; losing sight of a
 * rollout (the API keeps failing) is a failure too, since nothing confirms the new version.
 */
async function rollout(s: RollingRun, ctx: PhaseContext): Promise<void> {
  const deadline = Date.now() + s.timeoutMs;
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let lostSight: { name: string; error: unknown } | undefined;
  await Promise.all(
    [...s.targets.keys()].map(async (name) => {
      try {
        const result = await waitForRollout({
          kube: s.kube,
          objects: s.objects,
          namespace: s.namespace,
          name,
          previousHashes: s.before.get(name)?.activeHashes ?? new Set(),
          deadline,
          signal,
          onProgress: (text) => ctx.note(`${name}: ${text}`),
        });
        if (result.ok) {
          s.rolledOut.set(name, { revision: result.revision, templateHash: result.templateHash });
          return;
        }
        // Said once, by the engine, as the phase's cause.
        s.failures.set(name, { reason: result.reason, events: result.events });
      } catch (error) {
        if (!stop.signal.aborted) lostSight ??= { name, error };
      }
      // This one failed or lost sight: the run has failed, the other waits need not go on.
      stop.abort();
    }),
  );
  ctx.signal.throwIfAborted();
  if (s.failures.size > 0) {
    throw new PhaseFailed(
      [...s.failures]
        .map(
          ([name, f]) =>
            `${name}: ${f.reason}${f.events.length > 0 ? ` (last events: ${f.events.join('; ')})` : ''}`,
        )
        .join('; '),
    );
  }
  if (lostSight) {
    const why = lostSight.error instanceof Error ? lostSight.error.message : String(lostSight.error);
    throw new Error(`could not follow the rollout of ${lostSight.name}: ${why}`);
  }
}

/**
 * The undo of writing a target Deployment's template: put back the template of the revision that
 * served before (as `kubectl rollout undo` does) and wait until it serves. It reads first, so it
 * is right whether or not the write took effect, and repeating it after a 409 or a lost answer
 * writes only what still differs.
 */
function restoreUndo(s: RollingRun, name: string): Undo {
  const b = s.before.get(name);
  if (!b?.templateHash) {
    return {
      what: `roll Deployment ${name} back`,
      run: () =>
        Promise.reject(new PhaseFailed(`${name} had no earlier revision to roll back to (first deploy)`)),
    };
  }
  // Across retries: an earlier attempt's write may have been stored although its answer was lost.
  let putBack = false;
  return {
    what: `roll Deployment ${name} back to revision ${b.revision} (${Object.values(b.images).join(', ')})`,
    run: async (u) => {
      const live = await s.objects.get<Deployment>(DEPLOYMENTS, s.namespace, name, { signal: u.signal });
      if (!live) throw new PhaseFailed(`Deployment ${name} is gone`);
      const revisions = await listRevisions(s.objects, live);
      const target = revisions.find((r) => r.templateHash === b.templateHash);
      if (!target) throw new PhaseFailed(`the ReplicaSet of revision ${b.revision} is gone`);
      if (!sameTemplate(live.spec.template, target.template)) {
        const tried = revisionOfTemplate(revisions, live.spec.template);
        if (tried) s.candidates.set(name, tried.templateHash);
        u.note(`${name}: putting back the template of revision ${b.revision}`);
        putBack = true;
        await restoreTemplate(
          s.objects,
          live,
          target,
          `cd-actions rollback after failed deploy, run ${s.run.runId}`,
          { signal: u.signal },
        );
      } else if (!putBack) {
        u.note(`${name}: its template was not changed; confirming that revision ${b.revision} serves`);
      }
      const others = new Set(revisions.filter((r) => r !== target).map((r) => r.templateHash));
      // End the wait a little before the undo's deadline, so that what was seen is the answer.
      const margin = Math.min(2000, Math.max(0, (u.deadline - Date.now()) / 10));
      const result = await waitForRollout({
        kube: s.kube,
        objects: s.objects,
        namespace: s.namespace,
        name,
        previousHashes: others,
        deadline: u.deadline - margin,
        signal: u.signal,
        onProgress: (text) => u.note(`${name} (rollback): ${text}`),
      });
      if (!result.ok) {
        throw new PhaseFailed(
          `${putBack ? `revision ${b.revision}'s template was put back` : `revision ${b.revision} was left in place`}, but its rollout is not confirmed: ${result.reason}`,
        );
      }
      if (putBack) s.restored.add(name);
      u.note(`${name}: revision ${result.revision} is serving${putBack ? ' again' : ''}`);
    },
  };
}

/** The revision whose template a Deployment's template is (the controller's EqualIgnoreHash). */
export function revisionOfTemplate(
  revisions: Revision[],
  template: Deployment['spec']['template'],
): Revision | undefined {
  return revisions.find((r) => sameTemplate(r.template, template));
}

function sameTemplate(a: Deployment['spec']['template'], b: Deployment['spec']['template']): boolean {
  return canonical(withoutHash(a)) === canonical(withoutHash(b));
}

function withoutHash(template: Deployment['spec']['template']): unknown {
  const copy = structuredClone(template);
  if (copy.metadata?.labels) delete copy.metadata.labels['pod-template-hash'];
  return copy;
}

/**
 * JSON with sorted keys, without nulls, empty objects and empty arrays: the API server's typed
 * round trip drops those, so `resources: {}` in one template and none in the other are the same.
 */
function canonical(value: unknown): string {
  const prune = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const items = v.map(prune).filter((x) => x !== undefined);
      return items.length > 0 ? items : undefined;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.keys(v)
        .sort()
        .map((k) => [k, prune((v as Record<string, unknown>)[k])] as const)
        .filter(([, x]) => x !== undefined);
      return entries.length > 0 ? Object.fromEntries(entries) : undefined;
    }
    return v === null ? undefined : v;
  };
  return JSON.stringify(prune(value) ?? {});
}
