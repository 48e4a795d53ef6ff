/** Record and history, and where traffic is, in words. */
import { DEPLOYMENTS } from '../../kube/objects.js';
import { type EngineOutcome } from '../../engine/phases.js';
import { appendHistory, writeRecord } from '../../record/record.js';
import { describeHeaderRoute, describeWeights } from '../../traffic/index.js';
import { CANARY } from './plan.js';

import { type CanaryContext, type Shared, versionText } from './model.js';
/** Record and history: the canary's record stays on it until promotion, then the stable holds it. */
export async function keepBooks(c: CanaryContext, s: Shared, outcome: EngineOutcome): Promise<void> {
  const { namespace, app } = c.o;
  s.record.weight = s.weight;
  if (s.promoted) {
    s.record.phase = 'succeeded';
    s.record.stable = {
      images: s.canaryImages,
      ...(s.promotedRevision ? { revision: s.promotedRevision } : {}),
      ...(s.promotedHash ? { templateHash: s.promotedHash } : {}),
    };
    delete s.record.candidate;
    await writeRecord(c.objects, DEPLOYMENTS, namespace, app, s.record);
    // A canary Deployment that could not be removed must not read as a canary still in progress.
    if (await c.objects.get(DEPLOYMENTS, namespace, c.names.deployment))
      await writeRecord(c.objects, DEPLOYMENTS, namespace, c.names.deployment, s.record);
  } else {
    if (!outcome.ok) {
      s.record.phase = s.aborted ? 'rolled-back' : outcome.reason === 'cancelled' ? 'cancelled' : 'failed';
      s.record.message = outcome.cause;
    } else if (s.aborted) s.record.phase = 'rolled-back';
    if (await c.objects.get(DEPLOYMENTS, namespace, c.names.deployment))
      await writeRecord(c.objects, DEPLOYMENTS, namespace, c.names.deployment, s.record);
    if (outcome.ok && !s.aborted) return; // paused: the canary goes on in a later job
  }
  await appendHistory(c.objects, namespace, app, {
    action: 'deploy',
    strategy: 'canary',
    outcome: s.record.phase,
    deployment: app,
    ...(s.promotedRevision ? { revision: s.promotedRevision } : {}),
    ...(s.promotedHash ? { templateHash: s.promotedHash } : {}),
    images: s.canaryImages,
    from: versionText(s.stableImages),
    to: versionText(s.canaryImages),
    ...(outcome.cause ? { reason: outcome.cause } : {}),
    commit: c.o.run.sha,
    runUrl: s.record.runUrl,
    actor: c.o.run.actor,
    time: new Date().toISOString(),
  });
}

export async function whereTrafficIs(c: CanaryContext, s: Shared): Promise<string> {
  const state = await c.router.getWeights();
  if (!state) return `${c.router.describe()} does not exist`;
  s.weight = state.weights[CANARY] ?? 0;
  const stable = versionText(s.promoted ? s.canaryImages : s.stableImages);
  const split =
    s.weight === 0
      ? `${c.o.app} (stable, ${stable}) serves all traffic through ${c.router.describe()}`
      : `${describeWeights(state.weights)} through ${c.router.describe()} (stable ${stable}, canary ${versionText(s.canaryImages)})`;
  return `${split}${state.header ? `; header route ${describeHeaderRoute(state.header)}` : ''}`;
}

export function describeSuccess(c: CanaryContext, s: Shared): string {
  if (c.o.action === 'abort') return `Canary of ${c.o.app} aborted`;
  if (s.promoted) return `${c.o.app}: promoted ${versionText(s.canaryImages)}; the stable serves all traffic`;
  return `${c.o.app}: the canary ${versionText(s.canaryImages)} serves ${s.weight}% and passed its checks; paused`;
}
