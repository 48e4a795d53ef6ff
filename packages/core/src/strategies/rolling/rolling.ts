/**
 * deploy-rolling against the cluster. Before the lock, and writing nothing: resolve the
 * Deployments, keep an HPA's replica count, check the checks (preflight) and dry-run every write
 * on the server. Then, on the strategy engine (runDeploy): prepare, apply, images, rollout, and
 * with checks verify (phases.ts); any failure, a gate that does not pass, a cancel or a lost lock
 * after the first write puts back what served before and waits until it serves. Never reports
 * success unless every Deployment completed its rollout and the checks passed.
 */
import { findAutoscaled } from '../../kube/autoscalers.js';
import { runDeploy } from '../../engine/deploy.js';
import type { EngineOutcome, TimelineEntry } from '../../engine/phases.js';
import type { RunContext } from '../../github/github.js';
import type { Kube } from '../../kube/kube.js';
import { DEPLOYMENTS, KubeObjects } from '../../kube/objects.js';
import { diffObjects } from '../../manifests/diff.js';
import { tidyConfigs } from '../../manifests/config-files.js';
import type { KubeObject } from '../../manifests/manifests.js';
import type { GateDecision } from '../../gate/types.js';
import { preflightVerifyGate, type VerifyGate } from './gate.js';
import { keepRollingBooks, settleDeployments, whereTrafficIs, type DeploymentOutcome } from './books.js';
import type { RollingPlan } from './plan.js';
import { forApply, imagePatch, rollingPhases, type AppliedObject, type RollingRun } from './phases.js';
import type { Runner } from '../../runner/runner.js';

export type { AppliedObject } from './phases.js';
export type { DeploymentOutcome } from './books.js';
export type { TimelineEntry } from '../../engine/phases.js';

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
  /** Checks run once the rollout completed; a gate that does not pass rolls the deploy back. */
  gate?: VerifyGate;
  dryRun: boolean;
  githubToken?: string;
  environment?: string;
  run: RunContext;
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  runner: Runner;
}

export interface RollingOutcome {
  ok: boolean;
  dryRun: boolean;
  cancelled: boolean;
  rolledBack: boolean;
  message: string;
  /** The phase that was running when the deploy stopped. */
  failedPhase?: string;
  /** Where traffic is when the step ends, in words (not for a dry run). */
  traffic?: string;
  applied: AppliedObject[];
  deployments: DeploymentOutcome[];
  timeline: TimelineEntry[];
  diff?: string;
  /** The verify phase's decision, when it ran (a cancelled gate included). */
  gate?: GateDecision;
}

export async function deployRolling(o: RollingOptions): Promise<RollingOutcome> {
  const timeline: TimelineEntry[] = [];
  const note = (text: string): void => {
    timeline.push({ at: new Date().toISOString(), text });
    o.runner.info(text);
  };
  const s: RollingRun = {
    kube: o.kube,
    objects: new KubeObjects(o.kube),
    plan: o.plan,
    namespace: o.namespace,
    app: o.app,
    run: o.run,
    runner: o.runner,
    timeoutMs: o.timeoutMs,
    annotations: o.annotations,
    targets: new Map(),
    autoscaled: new Map(),
    applied: [],
    before: new Map(),
    records: new Map(),
    rolledOut: new Map(),
    failures: new Map(),
    restored: new Set(),
    candidates: new Map(),
    ...(o.gate ? { gate: o.gate } : {}),
  };
  s.targets = await resolveTargets(s);
  if (o.gate) {
    await preflightVerifyGate(o.gate, {
      kube: o.kube,
      namespace: o.namespace,
      deploys: new Set(s.targets.keys()),
      signal: o.signal,
    });
  }
  await keepAutoscaledReplicas(s, note);
  const dryRun = await dryRunAll(s);
  if (o.dryRun) {
    note('dry run: every object passed server-side validation; nothing was changed');
    return {
      ok: true,
      dryRun: true,
      cancelled: false,
      rolledBack: false,
      message: 'Dry run passed: nothing was changed',
      diff: dryRun.diff,
      applied: dryRun.applied,
      deployments: [],
      timeline,
    };
  }

  let deployments: DeploymentOutcome[] | undefined;
  const result = await runDeploy({
    objects: s.objects,
    namespace: o.namespace,
    app: o.app,
    run: o.run,
    runner: o.runner,
    signal: o.signal,
    lockWaitMs: o.lockWaitMs,
    github: {
      token: o.githubToken,
      environment: o.environment,
      description: `Rolling deploy of ${o.app} by ${o.run.actor}`,
    },
    phases: rollingPhases(s),
    undoOnFailure: o.autoRollback,
    undoOnCancel: o.onCancel === 'rollback',
    undoBudgetMs: o.timeoutMs,
    keepBooks: async (outcome) => {
      try {
        deployments = await settleDeployments(s, outcome);
        await keepRollingBooks(s, outcome, deployments);
      } finally {
        // Under the lock still: no run of this app is between creating a config and mounting it.
        if (outcome.ok && o.plan.config) await tidyConfigs(s.objects, o.namespace, o.app, o.runner);
      }
    },
    whereTrafficIs: () => whereTrafficIs(s),
    describeSuccess: () =>
      `Rolled out ${[...s.targets.keys()].map((name) => `${name} to revision ${s.rolledOut.get(name)?.revision ?? '?'}`).join(', ')}${s.decision ? `; checks ${s.decision.verdict}: ${s.decision.reason}` : ''}`,
    what: `Rolling deploy of ${o.app}`,
  });
  // No books were kept (nothing was written, or reading the Deployments failed): say what is known.
  deployments ??= await settleDeployments(s, result).catch(() => fromBefore(s, result));
  return {
    ok: result.ok,
    dryRun: false,
    cancelled: result.reason === 'cancelled',
    rolledBack: deployments.some((d) => d.rolledBack),
    message: result.message,
    ...(result.failedPhase ? { failedPhase: result.failedPhase } : {}),
    traffic: result.traffic,
    applied: s.applied,
    deployments,
    timeline: [...timeline, ...result.timeline],
    ...(s.decision ? { gate: s.decision } : {}),
  };
}

function fromBefore(s: RollingRun, outcome: EngineOutcome): DeploymentOutcome[] {
  return [...s.targets.keys()].map((name) => {
    const b = s.before.get(name);
    return {
      name,
      previousRevision: b?.revision,
      previousImages: b?.images ?? {},
      images: {},
      rolledBack: s.restored.has(name),
      ...(outcome.ok ? {} : { failure: s.failures.get(name)?.reason ?? outcome.cause }),
    };
  });
}

/** Deployments to watch, each with its manifest, or undefined for a live one that gets new images. */
async function resolveTargets(s: RollingRun): Promise<Map<string, KubeObject | undefined>> {
  const { plan, namespace } = s;
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
    const live = await s.objects.get<KubeObject>(DEPLOYMENTS, namespace, name);
    if (!live) missing.push(name);
    else targets.set(name, undefined);
  }
  if (missing.length > 0) {
    const existing = await s.objects.list<KubeObject>(DEPLOYMENTS, namespace).catch(() => undefined);
    const names = existing?.items.map((d) => d.metadata.name) ?? [];
    throw new Error(
      `Input "deployment": ${missing.map((m) => `"${m}"`).join(', ')} not found in namespace ${namespace} and not in the manifests; Deployments there: ${names.join(', ') || 'none'}`,
    );
  }
  return targets;
}

/** Deployments from the manifests that an HPA scales keep their live replicas (see autoscalers.ts). */
async function keepAutoscaledReplicas(s: RollingRun, note: (text: string) => void): Promise<void> {
  const fromManifests = [...s.targets].filter(([, manifest]) => manifest).map(([name]) => name);
  if (fromManifests.length === 0) return;
  s.autoscaled = await findAutoscaled(s.objects, s.namespace, fromManifests, (m) => s.runner.warn(m));
  for (const [name, { hpa, replicas }] of s.autoscaled) {
    const manifest = (s.targets.get(name)?.spec as { replicas?: number } | undefined)?.replicas;
    note(
      `${name}: replicas stay at ${replicas}, set by HorizontalPodAutoscaler ${hpa}${manifest !== undefined && manifest !== replicas ? ` (the manifest says ${manifest})` : ''}`,
    );
  }
}

/**
 * Server-side dry run of every write: the API server validates each object against its schema,
 * admission and RBAC, so a bad manifest fails here with nothing changed.
 */
async function dryRunAll(s: RollingRun): Promise<{ diff: string; applied: AppliedObject[] }> {
  const problems: string[] = [];
  const diffs: string[] = [];
  const applied: AppliedObject[] = [];
  for (const { object, source } of s.plan.objects) {
    try {
      const result = await s.objects.apply<KubeObject>(forApply(s, object), { dryRun: true });
      const live = await s.objects.getLive(object);
      diffs.push(diffObjects(object, live, result));
      applied.push({ kind: object.kind, name: object.metadata.name, source, result: 'dry-run' });
    } catch (error) {
      problems.push(
        `Input "manifests": ${source}: ${object.kind} ${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  for (const [name, manifest] of s.targets) {
    if (manifest) continue;
    try {
      const patch = await imagePatch(s, name);
      const live = await s.objects.mustGet<KubeObject>(DEPLOYMENTS, s.namespace, name);
      const result = await s.objects.patch<KubeObject>(DEPLOYMENTS, s.namespace, name, patch, 'strategic', {
        dryRun: true,
      });
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
  return { diff: diffs.filter(Boolean).join('\n'), applied };
}
