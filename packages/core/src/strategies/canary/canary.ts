/**
 * canary-step against the cluster, as phases of the strategy engine. The stable Deployment serves
 * untouched while a canary Deployment beside it takes a growing share of the traffic, step by
 * step; between steps the gate judges it (against the stable where it can) and the traffic itself
 * confirms the split. Any failure, cancel or lost lock unwinds to "all traffic on stable, no header
 * route" in one write per routing object. At 100% (or `action: promote`) the stable takes the
 * canary's template by a rolling update while the canary still serves, then traffic returns to
 * the stable and the canary goes. The state lives in the record on the canary Deployment, so
 * another job, or a re-run, continues where the last one stopped.
 */
import { DEPLOYMENTS, KubeObjects, SERVICES } from '../../kube/objects.js';
import { currentRevision, imagesOf, listRevisions } from '../../kube/revisions.js';
import { type Deployment } from '../../kube/rollout.js';
import { runDeploy } from '../../engine/deploy.js';
import { errorText, type EngineOutcome, type Phase } from '../../engine/phases.js';
import { undoApply } from '../../engine/undo-apply.js';
import { applyImageOverrides, type KubeObject } from '../../manifests/manifests.js';
import { mountConfig, tidyConfigs } from '../../manifests/config-files.js';
import { appendHistory, newRecord, readRecord, writeRecord, type CanaryState } from '../../record/record.js';
import { requestStop, type LockHolder } from '../../record/lock.js';
import { describeHeaderRoute, describeWeights, type HeaderRoute } from '../../traffic/index.js';
import { CANARY, canaryDeployment, canaryName, canaryService, replicasFor } from './plan.js';
import { canaryReplicas } from '../../traffic/replicas.js';

import {
  digestOf,
  versionText,
  waitReady,
  type CanaryContext,
  type CanaryInputs,
  type CanaryOptions,
  type CanaryOutcome,
  type CanaryPhase,
  type Live,
  type Shared,
} from './model.js';
import { runStep } from './step.js';
import { canaryContext, resolveRouting } from './routing.js';
import { finishPhase, promotePhase } from './promote.js';
import { abortPhase, abortUndo } from './abort.js';
import { describeSuccess, keepBooks, whereTrafficIs } from './books.js';

export type {
  CanaryAction,
  CanaryInputs,
  CanaryOptions,
  CanaryOutcome,
  CanaryPhase,
  CanaryRoute,
  StepRun,
} from './model.js';

export class CanaryDeploy {
  /** What the phase functions get, once the router is known. */
  private c!: CanaryContext;
  private readonly objects: KubeObjects;
  private readonly timeline: CanaryOutcome['timeline'] = [];
  private readonly gates: CanaryOutcome['gates'] = [];
  private readonly canaryDeploymentName: string;
  /** The options with the routing resolved (given, else the canary's record, else defaults). */
  private o!: CanaryOptions;

  constructor(private readonly given: CanaryInputs) {
    this.objects = new KubeObjects(given.kube);
    this.canaryDeploymentName = canaryName(given.app);
  }

  private note(text: string): void {
    this.timeline.push({ at: new Date().toISOString(), text });
    this.given.runner.info(text);
  }

  async run(): Promise<CanaryOutcome> {
    // An abort or a promote does not queue behind a step in progress: it asks that run to do it, and waits.
    const asked =
      this.given.action === 'abort' || this.given.action === 'promote'
        ? await this.askRunningStep(this.given.action)
        : undefined;
    const live = await this.inspect();
    this.o = resolveRouting(this.given, live);
    const service = await this.objects.get<KubeObject>(SERVICES, this.o.namespace, this.o.service);
    if (service) live.stableService = service;
    if (this.o.headerRoute && this.o.route === 'replicas')
      throw new Error(
        'Input "header-route" needs a router that matches headers, and this canary routes by replicas (a Service alone); nothing was changed',
      );
    if (this.o.action === 'status') {
      if (live.stable && live.state) {
        // The weight as the route holds it now; the record alone says what the last step wrote.
        await this.makeRouter(live)
          .then(async () => {
            live.route = await this.c.router.getWeights();
          })
          .catch((error: unknown) => this.note(`the route could not be read: ${errorText(error)}`));
      }
      return this.status(live);
    }
    if (!live.stable) {
      if (this.o.action !== 'run')
        throw new Error(
          `There is no Deployment ${this.o.namespace}/${this.o.app}, so no canary to ${this.o.action}`,
        );
      return this.firstDeploy();
    }
    if (this.o.action !== 'run' && !live.state) {
      const last = live.record?.canary?.state;
      if (asked && last === 'aborted' && this.o.action === 'abort') return this.abortedByHolder(live, asked);
      if (asked && last === 'promoted' && this.o.action === 'promote')
        return this.promotedByHolder(live, asked);
      throw new Error(
        `No canary of ${this.o.app} is in progress in ${this.o.namespace}${last ? ` (the last one was ${last})` : ''}: nothing to ${this.o.action}`,
      );
    }
    await this.makeRouter(live);
    live.route = await this.c.router.getWeights();
    if (!live.route) {
      // NGINX: the weights live in the canary Ingress cd-actions makes, but the user's primary one is missing.
      const missing =
        this.o.route === 'nginx'
          ? `Ingress ${this.o.namespace}/${this.o.routeName ?? this.o.service}`
          : this.c.router.describe();
      throw new Error(`${missing} does not exist: create it before the first canary; nothing was changed`);
    }
    if (this.o.action === 'run') {
      const idle = await this.validateRun(live);
      if (idle) return idle;
    }
    return this.deploy(live);
  }

  /**
   * `action: abort` or `promote` while another run holds the app's lock (a step of the ramp in
   * progress): that run is asked to do it itself (abort: put everything back; promote: cut its
   * judging short and promote) and to release the lock; waited for up to the timeout (and
   * lock-wait, if longer). Undefined when no run holds the lock.
   */
  private askRunningStep(intent: 'abort' | 'promote'): Promise<LockHolder | undefined> {
    return requestStop({
      objects: this.objects,
      namespace: this.given.namespace,
      app: this.given.app,
      run: this.given.run,
      intent,
      why:
        intent === 'abort'
          ? 'abort the canary and send all traffic back to the stable (action: abort)'
          : 'promote the canary now, cutting its remaining steps short (action: promote)',
      waitMs: Math.max(this.given.timeoutMs, this.given.lockWaitMs),
      signal: this.given.signal,
      log: (text) => this.note(text),
    });
  }

  /** The run that held the lock aborted at our request: report what the cluster holds now, red as every abort. */
  private abortedByHolder(live: Live, holder: LockHolder): CanaryOutcome {
    const outcome = this.status(live);
    outcome.ok = false;
    outcome.message = `Canary of ${this.o.app} aborted as asked, by ${holder.repository} run ${holder.runId}, which was running a step: it sent all traffic back to the stable and ended red (${holder.runUrl})`;
    return outcome;
  }

  /** The run that held the lock promoted at our request: report what the cluster holds now. */
  private promotedByHolder(live: Live, holder: LockHolder): CanaryOutcome {
    const outcome = this.status(live);
    outcome.message = `Canary of ${this.o.app} promoted as asked, by ${holder.repository} run ${holder.runId}, which was running a step: it promoted the canary (${holder.runUrl})`;
    this.note(outcome.message);
    return outcome;
  }

  /** The stable, its Service, the canary and its record: read before the lock, never written. */
  private async inspect(): Promise<Live> {
    const { namespace, app } = this.given;
    const [stable, canary] = await Promise.all([
      this.objects.get<Deployment>(DEPLOYMENTS, namespace, app),
      this.objects.get<Deployment>(DEPLOYMENTS, namespace, this.canaryDeploymentName),
    ]);
    const record = readRecord(canary) ?? readRecord(stable);
    const state = readRecord(canary)?.canary;
    // The stable's record saying this very canary was promoted wins over a canary left behind.
    const promoted = readRecord(stable)?.canary;
    const inProgress =
      state &&
      (state.state === 'progressing' || state.state === 'paused') &&
      !(promoted?.state === 'promoted' && promoted.templateDigest === state.templateDigest);
    return {
      ...(stable ? { stable } : {}),
      ...(canary ? { canary } : {}),
      ...(record ? { record } : {}),
      ...(inProgress ? { state } : {}),
    };
  }

  private async makeRouter(live: Live): Promise<void> {
    this.c = await canaryContext(this.o, this.objects, live, {
      note: (text) => this.note(text),
      gates: this.gates,
    });
  }

  /** The canary Deployment this run would apply, and its digest. */
  private canaryObject(live: Live): KubeObject {
    let template = this.o.deployment;
    if (!template) {
      template = structuredClone(live.stable!) as unknown as KubeObject;
    }
    const object = canaryDeployment(template, {
      ...this.c.labels,
      name: this.canaryDeploymentName,
      namespace: this.o.namespace,
      replicas: this.startReplicas(live, this.firstWeight(live)),
    });
    const problems = this.o.deployment ? [] : applyImageOverrides([object], this.o.images);
    // The stable's template may mount an earlier config: mountConfig replaces it.
    if (this.o.config) problems.push(...mountConfig(object, this.o.config));
    if (problems.length > 0) throw new Error(problems.join('\n'));
    return object;
  }

  private firstWeight(live: Live): number {
    const passed = this.passedWeight(live.state);
    return this.o.steps.find((s) => s.weight > passed)?.weight ?? this.o.steps[0]!.weight;
  }

  private startReplicas(live: Live, weight: number): number {
    // A canary with dynamic-stable-scale in progress finds the stable shrunk: its full size is recorded.
    const stable = live.state?.stableReplicas ?? live.stable?.spec.replicas ?? 1;
    if (this.o.route === 'replicas') return weight >= 100 ? stable : canaryReplicas(weight, stable);
    return replicasFor(weight, stable);
  }

  /** The highest weight whose gate passed in the canary in progress. */
  private passedWeight(state: CanaryState | undefined): number {
    return Math.max(0, ...(state?.history ?? []).filter((h) => h.verdict === 'pass').map((h) => h.weight));
  }

  private templateDigest(object: KubeObject): string {
    const spec = object.spec as { template?: unknown };
    return digestOf(spec.template);
  }

  /**
   * Before the lock: a canary of another version in progress is refused, a step that already
   * passed is a no-op, and the cluster validates every object in a dry run.
   */
  private async validateRun(live: Live): Promise<CanaryOutcome | undefined> {
    const object = this.canaryObject(live);
    const digest = this.templateDigest(object);
    if (live.state && live.state.templateDigest !== digest) {
      throw new Error(
        `A canary of another version of ${this.o.app} is in progress (${versionText(imagesOf(live.canary!.spec.template))} at ${live.route?.weights[CANARY] ?? 0}%): promote or abort it first (input "action": promote or abort); nothing was changed`,
      );
    }
    const target = this.o.weight ?? 100;
    if (live.state && this.passedWeight(live.state) >= target) {
      const outcome = this.status(live);
      outcome.message = `${this.o.app}: the canary already passed ${target}% (${describeWeights(live.route?.weights ?? {})}); nothing to do`;
      this.note(outcome.message);
      return outcome;
    }
    const problems: string[] = [];
    for (const m of [...this.o.others, { object, source: 'the canary Deployment' }]) {
      try {
        await this.objects.apply(m.object, { dryRun: true });
      } catch (error) {
        problems.push(
          `Input "manifests": ${m.source}: ${m.object.kind} ${m.object.metadata.name}: ${errorText(error)}`,
        );
      }
    }
    if (problems.length > 0)
      throw new Error(
        `The cluster rejected the change in a dry run; nothing was changed:\n${problems.join('\n')}`,
      );
    return undefined;
  }

  private newState(live: Live, digest: string): CanaryState {
    return {
      state: 'progressing',
      route: {
        kind: this.o.route,
        ...(this.o.routeName ? { name: this.o.routeName } : {}),
        service: this.o.service,
        ...(this.o.ruleName ? { rule: this.o.ruleName } : {}),
        versionLabel: this.o.versionLabel,
      },
      steps: this.o.steps.map((s) => s.weight),
      history: [],
      ...(this.o.headerRoute
        ? {
            header: {
              header: this.o.headerRoute.header,
              match: this.o.headerRoute.match,
              value: this.o.headerRoute.value,
            },
          }
        : {}),
      templateDigest: digest,
      ...(live.state ? {} : {}),
      // dynamic-stable-scale: the stable's full size, for the later jobs that find it shrunk.
      ...(this.o.dynamicStableScale ? { stableReplicas: live.stable!.spec.replicas ?? 1 } : {}),
    };
  }

  private async deploy(live: Live): Promise<CanaryOutcome> {
    const stableImages = imagesOf(live.stable!.spec.template);
    const record =
      live.state && live.record
        ? structuredClone(live.record)
        : newRecord({ strategy: 'canary', app: this.o.app, run: this.o.run });
    record.runId = this.o.run.runId;
    const object = this.o.action === 'run' ? this.canaryObject(live) : undefined;
    const state = live.state
      ? structuredClone(live.state)
      : this.newState(live, this.templateDigest(object!));
    record.canary = state;
    record.stable = { images: stableImages, revision: String(currentRevision(live.stable!)) };
    const s: Shared = {
      live,
      record,
      state,
      ...(object ? { object } : {}),
      weight: live.route?.weights[CANARY] ?? 0,
      ...(live.route?.header ? { header: live.route.header } : {}),
      routeVersion: live.route?.resourceVersion ?? '',
      stableImages,
      canaryImages: object
        ? imagesOf((object as unknown as Deployment).spec.template)
        : live.canary
          ? imagesOf(live.canary.spec.template)
          : {},
      promoting: false,
      promoted: false,
      aborted: false,
      verdict: 'none',
    };
    record.candidate = { images: s.canaryImages };
    const phases =
      this.o.action === 'abort'
        ? [this.guardPhase(s), abortPhase(this.c, s)]
        : this.o.action === 'promote'
          ? [this.guardPhase(s), promotePhase(this.c, s), finishPhase(this.c, s)]
          : [this.guardPhase(s), this.canaryPhase(s), ...this.stepPhases(s)];
    const result = await runDeploy({
      objects: this.objects,
      namespace: this.o.namespace,
      app: this.o.app,
      run: this.o.run,
      runner: this.o.runner,
      signal: this.o.signal,
      lockWaitMs: this.o.lockWaitMs,
      github: {
        token: this.o.githubToken,
        environment: this.o.environment,
        description: `Canary of ${this.o.app} by ${this.o.run.actor}`,
      },
      phases,
      // A ramp or a promotion may be asked to abort by an `action: abort` run; an abort needs no asking.
      stoppable: this.o.action !== 'abort',
      undoOnFailure: true,
      undoOnCancel: this.o.onCancel === 'abort',
      undoBudgetMs: this.o.timeoutMs,
      keepBooks: (outcome) => this.keepBooksAndTidy(outcome, () => keepBooks(this.c, s, outcome)),
      whereTrafficIs: () => whereTrafficIs(this.c, s),
      describeSuccess: () => describeSuccess(this.c, s),
      what: `Canary of ${this.o.app}`,
      timeline: this.timeline,
    });
    const ok = result.ok && this.o.action !== 'abort';
    return this.outcome({
      ok,
      phase: s.promoted
        ? 'promoted'
        : s.aborted || !result.ok
          ? s.aborted
            ? 'aborted'
            : 'progressing'
          : s.weight >= 100
            ? 'progressing'
            : 'paused',
      weight: s.weight,
      stableVersion: versionText(s.promoted ? s.canaryImages : s.stableImages),
      canaryVersion: versionText(s.canaryImages),
      ...(s.observedSplit ? { observedSplit: s.observedSplit } : {}),
      verdict: s.verdict,
      ...(result.failedPhase ? { failedPhase: result.failedPhase } : {}),
      message:
        this.o.action === 'abort' && result.ok
          ? `Canary of ${this.o.app} aborted as asked: ${result.traffic}`
          : result.message,
      traffic: result.traffic,
      steps: s.state.history,
      ...(s.header ? { header: describeHeaderRoute(s.header) } : {}),
      ...(s.stableScale ? { stableScale: s.stableScale } : {}),
    });
  }

  /** Registers the abort before anything is written: from here on, any stop puts all traffic on stable. */
  private guardPhase(s: Shared): Phase {
    return {
      name: 'prepare',
      run: (ctx) => {
        ctx.undoWith(abortUndo(this.c, s));
        this.note(
          s.live.state
            ? `continuing the canary of ${this.o.app}: ${describeWeights(s.live.route?.weights ?? {})}${s.header ? `, header route ${describeHeaderRoute(s.header)}` : ''}`
            : `starting a canary of ${this.o.app} beside the stable ${versionText(s.stableImages)} through ${this.c.router.describe()}`,
        );
        return Promise.resolve();
      },
    };
  }

  /** The canary Deployment (and its Service, and the other manifests) up and ready, serving nothing yet. */
  private canaryPhase(s: Shared): Phase {
    return {
      name: 'canary',
      run: async (ctx) => {
        const { namespace } = this.o;
        const existing = s.live.canary;
        const current =
          existing &&
          s.live.state &&
          this.templateDigest(existing as unknown as KubeObject) === s.state.templateDigest;
        for (const m of this.o.others) {
          ctx.undoOnce(
            `${m.object.kind}/${m.object.metadata.name}`,
            undoApply(this.objects, m.object, await this.objects.getLive<KubeObject>(m.object)),
          );
          await this.objects.apply(m.object);
          this.note(`${m.object.kind} ${m.object.metadata.name} applied (${m.source})`);
        }
        if (this.c.separate) {
          ctx.wrote();
          await this.objects.apply(
            canaryService(s.live.stableService!, {
              ...this.c.labels,
              name: this.c.names.service,
              namespace,
              app: this.o.app,
            }),
          );
        }
        if (current) {
          this.note(`${this.canaryDeploymentName} already runs this version; continuing`);
          return;
        }
        const previousHashes = new Set<string>();
        if (existing)
          for (const r of await listRevisions(this.objects, existing))
            if (r.replicas > 0) previousHashes.add(r.templateHash);
        const object = s.object!;
        s.record.phase = 'progressing';
        object.metadata.annotations = {
          ...object.metadata.annotations,
          'cd-actions.dev/record': JSON.stringify(s.record),
        };
        // With the replicas router the canary takes traffic as soon as its pods are ready.
        ctx.wrote();
        await this.objects.apply(object);
        this.note(
          `${this.canaryDeploymentName} ${existing ? 'updated' : 'created'} with ${versionText(s.canaryImages)}, ${(object.spec as { replicas: number }).replicas} replica(s)`,
        );
        await waitReady(this.c, ctx, this.canaryDeploymentName, previousHashes);
      },
    };
  }

  /** One phase per weight still to reach; then promotion at 100%, or a pause below it. */
  private stepPhases(s: Shared): Phase[] {
    const passed = this.passedWeight(s.state);
    const target = this.o.weight ?? 100;
    const steps = this.o.steps.filter((step) => step.weight > passed && step.weight <= target);
    const phases: Phase[] = steps.map((step) => ({
      name: `step ${step.weight}`,
      run: (ctx) => {
        if (!ctx.promoteRequested.aborted) return runStep(this.c, ctx, s, step);
        this.note(`${step.weight}%: skipped, promoting as asked`);
        return Promise.resolve();
      },
    }));
    if (steps.at(-1)?.weight === 100) phases.push(promotePhase(this.c, s), finishPhase(this.c, s));
    else {
      // A run that pauses below 100% promotes only when another run asked it to (action: promote),
      // decided once, at the pause: a request that comes later finds the lock free soon after.
      let asked = false;
      const whenAsked = (phase: Phase): Phase => ({
        name: phase.name,
        run: (ctx) => (asked ? phase.run(ctx) : Promise.resolve()),
      });
      phases.push(
        {
          name: 'pause',
          run: (ctx) => {
            asked = ctx.promoteRequested.aborted;
            if (asked) return Promise.resolve();
            s.state.state = 'paused';
            this.note(
              `paused at ${s.weight}%: the next run with a higher "weight", or "action: promote" / "action: abort", continues from here`,
            );
            return Promise.resolve();
          },
        },
        whenAsked(promotePhase(this.c, s)),
        whenAsked(finishPhase(this.c, s)),
      );
    }
    return phases;
  }

  /** `action: status`, and a step that already happened: what the cluster holds, nothing written. */
  private status(live: Live): CanaryOutcome {
    const state = live.state ?? live.record?.canary;
    const weight = live.route?.weights[CANARY] ?? state?.history.at(-1)?.weight ?? 0;
    const phase: CanaryPhase = state ? state.state : 'none';
    const canaryImages = live.canary ? imagesOf(live.canary.spec.template) : {};
    const stableImages = live.stable ? imagesOf(live.stable.spec.template) : {};
    const last = state?.history.at(-1);
    const message = !state
      ? `No canary of ${this.o.app} in ${this.o.namespace}`
      : `Canary of ${this.o.app}: ${phase}${phase === 'progressing' || phase === 'paused' ? ` at ${weight}%` : ''}${last ? `, last step ${last.weight}% ${last.verdict ?? 'not judged'}` : ''}`;
    this.note(message);
    return this.outcome({
      ok: true,
      phase,
      weight: phase === 'progressing' || phase === 'paused' ? weight : 0,
      stableVersion: versionText(stableImages),
      canaryVersion: versionText(canaryImages),
      verdict: last?.verdict ?? 'none',
      message,
      steps: state?.history ?? [],
      ...(state?.header
        ? {
            header: describeHeaderRoute({
              ...state.header,
              match: state.header.match as HeaderRoute['match'],
              to: CANARY,
            }),
          }
        : {}),
    });
  }

  /** Nothing stable yet: the first version goes straight to full size, as Argo Rollouts does. */
  private async firstDeploy(): Promise<CanaryOutcome> {
    const deployment = this.o.deployment;
    if (!deployment)
      throw new Error(
        `Input "manifests": there is no Deployment ${this.o.namespace}/${this.o.app} yet, so the first deploy needs its manifest (images alone cannot create one)`,
      );
    const object = structuredClone(deployment);
    object.metadata = { ...object.metadata, name: this.o.app, namespace: this.o.namespace };
    const problems = this.o.config ? mountConfig(object, this.o.config) : [];
    if (problems.length > 0) throw new Error(problems.join('\n'));
    const images = imagesOf((object as unknown as Deployment).spec.template);
    const record = newRecord({ strategy: 'canary', app: this.o.app, run: this.o.run });
    let revision: string | undefined;
    const result = await runDeploy({
      objects: this.objects,
      namespace: this.o.namespace,
      app: this.o.app,
      run: this.o.run,
      runner: this.o.runner,
      signal: this.o.signal,
      lockWaitMs: this.o.lockWaitMs,
      github: {
        token: this.o.githubToken,
        environment: this.o.environment,
        description: `First deploy of ${this.o.app}`,
      },
      phases: [
        {
          name: 'first deploy',
          run: async (ctx) => {
            this.note(
              `first deploy of ${this.o.app}: nothing stable to compare with, so it goes straight to full size (as Argo Rollouts does)`,
            );
            for (const m of [...this.o.others, { object, source: 'the app' }]) {
              ctx.undoWith(
                undoApply(this.objects, m.object, await this.objects.getLive<KubeObject>(m.object)),
              );
              await this.objects.apply(m.object);
            }
            revision = (
              await waitReady(
                { o: this.o, objects: this.objects, note: (t) => this.note(t) },
                ctx,
                this.o.app,
                new Set(),
              )
            ).revision;
          },
        },
      ],
      undoOnFailure: true,
      undoOnCancel: this.o.onCancel === 'abort',
      undoBudgetMs: this.o.timeoutMs,
      keepBooks: (outcome) =>
        this.keepBooksAndTidy(outcome, async () => {
          record.phase = outcome.ok ? 'succeeded' : 'failed';
          record.stable = { images, ...(revision ? { revision } : {}) };
          if (outcome.ok) await writeRecord(this.objects, DEPLOYMENTS, this.o.namespace, this.o.app, record);
          await appendHistory(this.objects, this.o.namespace, this.o.app, {
            action: 'deploy',
            strategy: 'canary',
            outcome: record.phase,
            deployment: this.o.app,
            ...(revision ? { revision } : {}),
            images,
            to: versionText(images),
            commit: this.o.run.sha,
            runUrl: record.runUrl,
            actor: this.o.run.actor,
            time: new Date().toISOString(),
            ...(outcome.cause ? { reason: outcome.cause } : {}),
          });
        }),
      whereTrafficIs: (outcome) =>
        Promise.resolve(
          outcome.ok
            ? `${this.o.app} (${versionText(images)}) serves all traffic`
            : `no version of ${this.o.app} serves`,
        ),
      describeSuccess: () =>
        `${this.o.app}: first deploy of ${versionText(images)} at full size (no stable version to compare a canary with)`,
      what: `First deploy of ${this.o.app}`,
      timeline: this.timeline,
    });
    return this.outcome({
      ok: result.ok,
      phase: result.ok ? 'promoted' : 'aborted',
      weight: 0,
      stableVersion: versionText(result.ok ? images : {}),
      canaryVersion: versionText(images),
      verdict: 'none',
      ...(result.failedPhase ? { failedPhase: result.failedPhase } : {}),
      message: result.message,
      traffic: result.traffic,
      steps: [],
      firstDeploy: true,
    });
  }

  /**
   * The books, then (after a run that reached its goal, still under the lock) the app's config
   * ConfigMaps nothing refers to any more are collected; that never fails the run.
   */
  private async keepBooksAndTidy(outcome: EngineOutcome, books: () => Promise<void>): Promise<void> {
    try {
      await books();
    } finally {
      if (outcome.ok && this.o.config)
        await tidyConfigs(this.objects, this.o.namespace, this.o.app, this.o.runner);
    }
  }

  private outcome(
    o: Omit<CanaryOutcome, 'timeline' | 'gates' | 'route' | 'approximated' | 'firstDeploy' | 'action'> &
      Partial<Pick<CanaryOutcome, 'firstDeploy'>>,
  ): CanaryOutcome {
    return {
      firstDeploy: false,
      ...o,
      action: this.o.action,
      route: this.c ? this.c.router.describe() : this.o.route,
      approximated: this.o.route === 'replicas',
      gates: [...this.gates],
      timeline: [...this.timeline],
    };
  }
}
