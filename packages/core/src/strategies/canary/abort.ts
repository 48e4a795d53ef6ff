/**
 * Abort: all traffic on stable and no header route, in one write per routing object (stepped down
 * as the stable's pods come back, for a stable scaled with the weight); then the canary scales to zero.
 */
import { DEPLOYMENTS } from '../../kube/objects.js';
import { type Deployment } from '../../kube/rollout.js';
import { type Phase, type Undo } from '../../engine/phases.js';
import { sleep } from '../../net/retry.js';
import { CANARY, STABLE } from './plan.js';
import { confirmTraffic } from './step.js';
import { errorText } from '../../engine/phases.js';
import { stepTrafficBack } from './stable-scale.js';

import { SPLIT_MS, VERIFY_MS, type CanaryContext, type Shared, writeWeight } from './model.js';
/** `action: abort`: the same put-back a failure runs, as the one phase. */
export function abortPhase(c: CanaryContext, s: Shared): Phase {
  return {
    name: 'abort',
    run: async (ctx) => {
      ctx.wrote();
      await abortUndo(c, s).run({
        signal: ctx.signal,
        deadline: Date.now() + c.o.timeoutMs,
        note: (t) => c.note(t),
      });
    },
  };
}

/**
 * All traffic back on stable and the header route gone, in one write per routing object (with
 * dynamic-stable-scale: the stable back to full size, the weight stepped down as its pods become
 * ready); then, after a delay for requests in flight, the canary scaled to zero. Reads first, so
 * it is right whether or not any weight had been written.
 */
export function abortUndo(c: CanaryContext, s: Shared): Undo {
  return {
    what: `send all traffic back to ${c.o.app} (stable)${c.o.dynamicStableScale ? ' as it scales back to full size' : ''} and remove the header route`,
    run: async ({ signal, deadline, note }) => {
      const current = await c.router.getWeights();
      if (!current) throw new Error(`${c.router.describe()} is gone`);
      const back = { [STABLE]: 100, [CANARY]: 0 };
      if (s.promoted) return;
      if (c.o.dynamicStableScale) await stepTrafficBack(c, s, current, { signal, deadline, note });
      else if ((current.weights[CANARY] ?? 0) > 0 || current.header) {
        const routed = await writeWeight(
          c,
          0,
          current.resourceVersion,
          c.o.route === 'replicas' ? undefined : null,
          s.live.stable?.spec.replicas ?? 1,
        );
        s.weight = routed.weights[CANARY] ?? 0;
        delete s.header;
        note(
          `${c.router.describe()}: all traffic back on ${c.o.app}${current.header ? ', header route removed' : ''} in one write`,
        );
      }
      const verified = await c.router.verify(back, Math.min(deadline, Date.now() + VERIFY_MS), signal);
      if (!verified.ok) throw new Error(`the abort is not confirmed: ${verified.detail}`);
      s.weight = 0;
      s.aborted = true;
      s.state.state = 'aborted';
      await observeStable(c, s, deadline, signal, note);
      const canary = await c.objects.get<Deployment>(DEPLOYMENTS, c.o.namespace, c.names.deployment, {
        signal,
      });
      if (canary && (canary.spec.replicas ?? 1) > 0) await scaleDown(c, deadline, signal, note);
      await c.router.release?.(CANARY, signal);
    },
  };
}

/**
 * The read-back confirms the abort; the traffic is extra evidence, so a Prometheus that cannot
 * tell (it may be why we are here) is noted, never fatal, and never waited on past the deadline.
 */
async function observeStable(
  c: CanaryContext,
  s: Shared,
  deadline: number,
  signal: AbortSignal,
  note: (text: string) => void,
): Promise<void> {
  if (!c.o.prometheus || !c.o.verifySplit) return;
  const ctx = { signal, deadline: Math.min(deadline - 2000, Date.now() + SPLIT_MS) };
  await confirmTraffic(c, ctx, s, 0, false).then(
    () => undefined,
    (error: unknown) => note(`traffic not confirmed on stable: ${errorText(error)}`),
  );
}

/** After a delay for requests in flight (shortened to fit a cancel's grace), the canary goes to zero pods. */
async function scaleDown(
  c: CanaryContext,
  deadline: number,
  signal: AbortSignal,
  note: (text: string) => void,
): Promise<void> {
  // Requests already sent to the canary finish before its pods go; a cancel leaves little time.
  const delay = Math.min(c.o.scaleDownDelayMs, Math.max(0, deadline - Date.now() - 2000));
  if (delay > 0) {
    note(
      `${c.names.deployment} scales to 0 in ${Math.round(delay / 1000)}s, when requests in flight are done`,
    );
    await sleep(delay, signal);
  }
  await c.objects.patch(DEPLOYMENTS, c.o.namespace, c.names.deployment, { spec: { replicas: 0 } }, 'merge', {
    signal,
  });
  note(`${c.names.deployment} scaled to 0`);
}
