/**
 * While a step is judged, the route must keep holding what the step wrote. A GitOps tool
 * re-applying the VirtualService from Git, or a person editing it, would otherwise have the gate
 * judge a split that is no longer there, and pass a step the canary never served. The split
 * confirmation sees only the first window after the write; this guard covers the rest of the step.
 */
import { PhaseFailed, errorText } from '../../engine/phases.js';
import { sleep } from '../../net/retry.js';
import {
  describeHeaderRoute,
  describeWeights,
  sameHeaderRoute,
  sameWeights,
  type RouteState,
} from '../../traffic/index.js';

import { type CanaryContext } from './model.js';

/** What differs between the route as the step wrote it and as it is now, in words; undefined when nothing does. */
export function routeDrift(
  c: CanaryContext,
  written: RouteState,
  now: RouteState | undefined,
): string | undefined {
  if (!now) return `${c.router.describe()} was deleted during the step`;
  if (sameWeights(now.weights, written.weights) && sameHeaderRoute(now.header, written.header))
    return undefined;
  // The header route is named only where one of the two has it.
  const headers = Boolean(now.header ?? written.header);
  const said = (r: RouteState): string =>
    `${describeWeights(r.weights)}${!headers ? '' : r.header ? `, header route ${describeHeaderRoute(r.header)}` : ', no header route'}`;
  return (
    `${c.router.describe()} was changed by another writer during the step: it holds ${said(now)}, not ${said(written)}. ` +
    'A GitOps tool re-applying it? Leave its weights to cd-actions while a canary runs (Argo CD: ignoreDifferences on them; Flux: a field the kustomization does not set)'
  );
}

/**
 * Reads the route every `intervalMs` until `signal` aborts; rejects with PhaseFailed as soon as
 * it differs from `written`. A read that fails is noted once and tried again at the next
 * interval: the step's final read (`confirmRouteHeld`) is the one that must succeed.
 */
export async function guardRoute(
  c: CanaryContext,
  written: RouteState,
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  let noted = false;
  for (;;) {
    await sleep(intervalMs, signal);
    let now: RouteState | undefined;
    try {
      now = await c.router.getWeights();
    } catch (error) {
      if (!noted)
        c.note(
          `${c.router.describe()} could not be read during the step (${errorText(error)}); read again at the step's end`,
        );
      noted = true;
      continue;
    }
    const drift = routeDrift(c, written, now);
    if (drift) throw new PhaseFailed(drift);
  }
}

/** The step's last word on the route: it still holds what the step wrote, or the step fails. */
export async function confirmRouteHeld(c: CanaryContext, written: RouteState): Promise<void> {
  const drift = routeDrift(c, written, await c.router.getWeights());
  if (drift) throw new PhaseFailed(drift);
}
