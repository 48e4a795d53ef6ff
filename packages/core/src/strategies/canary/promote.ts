/**
 * Promotion: the stable takes the canary's template by a rolling update while the canary still
 * serves its share; then all traffic returns to the stable and the canary's objects go.
 */
import { DEPLOYMENTS, SERVICES } from '../../kube/objects.js';
import { listRevisions } from '../../kube/revisions.js';
import { waitForRollout, type Deployment } from '../../kube/rollout.js';
import { errorText, PhaseFailed, type Phase, type Undo } from '../../engine/phases.js';
import { type KubeObject } from '../../manifests/manifests.js';
import { configMountOf, mountConfig } from '../../manifests/config-files.js';
import { forReplace } from '../../traffic/index.js';
import { selectorText } from '../../traffic/service.js';
import { CANARY, promotedTemplate, STABLE } from './plan.js';

import {
  type CanaryContext,
  type Shared,
  digestOf,
  versionText,
  waitReady,
  VERIFY_MS,
  writeWeight,
} from './model.js';
import { confirmTraffic } from './step.js';
import { fullStableReplicas } from './stable-scale.js';
/**
 * The stable takes the canary's template by a rolling update while the canary still serves its
 * share (with dynamic-stable-scale, its full replica count too, in the same update); then all
 * traffic returns to the stable. Undone: the stable's template goes back.
 */
export function promotePhase(c: CanaryContext, s: Shared): Phase {
  return {
    name: 'promote',
    run: async (ctx) => {
      const { namespace, app } = c.o;
      s.promoting = true;
      const canary = await c.objects.mustGet<Deployment>(DEPLOYMENTS, namespace, c.names.deployment);
      const stable = await c.objects.mustGet<Deployment>(DEPLOYMENTS, namespace, app);
      const template = promotedTemplate(
        stable as unknown as KubeObject,
        promotionSource(c, canary),
        c.keepLabels,
      );
      const previous = stable.spec.template;
      const previousHashes = new Set(
        (await listRevisions(c.objects, stable)).filter((r) => r.replicas > 0).map((r) => r.templateHash),
      );
      // A stable scaled with the weight goes back to its full size in the same rolling update.
      const full = c.o.dynamicStableScale ? fullStableReplicas(s) : undefined;
      ctx.undoWith(undoTemplate(c, previous));
      ctx.wrote();
      await c.objects.replace(DEPLOYMENTS, namespace, withTemplate(stable, template, full));
      if (full !== undefined) s.stableScale = `${app} took the new version and its full ${full} replicas`;
      c.note(
        `promoting: ${app} takes ${versionText(s.canaryImages)}${full !== undefined ? ` and its full ${full} replicas (it had ${stable.spec.replicas ?? 1})` : ''} by a rolling update while the canary serves`,
      );
      const podSelector = `${selectorText(stable.spec.selector.matchLabels ?? {})},${c.o.versionLabel}!=${CANARY}`;
      const rolled = await waitReady(c, ctx, app, previousHashes, podSelector);
      if (rolled.templateHash) s.promotedHash = rolled.templateHash;
      if (rolled.revision) s.promotedRevision = rolled.revision;
      const current = await c.router.getWeights();
      if (!current) throw new PhaseFailed(`${c.router.describe()} is gone`);
      const back = { [STABLE]: 100, [CANARY]: 0 };
      if ((current.weights[CANARY] ?? 0) !== 0 || current.header) {
        const routed = await writeWeight(
          c,
          0,
          current.resourceVersion,
          c.o.route === 'replicas' ? undefined : null,
          s.live.stable!.spec.replicas ?? 1,
        );
        s.weight = routed.weights[CANARY] ?? 0;
        delete s.header;
        c.note(
          `${c.router.describe()}: all traffic back on ${app}, now ${versionText(s.canaryImages)}${current.header ? '; header route removed' : ''}`,
        );
      }
      s.weight = 0;
      const verified = await c.router.verify(back, Date.now() + VERIFY_MS, ctx.signal);
      ctx.signal.throwIfAborted();
      if (!verified.ok) throw new PhaseFailed(`traffic did not return to ${app}: ${verified.detail}`);
      await confirmTraffic(c, ctx, s, 0, false);
      s.promoted = true;
      s.state.state = 'promoted';
    },
  };
}

/** The canary's pod template with the manifest's own labels back (the canary's were rewritten). */
export function promotionSource(c: CanaryContext, canary: Deployment): KubeObject {
  const source = c.o.deployment ? structuredClone(c.o.deployment) : undefined;
  if (source) {
    // The manifest lacks the config the canary mounts (config-files): the stable takes it too,
    // also when a later job promotes without reading the config files.
    const config = configMountOf(canary.spec.template.spec);
    const problems = config ? mountConfig(source, config) : [];
    if (problems.length > 0) throw new PhaseFailed(problems.join('; '));
    return source;
  }
  const template = structuredClone(canary.spec.template);
  const labels = { ...template.metadata?.labels };
  for (const [k, v] of Object.entries(c.labels.selected)) labels[k] = v;
  delete labels[c.o.versionLabel];
  for (const k of Object.keys(c.labels.extra ?? {})) delete labels[k];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: c.o.app },
    spec: { template: { ...template, metadata: { ...template.metadata, labels } } },
  };
}

export function undoTemplate(c: CanaryContext, previous: Deployment['spec']['template']): Undo {
  return {
    what: `put ${c.o.app}'s previous template back`,
    run: async ({ signal, deadline, note }) => {
      const live = await c.objects.mustGet<Deployment>(DEPLOYMENTS, c.o.namespace, c.o.app, {
        signal,
      });
      if (digestOf(live.spec.template) === digestOf(previous)) return;
      const hashes = new Set(
        (await listRevisions(c.objects, live)).filter((r) => r.replicas > 0).map((r) => r.templateHash),
      );
      await c.objects.replace(DEPLOYMENTS, c.o.namespace, withTemplate(live, previous), { signal });
      note(`${c.o.app} rolls back to its previous template`);
      const rollout = await waitForRollout({
        kube: c.o.kube,
        objects: c.objects,
        namespace: c.o.namespace,
        name: c.o.app,
        previousHashes: hashes,
        podSelector: `${selectorText(live.spec.selector.matchLabels ?? {})},${c.o.versionLabel}!=${CANARY}`,
        deadline,
        signal,
      });
      if (!rollout.ok) throw new Error(`${c.o.app} did not roll back: ${rollout.reason}`);
    },
  };
}

/** The goal is reached: the canary's objects go; failures here are warnings. */
export function finishPhase(c: CanaryContext, s: Shared): Phase {
  return {
    name: 'finish',
    run: async () => {
      const tidy = async (what: string, work: () => Promise<unknown>): Promise<void> => {
        await work().catch((error: unknown) =>
          c.o.runner.warn(`${what} could not be removed: ${errorText(error)}`),
        );
      };
      await tidy(`${c.router.describe()}`, async () => c.router.release?.(CANARY));
      // A canary that cannot be deleted at least stops running; its record says promoted (books.ts).
      const removed = await c.objects.delete(DEPLOYMENTS, c.o.namespace, c.names.deployment).then(
        () => true,
        async (error: unknown) => {
          const scaled = await c.objects
            .patch(DEPLOYMENTS, c.o.namespace, c.names.deployment, { spec: { replicas: 0 } }, 'merge', {
              idempotent: true,
            })
            .then(
              () => 'scaled to 0 instead',
              () => 'and could not be scaled to 0 either',
            );
          c.o.runner.warn(
            `Deployment ${c.names.deployment} could not be removed (${errorText(error)}); ${scaled}`,
          );
          return false;
        },
      );
      if (c.separate)
        await tidy(`Service ${c.names.service}`, () =>
          c.objects.delete(SERVICES, c.o.namespace, c.names.service),
        );
      c.note(
        `promoted: ${c.o.app} serves ${versionText(s.canaryImages)}${removed ? '; the canary is removed' : ''}`,
      );
    },
  };
}

/** A PUT body for the Deployment with another pod template (and replica count), preconditioned on what was read. */
function withTemplate(live: Deployment, template: unknown, replicas?: number): KubeObject {
  return forReplace(
    {
      ...(live as unknown as KubeObject),
      spec: { ...live.spec, template, ...(replicas !== undefined ? { replicas } : {}) },
    },
    live.metadata.resourceVersion as string,
  );
}
