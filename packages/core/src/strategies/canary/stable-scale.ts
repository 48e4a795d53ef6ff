/**
 * dynamic-stable-scale (Argo Rollouts' `dynamicStableScale`): with a mesh router the stable need
 * not keep its full size while the canary takes a share, so each step shrinks it to the share it
 * still serves, once the traffic has moved off it. The price is paid on abort: the stable scales
 * back to its full size first, and the canary's weight comes down only as fast as the stable's
 * pods become ready, so the stable is never sent more than its ready pods can take.
 */
import { findAutoscaled } from '../../kube/autoscalers.js';
import { DEPLOYMENTS, type KubeObjects } from '../../kube/objects.js';
import { type Deployment } from '../../kube/rollout.js';
import { type PhaseContext, type Undo, type UndoContext } from '../../engine/phases.js';
import { sleep } from '../../net/retry.js';
import { type RouteState } from '../../traffic/index.js';
import { CANARY } from './plan.js';
import { VERIFY_MS, writeWeight, type CanaryContext, type CanaryOptions, type Shared } from './model.js';

/** How often an abort looks at the stable's ready pods while it steps the weight down. */
const READY_POLL_MS = 500;

/** The stable's replicas for a canary weight: its full size's share of the rest, at least one pod. */
export function stableShare(full: number, weight: number): number {
  return Math.max(1, Math.ceil((full * (100 - weight)) / 100));
}

/** The canary weight an abort may leave while the stable has `ready` of its `full` pods ready. */
export function abortWeight(ready: number, full: number): number {
  if (full <= 0) return 0;
  return Math.max(0, 100 - Math.floor((100 * ready) / full));
}

/** "canary 50% → 25% → 0%": the weights an abort held, first to last, repeats dropped. */
export function describeStepDown(weights: number[]): string {
  const distinct = weights.filter((w, i) => i === 0 || w !== weights[i - 1]);
  return `canary ${distinct.map((w) => `${w}%`).join(' → ')}`;
}

/** The stable's size when the canary started, as the record keeps it for later jobs. */
export function fullStableReplicas(s: Shared): number {
  return s.state.stableReplicas ?? s.live.stable?.spec.replicas ?? 1;
}

/**
 * Before anything is written: an HPA on the stable would fight the scaling (it scales by load, we
 * by weight), and one that cannot be seen might. Both refuse the run.
 */
export async function refuseAutoscaledStable(o: CanaryOptions, objects: KubeObjects): Promise<void> {
  if (!o.dynamicStableScale) return;
  let forbidden: string | undefined;
  const autoscaled = await findAutoscaled(objects, o.namespace, [o.app], (message) => {
    forbidden = message;
  });
  const hpa = autoscaled.get(o.app)?.hpa;
  if (hpa)
    throw new Error(
      `Input "dynamic-stable-scale" is true, but HorizontalPodAutoscaler ${hpa} scales ${o.namespace}/${o.app}: it would fight the stable's scaling with the weight. Accepted: dynamic-stable-scale true only for a stable no HorizontalPodAutoscaler scales; leave it false for this app (a canary already scaling its stable: action abort brings it back to full size); nothing was changed`,
    );
  if (forbidden)
    throw new Error(
      `Input "dynamic-stable-scale" is true, but whether a HorizontalPodAutoscaler scales ${o.namespace}/${o.app} cannot be seen: listing horizontalpodautoscalers.autoscaling is forbidden. Grant list on them, or leave dynamic-stable-scale false; nothing was changed`,
    );
}

/**
 * After the weight was written and read back (the traffic has moved off the stable): the stable
 * down to its share. The undo, registered first, scales it back to full size.
 */
export async function shrinkStable(
  c: CanaryContext,
  ctx: PhaseContext,
  s: Shared,
  weight: number,
): Promise<void> {
  const full = fullStableReplicas(s);
  const share = stableShare(full, weight);
  const stable = await c.objects.mustGet<Deployment>(DEPLOYMENTS, c.o.namespace, c.o.app, {
    signal: ctx.signal,
  });
  const text = `stable scaled to ${share} of ${full} for ${weight}%`;
  s.stableScale = text;
  // Never up during the ramp: a resumed step finds the stable already at its share.
  if ((stable.spec.replicas ?? 1) <= share) return;
  ctx.undoOnce(`${c.o.app}/replicas`, restoreStableUndo(c, full));
  ctx.wrote();
  // Setting a count, not taking from it: safe to repeat after a lost answer.
  await c.objects.patch(DEPLOYMENTS, c.o.namespace, c.o.app, { spec: { replicas: share } }, 'merge', {
    idempotent: true,
    signal: ctx.signal,
  });
  c.note(`${c.o.app}: ${text}`);
}

/** Puts the stable back to its full size (without waiting: the abort steps the traffic as its pods come). */
export function restoreStableUndo(c: CanaryContext, full: number): Undo {
  return {
    what: `scale ${c.o.app} (stable) back to its ${full} replicas`,
    run: async ({ signal, note }) => {
      await restoreStable(c, full, signal, note);
    },
  };
}

/** Reads, then scales the stable up to `full` only if it has fewer: right whether or not the shrink happened. */
async function restoreStable(
  c: CanaryContext,
  full: number,
  signal: AbortSignal,
  note: (text: string) => void,
): Promise<void> {
  const stable = await c.objects.mustGet<Deployment>(DEPLOYMENTS, c.o.namespace, c.o.app, { signal });
  const replicas = stable.spec.replicas ?? 1;
  if (replicas >= full) return;
  await c.objects.patch(DEPLOYMENTS, c.o.namespace, c.o.app, { spec: { replicas: full } }, 'merge', {
    idempotent: true,
    signal,
  });
  note(`${c.o.app} (stable) scaled back from ${replicas} to ${full} replicas`);
}

async function readyReplicas(c: CanaryContext, signal: AbortSignal): Promise<number> {
  const stable = await c.objects.mustGet<Deployment>(DEPLOYMENTS, c.o.namespace, c.o.app, { signal });
  return stable.status?.readyReplicas ?? 0;
}

/**
 * The abort of a canary whose stable was scaled down: the stable back to full size first; the
 * header route goes at the first write; then the canary's weight comes down to what the stable's
 * ready pods can take, written whenever that is lower than what the route holds, until 0. Stable
 * already full and ready: one write, as without the option. Near the deadline, whatever the
 * stable has ready, the rest goes in one write: the canary is what failed, the stable is known good.
 */
export async function stepTrafficBack(
  c: CanaryContext,
  s: Shared,
  current: RouteState,
  u: UndoContext,
): Promise<void> {
  const full = fullStableReplicas(s);
  await restoreStable(c, full, u.signal, u.note);
  // Time kept after the last write for the read-back, the traffic check and the canary's scale-down.
  const waitUntil = u.deadline - Math.min(VERIFY_MS, Math.max(0, u.deadline - Date.now()) / 2);
  let route = current;
  const held = [current.weights[CANARY] ?? 0];
  const hadHeader = current.header !== undefined;
  let ready = 0;
  let late = false;
  let writes = 0;
  for (;;) {
    const weight = route.weights[CANARY] ?? 0;
    if (weight === 0 && !route.header) break;
    ready = await readyReplicas(c, u.signal);
    late = Date.now() >= waitUntil;
    const target = late ? 0 : Math.min(weight, abortWeight(ready, full));
    c.o.runner.debug(`abort: ${c.o.app} has ${ready} of ${full} pods ready; the canary may keep ${target}%`);
    if (target < weight || route.header) {
      route = await writeWeight(c, target, route.resourceVersion, null, full);
      writes += 1;
      s.weight = route.weights[CANARY] ?? 0;
      delete s.header;
      held.push(s.weight);
      continue;
    }
    await sleep(Math.max(0, Math.min(READY_POLL_MS, waitUntil - Date.now())), u.signal);
  }
  if (writes === 0) return;
  const how =
    writes === 1 && !late
      ? `all traffic back on ${c.o.app}${hadHeader ? ', header route removed' : ''} in one write`
      : `${describeStepDown(held)} as ${c.o.app} became ready${hadHeader ? ' (header route removed at the first write)' : ''}`;
  const forced = late
    ? `; ${c.o.app} had ${ready} of ${full} pods ready at the deadline, and took the rest anyway: the canary is what failed`
    : '';
  s.stableScale = `abort: ${how}; ${c.o.app} back at ${full} replicas${forced}`;
  u.note(`${c.router.describe()}: abort: ${how}${forced}`);
}
