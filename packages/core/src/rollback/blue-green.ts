/**
 * Rollback of a blue-green app: switch the router back to the previous colour in one write, at
 * once when that colour is still warm, else after scaling it up and waiting for it to be ready.
 * Everything comes from the record the cluster holds on the route object and the Deployments.
 *
 * Phases on the strategy engine: `prepare` (reads), `warm-up` and `rollout` (a cold colour is
 * scaled up and waited for; undo: scale it back), `switch` (undo: switch back to the colour that
 * was live), `verify` (the data plane serves the new colour, or the switch is undone), then
 * `autoscaler` (the HPA follows the traffic; a failure there is a warning: the goal was reached),
 * and with checks `checks` on the colour switched to, which stays whatever the verdict (verify.ts).
 */
import { findAutoscaled, HORIZONTAL_POD_AUTOSCALERS, retargetAutoscaler } from '../kube/autoscalers.js';
import { COLORS, isColor, otherColor, type Color } from '../strategies/blue-green/plan.js';
import { runDeploy } from '../engine/deploy.js';
import { errorText, PhaseFailed, type Phase, type Undo } from '../engine/phases.js';
import { DEPLOYMENTS, type KubeObjects } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import { missingConfigMaps } from '../manifests/config-files.js';
import {
  newRecord,
  openHistory,
  readRecord,
  type DeploymentRecord,
  type HistoryEntry,
} from '../record/record.js';
import {
  checksPassed,
  gateField,
  RollbackInputError,
  rollbackPhase,
  writeBooks,
  writeOrReadBack,
  type RollbackOptions,
  type RollbackOutcome,
} from './rollback.js';
import { gateRestored, restoredButUnverified, unverifiedMessage, keptBecause } from './verify.js';
import { currentRevision, imagesOf } from '../kube/revisions.js';
import { desiredReplicas, waitForRollout, type Deployment } from '../kube/rollout.js';
import {
  createRouter,
  describeWeights,
  soleTarget,
  type RouteKind,
  type RouteState,
  type TrafficRouter,
} from '../traffic/index.js';

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

interface BlueGreenPlan {
  route: NonNullable<DeploymentRecord['route']>;
  router: TrafficRouter;
  state: RouteState;
  live: Color;
  target: Color;
  names: Record<Color, string>;
  from: Deployment | undefined;
  to: Deployment;
  warm: boolean;
  history: HistoryEntry[];
}

function images(map: Record<string, string>): string {
  return Object.values(map).join(', ');
}

/** Every read a blue-green rollback needs: where traffic is, and the colour it goes back to. Changes nothing. */
async function planBlueGreen(
  objects: KubeObjects,
  o: RollbackOptions & { app: string },
): Promise<BlueGreenPlan> {
  const { namespace, app } = o;
  if (o.toRevision !== 'previous') {
    throw new RollbackInputError(
      'to-revision',
      `Input "to-revision" has value "${o.toRevision}": ${app} is deployed blue-green, where rollback switches to the previous colour; give "previous"`,
    );
  }
  const history = (await openHistory(objects, namespace, app)).entries;
  const found = await blueGreenRecord(objects, namespace, history);
  if (!found)
    throw new Error(
      `${app} has no blue-green record any more (the last history entry is not a blue-green deploy)`,
    );
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
      `${router.describe()} does not send all traffic to one colour (${state ? describeWeights(state.weights) : 'missing'}); nothing to switch back from`,
    );
  }
  const target = otherColor(live);
  const recorded = readRecord(state.object)?.deployments ?? found.deployments ?? {};
  const names = Object.fromEntries(COLORS.map((c) => [c, recorded[c] ?? `${app}-${c}`])) as Record<
    Color,
    string
  >;
  const [from, to] = await Promise.all([
    objects.get<Deployment>(DEPLOYMENTS, namespace, names[live]),
    objects.get<Deployment>(DEPLOYMENTS, namespace, names[target]),
  ]);
  if (!to) {
    throw new RollbackInputError(
      'app',
      `Input "app": ${app} has no previous colour to switch to: Deployment ${names[target]} (${target}) does not exist`,
    );
  }
  const toRecord = readRecord(to);
  if (toRecord?.phase === 'progressing') {
    throw new RollbackInputError(
      'app',
      `Input "app": the previous colour ${target} (${names[target]}) holds the version of a deploy that never wrote how it ended (run ${toRecord.runUrl}); it is no known-good version to switch to`,
    );
  }
  if (toRecord && toRecord.phase !== 'succeeded' && toRecord.stable?.color !== target) {
    throw new RollbackInputError(
      'app',
      `Input "app": the previous colour ${target} (${names[target]}) holds a version whose deploy ended ${toRecord.phase}; it is no known-good version to switch to`,
    );
  }
  const warm =
    (to.spec.replicas ?? 1) > 0 && (to.status?.readyReplicas ?? 0) >= desiredReplicas(to) && !to.spec.paused;
  // A cold colour starts new pods, which cannot start without their ConfigMap.
  const missing = warm ? [] : await missingConfigMaps(objects, namespace, to.spec.template.spec);
  if (missing.length > 0) {
    throw new RollbackInputError(
      'app',
      `Input "app": the previous colour ${target} (${names[target]}) is scaled down and refers to ConfigMap ${missing.join(', ')}, which no longer exists in namespace ${namespace}, so its pods could not start; deploy that version again instead. Nothing was changed`,
    );
  }
  return { route, router, state, live, target, names, from, to, warm, history };
}

/** Scales the warmed-up colour back to what it had; it was not serving, so there is nothing to wait for. */
function scaleBack(objects: KubeObjects, namespace: string, name: string, replicas: number): Undo {
  return {
    what: `scale ${name} back to ${replicas} replica(s)`,
    run: async ({ signal }) => {
      const now = await objects.get<Deployment>(DEPLOYMENTS, namespace, name, { signal });
      if (!now || (now.spec.replicas ?? 1) === replicas) return;
      await objects.patch(DEPLOYMENTS, namespace, name, { spec: { replicas } }, 'merge', { signal });
    },
  };
}

/** Reads the route and, unless it already does, sends all traffic back to the colour that was live. */
function switchBack(p: BlueGreenPlan): Undo {
  return {
    what: `switch ${p.router.describe()} back to ${p.live}`,
    run: async () => {
      const now = await p.router.getWeights();
      if (!now) throw new PhaseFailed(`${p.router.describe()} no longer exists`);
      if (soleTarget(now.weights) === p.live) return;
      await p.router.setWeights({ [p.live]: 100, [p.target]: 0 }, now.resourceVersion);
    },
  };
}

/** Points the HPA back at the colour it scaled before the rollback. */
function retargetBack(objects: KubeObjects, namespace: string, hpa: string, name: string): Undo {
  return {
    what: `point HorizontalPodAutoscaler ${hpa} back at ${name}`,
    run: async ({ signal }) => {
      const now = await objects.get<KubeObject & { spec?: { scaleTargetRef?: { name?: string } } }>(
        HORIZONTAL_POD_AUTOSCALERS,
        namespace,
        hpa,
        { signal },
      );
      if (!now || now.spec?.scaleTargetRef?.name === name) return;
      await objects.patch(
        HORIZONTAL_POD_AUTOSCALERS,
        namespace,
        hpa,
        { spec: { scaleTargetRef: { name } } },
        'merge',
        { signal },
      );
    },
  };
}

export async function rollbackBlueGreen(
  o: RollbackOptions & { app: string },
  objects: KubeObjects,
): Promise<RollbackOutcome> {
  const { namespace, app } = o;
  // Read and choose before the lock, so bad input fails before anything changes.
  let plan = await planBlueGreen(objects, o);
  const summaryOf = (
    p: BlueGreenPlan,
  ): Omit<RollbackOutcome, 'ok' | 'dryRun' | 'message' | 'timeline' | 'activeColor' | 'restored'> => ({
    app,
    deployment: p.names[p.target],
    fromRevision: p.from ? String(currentRevision(p.from)) : '',
    restoredRevision: String(currentRevision(p.to)),
    fromImages: p.from ? imagesOf(p.from.spec.template) : {},
    images: imagesOf(p.to.spec.template),
    revisions: [],
    history: p.history,
    fromColor: p.live,
    toColor: p.target,
  });
  if (o.dryRun) {
    const message = `Dry run: would switch ${plan.router.describe()} from ${plan.live} to ${plan.target} (${plan.names[plan.target]}, ${plan.warm ? 'warm' : 'scaled down: it would be scaled up first'})`;
    o.runner.info(message);
    return {
      ...summaryOf(plan),
      ok: true,
      dryRun: true,
      restored: false,
      message,
      timeline: [{ at: new Date().toISOString(), text: message }],
      activeColor: plan.target,
    };
  }

  const weights = (): Record<string, number> => ({ [plan.target]: 100, [plan.live]: 0 });
  let activeColor: Color | undefined;
  const phases: Phase[] = [
    {
      name: 'prepare',
      run: async (ctx) => {
        // Again under the lock: the choice is made on what the cluster holds now.
        plan = await planBlueGreen(objects, o);
        ctx.note(
          `switching ${app} back from ${plan.live} (${plan.names[plan.live]}) to ${plan.target} (${plan.names[plan.target]})${o.reason ? `: ${o.reason}` : ''}`,
        );
      },
    },
    {
      name: 'warm-up',
      run: async (ctx) => {
        const { to, warm, target } = plan;
        const name = plan.names[target];
        if (warm) {
          ctx.note(`${name} (${target}) is warm: switching at once`);
          return;
        }
        const replicas = Math.max(1, plan.from?.spec.replicas ?? 1);
        ctx.note(`${name} (${target}) is not warm: scaling it to ${replicas} replica(s) first`);
        ctx.undoWith(scaleBack(objects, namespace, name, to.spec.replicas ?? 1));
        await writeOrReadBack(
          ctx,
          `the scale-up of ${name}`,
          () =>
            objects.patch(DEPLOYMENTS, namespace, name, { spec: { replicas } }, 'merge', {
              signal: ctx.signal,
            }),
          async () =>
            (await objects.get<Deployment>(DEPLOYMENTS, namespace, name, { signal: ctx.signal }))?.spec
              .replicas === replicas,
        );
      },
    },
    {
      name: 'rollout',
      run: async (ctx) => {
        if (plan.warm) return;
        const name = plan.names[plan.target];
        const result = await waitForRollout({
          kube: o.kube,
          objects,
          namespace,
          name,
          previousHashes: new Set(),
          deadline: Date.now() + o.timeoutMs,
          signal: ctx.signal,
          onProgress: (text) => ctx.note(`${name}: ${text}`),
        });
        if (!result.ok) {
          throw new PhaseFailed(`${name} (${plan.target}) did not become ready: ${result.reason}`);
        }
      },
    },
    {
      name: 'switch',
      run: async (ctx) => {
        const { router, target } = plan;
        ctx.undoWith(switchBack(plan));
        await writeOrReadBack(
          ctx,
          `the switch of ${router.describe()} to ${target}`,
          () => router.setWeights(weights(), plan.state.resourceVersion),
          async () => soleTarget((await router.getWeights())?.weights ?? {}) === target,
        );
        ctx.note(`switched ${router.describe()} to ${target} in one write`);
      },
    },
    {
      name: 'verify',
      run: async (ctx) => {
        const { router, target } = plan;
        const started = Date.now();
        const verified = await router.verify(weights(), started + VERIFY_MS, ctx.signal);
        if (!verified.ok) {
          throw new PhaseFailed(
            `could not confirm that ${router.describe()} serves ${target}: ${verified.detail}`,
          );
        }
        ctx.note(`${router.describe()} serves ${target}: ${verified.detail} (${Date.now() - started} ms)`);
      },
    },
    {
      name: 'autoscaler',
      run: async (ctx) => {
        const fromName = plan.names[plan.live];
        const toName = plan.names[plan.target];
        const warn = (text: string): void => ctx.runner.warn(text);
        try {
          const autoscaled = (await findAutoscaled(objects, namespace, [fromName], warn)).get(fromName);
          if (!autoscaled) return;
          ctx.undoWith(retargetBack(objects, namespace, autoscaled.hpa, fromName));
          await retargetAutoscaler(
            objects,
            namespace,
            autoscaled,
            { from: fromName, to: toName },
            {
              note: (text) => ctx.note(text),
              warn,
            },
          );
        } catch (error) {
          // The traffic is switched and confirmed: the goal was reached, whatever the HPA says.
          if (ctx.signal.aborted) throw error;
          warn(
            `Could not point the HorizontalPodAutoscaler of ${fromName} at ${toName}: ${errorText(error)}; the rollback itself is done`,
          );
        }
      },
    },
  ];
  const gated = gateRestored(
    o,
    phases,
    () => `${plan.target}, ${plan.names[plan.target]}: ${images(imagesOf(plan.to.spec.template))}`,
  );

  const result = await runDeploy({
    objects,
    namespace,
    app,
    run: o.run,
    runner: o.runner,
    signal: o.signal,
    lockWaitMs: 0,
    github: {
      token: o.githubToken,
      environment: o.environment,
      description: `Rollback of ${app} from ${plan.live} to ${plan.target}`,
    },
    phases: gated.phases,
    // Until the colour switched to serves; then its checks' verdict changes nothing (verify.ts).
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
      const { router, live, target, to, names, route } = plan;
      const record: DeploymentRecord = Object.assign(
        newRecord({ strategy: 'blue-green', app, run: o.run }),
        gateField(gated),
      );
      const unverified = restoredButUnverified(gated, outcome);
      record.phase = rollbackPhase(outcome);
      record.route = route;
      record.deployments = names;
      const wanted = {
        color: target,
        images: imagesOf(to.spec.template),
        revision: String(currentRevision(to)),
      };
      if (outcome.ok) record.stable = wanted;
      // It serves, and no check vouches for it: the record claims no stable colour.
      else if (unverified) record.candidate = wanted;
      else {
        if (outcome.compensation === 'done') {
          record.stable = {
            color: live,
            images: plan.from ? imagesOf(plan.from.spec.template) : {},
            ...(plan.from ? { revision: String(currentRevision(plan.from)) } : {}),
          };
        }
        record.candidate = wanted;
      }
      record.message = `rollback from ${live} to ${target}${o.reason ? `: ${o.reason}` : ''}${outcome.ok ? '' : unverified ? `: ${target} serves and stays, but it did not verify: ${outcome.cause}` : ` failed in phase ${outcome.failedPhase ?? 'start'}: ${outcome.cause}`}`;
      await writeBooks(objects, { ref: router.ref, namespace, name: router.name }, record, app, {
        action: 'rollback',
        strategy: 'blue-green',
        outcome: outcome.ok ? 'succeeded' : record.phase,
        deployment: names[target],
        revision: wanted.revision,
        images: wanted.images,
        from: live,
        to: target,
        ...(o.reason ? { reason: o.reason } : {}),
        commit: o.run.sha,
        runUrl: record.runUrl,
        actor: o.run.actor,
        time: new Date().toISOString(),
        ...gateField(gated),
      });
    },
    whereTrafficIs: async () => {
      const { router, names } = plan;
      const now = await router.getWeights();
      if (!now) return `${router.describe()} does not exist`;
      const color = soleTarget(now.weights);
      if (!isColor(color)) return `${router.describe()} routes ${describeWeights(now.weights)}`;
      activeColor = color;
      const serving = await objects.get<Deployment>(DEPLOYMENTS, namespace, names[color]);
      return `${router.describe()} sends all traffic to ${color} (${names[color]}${serving ? `: ${images(imagesOf(serving.spec.template))}` : ', which does not exist'})`;
    },
    describeSuccess: () =>
      `Switched ${app} back from ${plan.live} to ${plan.target} (${plan.names[plan.target]}): ${images(imagesOf(plan.to.spec.template))} is serving${checksPassed(gated)}`,
    get what() {
      return `Rollback of ${app} from ${plan.live} to ${plan.target}`;
    },
  });
  const unverified = restoredButUnverified(gated, result);
  return {
    ...summaryOf(plan),
    ok: result.ok,
    dryRun: false,
    message: unverified
      ? unverifiedMessage(gated, result, {
          restored: `${plan.target} (${plan.names[plan.target]}: ${images(imagesOf(plan.to.spec.template))})`,
          from: `${plan.live} (${plan.names[plan.live]})`,
        })
      : result.message,
    ...(result.ok || unverified ? { toRevision: String(currentRevision(plan.to)) } : {}),
    restored: result.ok || unverified,
    timeline: result.timeline,
    traffic: result.traffic,
    ...(activeColor ? { activeColor } : {}),
    ...(gated.decision ? { gate: gated.decision } : {}),
  };
}
