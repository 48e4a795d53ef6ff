/** One step of the ramp: size the canary, write the weight, read it back, confirm it from the traffic and gate it, at once. */
import { runGate } from '../../gate/index.js';
import { createPrometheusClient } from '../../gate/prometheus-client.js';
import { DEPLOYMENTS } from '../../kube/objects.js';
import { type Deployment } from '../../kube/rollout.js';
import { errorText, PhaseFailed, type PhaseContext } from '../../engine/phases.js';
import { writeRecord, type CanaryState } from '../../record/record.js';
import { confirmSplit, trafficQuery } from '../../traffic/observe.js';
import {
  describeHeaderRoute,
  describeWeights,
  sameHeaderRoute,
  type RouteState,
} from '../../traffic/index.js';
import { confirmRouteHeld, guardRoute } from './route-guard.js';
import { CANARY, replicasFor, type Step } from './plan.js';
import { stepChecks } from './checks.js';
import { SPLIT_MS, VERIFY_MS, waitReady, type CanaryContext, type Shared, writeWeight } from './model.js';
import { fullStableReplicas, shrinkStable } from './stable-scale.js';

export async function runStep(c: CanaryContext, ctx: PhaseContext, s: Shared, step: Step): Promise<void> {
  delete s.split;
  if (step.weight === 100 && c.o.route === 'replicas') {
    c.note(
      '100% with a Service alone is the promotion itself: the stable takes the new version while the canary serves',
    );
    return;
  }
  const { routed, writtenAt } = await route(c, ctx, s, step);
  const header = routed.header !== undefined;
  const entry: CanaryState['history'][number] = {
    weight: step.weight,
    // From the weight's write: the canary's requests while the data plane took it count as evidence.
    at: writtenAt.toISOString(),
    runId: c.o.run.runId,
  };
  s.state.history.push(entry);
  // The split is confirmed while the gate already judges: a bad canary is caught as early as the
  // checks allow, and whichever fails first stops the other. A promote asked by another run ends
  // the judging too (the weight written above stays, for the promotion to take over).
  const stop = new AbortController();
  const both = { ...ctx, signal: AbortSignal.any([ctx.signal, stop.signal, ctx.promoteRequested]) };
  const first = (work: Promise<void>): Promise<void> =>
    work.catch((error: unknown) => {
      stop.abort(error);
      throw error;
    });
  // The route is guarded for as long as the step is judged (mesh routers: the replicas router's
  // "route" is the pod counts, which scaling legitimately moves).
  const judged = new AbortController();
  let judging = 2;
  const judge = (work: Promise<void>): Promise<void> =>
    first(work).finally(() => {
      if (--judging === 0) judged.abort();
    });
  const guard =
    c.o.route === 'replicas'
      ? []
      : [
          first(
            guardRoute(c, routed, c.o.checkIntervalMs, AbortSignal.any([both.signal, judged.signal])).catch(
              (error: unknown) => {
                if (!judged.signal.aborted) throw error;
              },
            ),
          ),
        ];
  const judgement = Promise.all([
    // The split may take as long as the step: a quiet service needs the whole pause for enough requests.
    judge(
      confirmTraffic(
        c,
        {
          signal: both.signal,
          deadline: Date.now() + Math.max(SPLIT_MS, step.pauseMs ?? c.o.stepDurationMs),
        },
        s,
        s.weight,
        header,
      ),
    ).then(() => {
      if (s.split !== undefined) entry.observed = s.split;
    }),
    judge(gateStep(c, both, s, step, entry)),
    ...guard,
  ]);
  const cutShort = await judgement.then(
    () => false,
    (error: unknown) => {
      // A cancel, a lost lock or an abort asked wins over a promote asked.
      if (ctx.signal.aborted || !ctx.promoteRequested.aborted) throw error;
      return true;
    },
  );
  if (cutShort) c.note(`${step.weight}%: judging cut short: ${errorText(ctx.promoteRequested.reason)}`);
  else if (c.o.route !== 'replicas') await confirmRouteHeld(c, routed);
  s.record.weight = s.weight;
  await writeRecord(c.objects, DEPLOYMENTS, c.o.namespace, c.names.deployment, s.record);
}

/**
 * The canary sized for the weight (mesh routers), the weight and the header route written in one
 * write unless the route already holds them (a resumed step), then read back; with
 * dynamic-stable-scale, only then the stable shrunk to its share. Answers the route as written,
 * which the step then guards, and when the weight was written (or found already written).
 */
async function route(
  c: CanaryContext,
  ctx: PhaseContext,
  s: Shared,
  step: Step,
): Promise<{ routed: RouteState; writtenAt: Date }> {
  const replicasRouter = c.o.route === 'replicas';
  // The stable's full size: a later job of a canary with dynamic-stable-scale finds it shrunk.
  const stableReplicas = fullStableReplicas(s);
  if (!replicasRouter) {
    const replicas = replicasFor(step.weight, stableReplicas);
    const live = await c.objects.mustGet<Deployment>(DEPLOYMENTS, c.o.namespace, c.names.deployment);
    if ((live.spec.replicas ?? 1) < replicas) {
      ctx.wrote();
      // Setting a count, not adding to it: safe to repeat after a lost answer.
      await c.objects.patch(DEPLOYMENTS, c.o.namespace, c.names.deployment, { spec: { replicas } }, 'merge', {
        idempotent: true,
      });
      c.note(
        `${c.names.deployment} scaled to ${replicas} for ${step.weight}% of ${stableReplicas} stable replicas`,
      );
      await waitReady(c, ctx, c.names.deployment, new Set());
    }
  }
  const current = await c.router.getWeights();
  if (!current) throw new PhaseFailed(`${c.router.describe()} is gone`);
  // The replicas router cannot route by header; the others get the header route (or lose it).
  const header = replicasRouter ? undefined : (c.o.headerRoute ?? null);
  let routed = current;
  let writtenAt = new Date();
  if (
    (current.weights[CANARY] ?? 0) !== step.weight ||
    !sameHeaderRoute(current.header, header ?? undefined)
  ) {
    ctx.wrote();
    writtenAt = new Date();
    routed = await writeWeight(c, step.weight, current.resourceVersion, header, stableReplicas);
    c.note(
      `${c.router.describe()}: ${describeWeights(routed.weights)}${routed.header ? `, header route ${describeHeaderRoute(routed.header)}` : ''} in one write`,
    );
  }
  s.weight = routed.weights[CANARY] ?? 0;
  if (routed.header) s.header = routed.header;
  s.routeVersion = routed.resourceVersion;
  if (replicasRouter && s.weight !== step.weight)
    c.note(`${step.weight}% asked; the replica counts give ${s.weight}% (a Service alone splits by pods)`);
  const verified = await c.router.verify(routed.weights, Date.now() + VERIFY_MS, ctx.signal);
  ctx.signal.throwIfAborted();
  if (!verified.ok) throw new PhaseFailed(`${step.weight}% is not what the route holds: ${verified.detail}`);
  // The traffic has moved off the stable (read back, the data plane allowed its push): now it may shrink.
  if (c.o.dynamicStableScale) await shrinkStable(c, ctx, s, s.weight);
  return { routed, writtenAt };
}

/** The traffic itself must show the weight: a router that did not do what was written fails here. */
export async function confirmTraffic(
  c: CanaryContext,
  wait: { signal: AbortSignal; deadline?: number },
  s: Shared,
  weight: number,
  header: boolean,
): Promise<void> {
  const p = c.o.prometheus;
  if (!p || !c.o.verifySplit) return;
  const services = c.separate ? [c.o.service, c.names.service] : [c.o.service];
  const observed = await confirmSplit({
    client: createPrometheusClient(p.url, p.access),
    query: trafficQuery(p.metric, c.o.versionLabel, c.o.namespace, services),
    versionLabel: c.o.versionLabel,
    version: CANARY,
    weight,
    tolerance: c.o.splitTolerance,
    atLeast: header && weight < 100,
    ignore: ['none'],
    deadline: wait.deadline ?? Date.now() + SPLIT_MS,
    signal: wait.signal,
  });
  wait.signal.throwIfAborted();
  s.observedSplit = observed.detail;
  if (observed.share !== undefined) s.split = Math.round(observed.share * 10) / 10;
  if (!observed.ok)
    throw new PhaseFailed(`the traffic does not show ${weight}% on the canary: ${observed.detail}`);
  c.note(`observed split: ${observed.detail}`);
}

export async function gateStep(
  c: CanaryContext,
  ctx: PhaseContext,
  s: Shared,
  step: Step,
  entry: CanaryState['history'][number],
): Promise<void> {
  // The canary began taking traffic at its first step: what came before under its labels was another canary.
  const began = s.state.history[0]?.at;
  const checks = stepChecks(c, step, began ? Date.parse(began) : undefined);
  const durationMs = step.pauseMs ?? c.o.stepDurationMs;
  c.note(`${step.weight}%: checks ${checks.map((c) => c.name).join(', ')} for ${durationMs / 1000}s`);
  const decision = await runGate({
    checks,
    durationMs,
    intervalMs: Math.min(c.o.checkIntervalMs, durationMs),
    namespace: c.o.namespace,
    kube: c.o.kube,
    signal: ctx.signal,
    log: (text) => c.o.runner.info(`${step.weight}%: ${text}`),
    ...(c.o.prometheus ? { prometheusUrl: c.o.prometheus.url } : {}),
    ...(c.o.prometheus?.access ? { prometheus: c.o.prometheus.access } : {}),
  });
  c.gates.push({ name: `${step.weight}%`, decision });
  c.note(`${step.weight}%: ${decision.verdict}: ${decision.reason}`);
  // A gate that a promote request cut short decided nothing: the step keeps no verdict.
  if (ctx.promoteRequested.aborted) ctx.signal.throwIfAborted();
  s.verdict = decision.verdict;
  entry.verdict = decision.verdict;
  ctx.signal.throwIfAborted();
  if (!decision.passed)
    throw new PhaseFailed(
      `the canary failed its checks at ${step.weight}% (${decision.verdict}): ${decision.reason}`,
    );
}
