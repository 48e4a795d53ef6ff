/**
 * Rollback of a blue-green app: switch the router back to the previous colour in one write, at
 * once when that colour is still warm, else after scaling it up and waiting for it to be ready.
 * Everything comes from the record the cluster holds on the route object and the Deployments.
 */
import { findAutoscaled, retargetAutoscaler } from './autoscalers.js';
import { COLORS, isColor, otherColor } from './blue-green-plan.js';
import type { Kube } from './kube.js';
import { DEPLOYMENTS, type KubeObjects } from './kube-objects.js';
import { underAppLock } from './lock.js';
import {
  appendHistory,
  newRecord,
  readRecord,
  writeRecord,
  type DeploymentRecord,
  type HistoryEntry,
} from './record.js';
import { RollbackInputError, type RollbackOptions, type RollbackOutcome } from './rollback.js';
import { currentRevision, imagesOf } from './revisions.js';
import { desiredReplicas, waitForRollout, type Deployment } from './rollout.js';
import { createRouter, soleTarget, type RouteKind } from './traffic/index.js';

const VERIFY_MS = 15_000;

/** The blue-green record of an app, from the Deployment its last history entry names. */
export async function blueGreenRecord(
  objects: KubeObjects,
  namespace: string,
  history: HistoryEntry[],
): Promise<DeploymentRecord | undefined> {
  const last = history.at(-1);
  if (last?.strategy !== 'blue-green') return undefined;
  const deployment = await objects.get<Deployment>(DEPLOYMENTS, namespace, last.deployment);
  const record = readRecord(deployment);
  return record?.strategy === 'blue-green' && record.route ? record : undefined;
}

export async function rollbackBlueGreen(
  o: RollbackOptions & { objects: KubeObjects; kube: Kube; app: string },
  found: DeploymentRecord,
  history: HistoryEntry[],
): Promise<RollbackOutcome> {
  const { objects, namespace, app } = { ...o, namespace: o.namespace };
  const timeline: RollbackOutcome['timeline'] = [];
  const note = (text: string): void => {
    timeline.push({ at: new Date().toISOString(), text });
    o.log(text);
  };
  if (o.toRevision !== 'previous') {
    throw new RollbackInputError(
      'to-revision',
      `Input "to-revision" has value "${o.toRevision}": ${app} is deployed blue-green, where rollback switches to the previous colour; give "previous"`,
    );
  }
  const route = found.route!;
  const router = createRouter(
    route.kind as RouteKind,
    { objects, namespace, service: route.service, routeName: route.name, colorLabel: route.colorLabel },
    o.kube,
  );
  const state = await router.getWeights();
  const live = state ? soleTarget(state.weights) : undefined;
  if (!state || !isColor(live)) {
    throw new Error(
      `${router.describe()} does not send all traffic to one colour (${state ? JSON.stringify(state.weights) : 'missing'}); nothing to switch back from`,
    );
  }
  const target = otherColor(live);
  const names = { ...(readRecord(state.object)?.deployments ?? found.deployments) };
  const fromName = names[live] ?? `${app}-${live}`;
  const toName = names[target] ?? `${app}-${target}`;
  const [from, to] = await Promise.all([
    objects.get<Deployment>(DEPLOYMENTS, namespace, fromName),
    objects.get<Deployment>(DEPLOYMENTS, namespace, toName),
  ]);
  if (!to) {
    throw new RollbackInputError(
      'app',
      `Input "app": ${app} has no previous colour to switch to: Deployment ${toName} (${target}) does not exist`,
    );
  }
  const toRecord = readRecord(to);
  if (toRecord && toRecord.phase !== 'succeeded' && toRecord.stable?.color !== target) {
    throw new RollbackInputError(
      'app',
      `Input "app": the previous colour ${target} (${toName}) holds a version whose deploy ended ${toRecord.phase}; it is no known-good version to switch to`,
    );
  }
  const base = {
    app,
    deployment: toName,
    fromRevision: from ? String(currentRevision(from)) : '',
    restoredRevision: String(currentRevision(to)),
    fromImages: from ? imagesOf(from.spec.template) : {},
    images: imagesOf(to.spec.template),
    revisions: [],
    history,
    timeline,
    fromColor: live,
    toColor: target,
  };
  const warm =
    (to.spec.replicas ?? 1) > 0 && (to.status?.readyReplicas ?? 0) >= desiredReplicas(to) && !to.spec.paused;
  if (o.dryRun) {
    const message = `Dry run: would switch ${router.describe()} from ${live} to ${target} (${toName}, ${warm ? 'warm' : 'scaled down: it would be scaled up first'})`;
    note(message);
    return { ...base, ok: true, dryRun: true, message };
  }
  return underAppLock({ objects, namespace, app, run: o.run, signal: o.signal, log: o.log }, async () => {
    if (!warm) {
      const replicas = Math.max(1, from?.spec.replicas ?? 1);
      note(`${toName} (${target}) is not warm: scaling it to ${replicas} replica(s) first`);
      await objects.patch(DEPLOYMENTS, namespace, toName, { spec: { replicas } }, 'merge');
      const result = await waitForRollout({
        kube: o.kube,
        objects,
        namespace,
        name: toName,
        previousHashes: new Set(),
        deadline: Date.now() + o.timeoutMs,
        signal: o.signal,
        onProgress: (text) => note(`${toName}: ${text}`),
      });
      if (!result.ok) {
        const message = `Rollback of ${app} failed before the switch: ${toName} did not become ready: ${result.reason}; ${live} still serves`;
        note(message);
        return { ...base, ok: false, dryRun: false, message };
      }
    } else note(`${toName} (${target}) is warm: switching at once`);
    const started = Date.now();
    await router.setWeights({ [target]: 100, [live]: 0 }, state.resourceVersion);
    const verified = await router.verify({ [target]: 100, [live]: 0 }, Date.now() + VERIFY_MS, o.signal);
    note(
      `switched ${router.describe()} to ${target} in one write: ${verified.detail} (${Date.now() - started} ms)`,
    );
    if (verified.ok) {
      const warn = o.warn ?? o.log;
      const autoscaled = (await findAutoscaled(objects, namespace, [fromName], warn)).get(fromName);
      await retargetAutoscaler(
        objects,
        namespace,
        autoscaled,
        { from: fromName, to: toName },
        { note, warn },
      );
    }
    const record = newRecord({ strategy: 'blue-green', app, run: o.run });
    record.phase = verified.ok ? 'rolled-back' : 'failed';
    record.route = route;
    record.deployments = Object.fromEntries(COLORS.map((c) => [c, names[c] ?? `${app}-${c}`]));
    record.stable = { color: target, images: base.images, revision: base.restoredRevision };
    record.message = `rollback from ${live} to ${target}${o.reason ? `: ${o.reason}` : ''}`;
    await writeRecord(objects, router.ref, namespace, router.name, record);
    await appendHistory(objects, namespace, app, {
      action: 'rollback',
      strategy: 'blue-green',
      outcome: verified.ok ? 'succeeded' : 'failed',
      deployment: toName,
      revision: base.restoredRevision,
      images: base.images,
      from: live,
      to: target,
      ...(o.reason ? { reason: o.reason } : {}),
      commit: o.run.sha,
      runUrl: record.runUrl,
      actor: o.run.actor,
      time: new Date().toISOString(),
    });
    const message = verified.ok
      ? `Switched ${app} back from ${live} to ${target} (${toName}): ${Object.values(base.images).join(', ')} is serving`
      : `Switched ${router.describe()} to ${target} but could not confirm it: ${verified.detail}`;
    note(message);
    return { ...base, ok: verified.ok, dryRun: false, message, toRevision: base.restoredRevision };
  });
}
