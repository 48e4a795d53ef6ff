/**
 * deploy-blue-green against the cluster, as phases of the strategy engine: deploy the idle colour,
 * wait for it, gate it, switch the router in one preconditioned write, confirm, gate again. Before
 * the switch nothing that serves traffic is touched; after it, any failure, cancel or lost lock
 * switches back (the engine unwinds the switch's undo).
 */
import { findAutoscaled, retargetAutoscaler, type Autoscaled } from '../../kube/autoscalers.js';
import { COLORS, colorDeployment, colorDeploymentName, isColor, otherColor, type Color } from './plan.js';
import type { PrometheusAccess } from '../../gate/prometheus-access.js';
import { createPrometheusClient } from '../../gate/prometheus-client.js';
import { confirmObservedTraffic, trafficQuery, type Observed } from '../../traffic/observe.js';
import { parseChecks, runGate, type CheckDefaults, type GateDecision } from '../../gate/index.js';
import { fillChecks } from '../../gate/parse.js';
import type { RunContext } from '../../github/github.js';
import type { Kube } from '../../kube/kube.js';
import { DEPLOYMENTS, KubeObjects, SERVICES } from '../../kube/objects.js';
import { runDeploy } from '../../engine/deploy.js';
import {
  errorText,
  PhaseFailed,
  type EngineOutcome,
  type Phase,
  type PhaseContext,
  type Undo,
} from '../../engine/phases.js';
import { undoApply } from '../../engine/undo-apply.js';
import type { Runner } from '../../runner/runner.js';
import { applyImageOverrides, type ImageOverride, type KubeObject } from '../../manifests/manifests.js';
import { mountConfig, tidyConfigs, type ConfigMount } from '../../manifests/config-files.js';
import {
  appendHistory,
  newRecord,
  readRecord,
  RECORD_ANNOTATION,
  writeRecord,
  type DeploymentRecord,
} from '../../record/record.js';
import { currentRevision, imagesOf, listRevisions } from '../../kube/revisions.js';
import { sleep } from '../../net/retry.js';
import { waitForRollout, type Deployment } from '../../kube/rollout.js';
import {
  colorServiceName,
  createRouter,
  describeWeights,
  soleTarget,
  type RouteKind,
  type TrafficRouter,
} from '../../traffic/index.js';

export interface BlueGreenOptions {
  kube: Kube;
  namespace: string;
  app: string;
  service: string;
  previewService?: string;
  colorLabel: string;
  route: RouteKind;
  routeName?: string;
  /** The new version: a Deployment manifest, or none to take the live colour's with `images`. */
  deployment?: KubeObject;
  /** Other manifests applied before the idle colour (ConfigMaps, the Service on a first deploy). */
  others: { object: KubeObject; source: string }[];
  images: ImageOverride[];
  /** The app's config (config-files) the idle colour mounts; its ConfigMap is among `others`. */
  config?: ConfigMount;
  /** Confirm each switch from per-version request counters in Prometheus. */
  observe?: { prometheusUrl: string; metric: string };
  /** How the Prometheus of `observe` and `checkDefaults` is reached (credentials, CA, Service proxy). */
  prometheus?: PrometheusAccess;
  preSwitchChecks?: unknown;
  postSwitchChecks?: unknown;
  checkDefaults: Partial<CheckDefaults>;
  preSwitchDurationMs: number;
  verifyDurationMs: number;
  checkIntervalMs: number;
  /** Keep the previous colour running (scaled up) after the switch, for an instant rollback. */
  keepPrevious: boolean;
  /**
   * Without keepPrevious: how long after the switch write the previous colour keeps its pods, so
   * every node's kube-proxy has moved off it before they go. Default SCALE_DOWN_DELAY_MS.
   */
  scaleDownDelayMs?: number;
  timeoutMs: number;
  autoRollback: boolean;
  onCancel: 'rollback' | 'leave';
  lockWaitMs: number;
  dryRun: boolean;
  githubToken?: string;
  environment?: string;
  run: RunContext;
  signal: AbortSignal;
  runner: Runner;
}

export interface GateRun {
  name: 'pre-switch' | 'post-switch';
  decision: GateDecision;
}

export interface BlueGreenOutcome {
  ok: boolean;
  dryRun: boolean;
  cancelled: boolean;
  switched: boolean;
  rolledBack: boolean;
  /** The colour serving when the step ends. */
  activeColor?: Color;
  previousColor?: Color;
  candidateColor: Color;
  deployment: string;
  revision?: string;
  images: Record<string, string>;
  /** The engine phase that was running when the deploy stopped. */
  failedPhase?: string;
  message: string;
  /** Where traffic is when the step ends, read back from the router. */
  traffic?: string;
  route: string;
  previewUrl?: string;
  gates: GateRun[];
  /** From the switch write until the router served the new colour (read back and confirmed). */
  cutoverMs?: number;
  switchBackMs?: number;
  timeline: { at: string; text: string }[];
}

/** How long the data plane may take to show a switch after the write. */
const VERIFY_MS = 15_000;

/** How long the traffic may take to show a switch in Prometheus: a few scrape intervals. */
const OBSERVE_MS = 20_000;

/**
 * How long after the switch the previous colour keeps its pods when it is not kept: Argo Rollouts'
 * `scaleDownDelaySeconds` default, which gives every node time to reprogram its rules; a node
 * whose kube-proxy still sends to a pod that is gone fails the request. The post-switch checks'
 * time counts towards it.
 */
export const SCALE_DOWN_DELAY_MS = 30_000;

/** What the phases of one deploy learn and share. */
interface Shared {
  live?: Color;
  idle: Color;
  idleName: string;
  routeVersion?: string;
  adopt: boolean;
  record: DeploymentRecord;
  autoscaled?: Autoscaled;
  /** The idle colour's Deployment as it is applied. */
  object: KubeObject;
  images: Record<string, string>;
  /** ReplicaSets of the idle colour that had pods before: the rollout watch ignores them. */
  previousHashes: Set<string>;
  revision?: string;
  previewUrl?: string;
  /** Whether traffic moved to the idle colour (read back when a write's answer was lost). */
  switched: boolean;
  rolledBack: boolean;
  switchStarted: number;
  cutoverMs?: number;
  switchBackMs?: number;
  activeColor?: Color;
}

export class BlueGreenDeploy {
  private readonly objects: KubeObjects;
  private readonly router: TrafficRouter;
  private readonly timeline: BlueGreenOutcome['timeline'] = [];
  private readonly gates: GateRun[] = [];
  /** The Deployment of each colour: `<app>-<color>`, or an adopted plain Deployment. */
  private readonly names: Record<Color, string>;

  constructor(private readonly o: BlueGreenOptions) {
    this.objects = new KubeObjects(o.kube);
    this.names = { blue: colorDeploymentName(o.app, 'blue'), green: colorDeploymentName(o.app, 'green') };
    this.router = createRouter(
      o.route,
      {
        objects: this.objects,
        namespace: o.namespace,
        service: o.service,
        ...(o.routeName ? { routeName: o.routeName } : {}),
        colorLabel: o.colorLabel,
      },
      o.kube,
    );
  }

  private note(text: string): void {
    this.timeline.push({ at: new Date().toISOString(), text });
    this.o.runner.info(text);
  }

  async run(): Promise<BlueGreenOutcome> {
    const dryRun = await this.validate();
    if (dryRun) return dryRun;
    return this.deploy();
  }

  /** The live colour from the router, or undefined before the first deploy. */
  private async liveColor(): Promise<{ color?: Color; resourceVersion?: string; adopt?: boolean }> {
    const state = await this.router.getWeights();
    const recorded = readRecord(state?.object)?.deployments;
    for (const color of COLORS) {
      const name = recorded?.[color];
      if (name) this.names[color] = name;
    }
    if (!state) {
      if (this.o.route !== 'service') {
        throw new Error(
          `${this.router.describe()} does not exist: create it (routing to ${colorServiceName(this.o.service, 'blue')} or subset blue) before the first blue-green deploy`,
        );
      }
      return {};
    }
    const target = soleTarget(state.weights);
    if (target === undefined) {
      const held = Object.keys(state.weights);
      if (held.length === 0 && this.o.route === 'service') {
        // A plain Service and Deployment: the first run adopts the Deployment as the live blue.
        this.names.blue = this.o.app;
        return { color: 'blue', resourceVersion: state.resourceVersion, adopt: true };
      }
      throw new Error(
        `${this.router.describe()} splits traffic (${JSON.stringify(state.weights)}): a blue-green switch needs all traffic on one colour; finish or undo the canary first`,
      );
    }
    if (!isColor(target)) {
      throw new Error(
        `${this.router.describe()} routes to "${target}", not to one of ${COLORS.join(', ')} (label ${this.o.colorLabel})`,
      );
    }
    return { color: target, resourceVersion: state.resourceVersion };
  }

  private async idleDeployment(live: Color | undefined, idle: Color): Promise<KubeObject> {
    let template = this.o.deployment;
    if (!template) {
      if (!live) {
        throw new Error(
          'Input "manifests": no colour is live yet, so the first deploy needs a Deployment manifest (images alone cannot create one)',
        );
      }
      template = await this.objects.mustGet<KubeObject>(DEPLOYMENTS, this.o.namespace, this.names[live]);
    }
    const object = colorDeployment(template, {
      name: colorDeploymentName(this.o.app, idle),
      namespace: this.o.namespace,
      color: idle,
      colorLabel: this.o.colorLabel,
    });
    const problems = applyImageOverrides([object], this.o.images);
    // The live colour's template may mount an earlier config: mountConfig replaces it.
    if (this.o.config) problems.push(...mountConfig(object, this.o.config));
    if (problems.length > 0) throw new Error(problems.join('\n'));
    return object;
  }

  /**
   * The new colour takes all traffic at once, so it starts at least as big as an autoscaled live
   * colour is now, not at the manifest's count (see autoscalers.ts).
   */
  private sizeLikeAutoscaled(object: KubeObject, autoscaled: Autoscaled | undefined, live?: Color): void {
    const spec = object.spec as { replicas?: number };
    if (!autoscaled || autoscaled.replicas <= (spec.replicas ?? 1)) return;
    this.note(
      `${object.metadata.name} starts with ${autoscaled.replicas} replicas, as many as ${live} has under HorizontalPodAutoscaler ${autoscaled.hpa} (the manifest says ${spec.replicas ?? 1})`,
    );
    spec.replicas = autoscaled.replicas;
  }

  /** Objects other than the route Service and the colour Deployments, applied as given. */
  private otherObjects(serviceExists: boolean): { object: KubeObject; source: string }[] {
    return this.o.others.filter(
      (m) => !(m.object.kind === 'Service' && m.object.metadata.name === this.o.service && serviceExists),
    );
  }

  /**
   * Server-side dry run of every write before the lock: schema, admission and RBAC reject a bad
   * manifest here, with nothing changed.
   */
  private async validate(): Promise<BlueGreenOutcome | undefined> {
    const { color: live } = await this.liveColor();
    const idle = live ? otherColor(live) : 'blue';
    const object = await this.idleDeployment(live, idle);
    const problems: string[] = [];
    for (const m of [...this.otherObjects(live !== undefined), { object, source: 'the idle colour' }]) {
      try {
        await this.objects.apply(m.object, { dryRun: true });
      } catch (error) {
        problems.push(
          `Input "manifests": ${m.source}: ${m.object.kind} ${m.object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    if (problems.length > 0) {
      throw new Error(
        `The cluster rejected the change in a dry run; nothing was changed:\n${problems.join('\n')}`,
      );
    }
    if (!this.o.dryRun) return undefined;
    this.note(
      `dry run: ${object.metadata.name} and ${this.o.others.length} other object(s) passed server-side validation; nothing was changed`,
    );
    return this.outcome({
      ok: true,
      dryRun: true,
      candidateColor: idle,
      ...(live ? { activeColor: live } : {}),
      deployment: object.metadata.name,
      images: imagesOf((object as unknown as Deployment).spec.template),
      message: `Dry run passed: would deploy ${object.metadata.name} and switch ${this.router.describe()} from ${live ?? 'nothing'} to ${idle}`,
    });
  }

  /**
   * The deploy as phases for the engine (engine/phases.ts). Before the switch nothing that serves
   * traffic changes, so only the switch (and an adoption) registers an undo that moves traffic.
   */
  private phases(s: Shared): Phase[] {
    const { namespace, app } = this.o;
    return [
      {
        name: 'prepare',
        run: async (ctx) => {
          const before = await this.liveColor();
          s.live = before.color;
          s.idle = s.live ? otherColor(s.live) : 'blue';
          s.idleName = colorDeploymentName(app, s.idle);
          s.routeVersion = before.resourceVersion;
          s.adopt = before.adopt === true;
          if (s.adopt) s.routeVersion = await this.adopt(ctx, s.routeVersion!);
          if (this.names[s.idle] !== s.idleName) await this.retireAdopted(ctx, s.idle, s.idleName);
          s.record.route = {
            kind: this.o.route,
            name: this.router.name,
            service: this.o.service,
            colorLabel: this.o.colorLabel,
          };
          s.record.deployments = { ...this.names };
          if (s.live) {
            const liveName = this.names[s.live];
            const liveDeployment = await this.objects.get<Deployment>(DEPLOYMENTS, namespace, liveName);
            s.record.stable = {
              color: s.live,
              images: liveDeployment ? imagesOf(liveDeployment.spec.template) : {},
              ...(liveDeployment ? { revision: String(currentRevision(liveDeployment)) } : {}),
            };
            s.autoscaled = (
              await findAutoscaled(this.objects, namespace, [liveName], (m) => this.o.runner.warn(m))
            ).get(liveName);
          }
          s.object = await this.idleDeployment(s.live, s.idle);
          this.sizeLikeAutoscaled(s.object, s.autoscaled, s.live);
          s.images = imagesOf((s.object as unknown as Deployment).spec.template);
          s.record.candidate = { color: s.idle, images: s.images };
          this.note(
            s.live
              ? `${this.router.describe()} serves ${s.live}; deploying ${s.idle} as ${s.idleName}`
              : `first deploy: no Service ${namespace}/${this.o.service} yet; deploying ${s.idle} as ${s.idleName}`,
          );
        },
      },
      {
        name: 'apply',
        run: async (ctx) => {
          for (const m of this.otherObjects(s.live !== undefined)) {
            if (m.object.kind === 'Service' && m.object.metadata.name === this.o.service) continue; // created at the switch
            ctx.undoWith(undoApply(this.objects, m.object, await this.objects.getLive<KubeObject>(m.object)));
            await this.objects.apply(m.object);
            this.note(`${m.object.kind} ${m.object.metadata.name} applied (${m.source})`);
          }
          // The idle colour serves nothing until the switch: a failed version left there harms no one.
          const existing = await this.objects.get<Deployment>(DEPLOYMENTS, namespace, s.idleName);
          if (existing) {
            for (const r of await listRevisions(this.objects, existing))
              if (r.replicas > 0) s.previousHashes.add(r.templateHash);
          }
          s.object.metadata.annotations = {
            ...s.object.metadata.annotations,
            [RECORD_ANNOTATION]: JSON.stringify(s.record),
          };
          ctx.wrote();
          await this.objects.apply(s.object);
          this.note(
            `${s.idleName} ${existing ? 'updated' : 'created'} with ${Object.values(s.images).join(', ')}`,
          );
        },
      },
      {
        name: 'rollout',
        run: async (ctx) => {
          const rollout = await waitForRollout({
            kube: this.o.kube,
            objects: this.objects,
            namespace,
            name: s.idleName,
            previousHashes: s.previousHashes,
            deadline: Date.now() + this.o.timeoutMs,
            signal: ctx.signal,
            onProgress: (text) => this.note(`${s.idleName}: ${text}`),
          });
          ctx.signal.throwIfAborted();
          if (!rollout.ok) {
            throw new PhaseFailed(
              `${s.idleName} did not become ready: ${rollout.reason}${rollout.events.length ? ` (${rollout.events.join('; ')})` : ''}`,
            );
          }
          s.revision = rollout.revision;
          this.note(`${s.idleName} is ready at revision ${s.revision}`);
          // Neither serves production traffic before the switch, so neither needs an undo.
          ctx.wrote();
          if (this.o.route === 'gateway-api') await this.colorService(s.idle, s.live, s.object);
          if (this.o.previewService) {
            s.previewUrl = await this.pointPreview(s.idle);
            this.note(`preview Service ${this.o.previewService} selects ${s.idle}`);
          }
        },
      },
      {
        name: 'pre-switch',
        run: (ctx) =>
          this.gate(
            ctx,
            'pre-switch',
            this.o.preSwitchChecks,
            s.idle,
            s.idleName,
            this.o.preSwitchDurationMs,
          ),
      },
      {
        name: 'switch',
        run: async (ctx) => {
          s.switchStarted = Date.now();
          if (!s.live) {
            ctx.undoWith(this.undoFirstService(s.idle));
            await this.switchWrite(s, () => this.createService(s.idle));
          } else {
            ctx.undoWith(this.undoSwitch(s));
            await this.switchWrite(s, async () => {
              s.routeVersion = (
                await this.router.setWeights({ [s.idle]: 100, [s.live!]: 0 }, s.routeVersion!)
              ).resourceVersion;
            });
          }
          this.note(`switched ${this.router.describe()} to ${s.idle} in one write`);
        },
      },
      {
        name: 'verify',
        run: async (ctx) => {
          const verified = await this.router.verify(
            { [s.idle]: 100, ...(s.live ? { [s.live]: 0 } : {}) },
            Date.now() + VERIFY_MS,
            ctx.signal,
          );
          ctx.signal.throwIfAborted();
          if (!verified.ok)
            throw new PhaseFailed(`the switch to ${s.idle} did not take effect: ${verified.detail}`);
          this.note(
            `${s.idle} serves: ${verified.detail} (${Date.now() - s.switchStarted} ms after the write)`,
          );
          if (this.o.observe) {
            const observed = await this.observe(s.idle, Date.now() + OBSERVE_MS, ctx.signal);
            ctx.signal.throwIfAborted();
            if (!observed.ok)
              throw new PhaseFailed(
                `the switch to ${s.idle} is not confirmed by the traffic: ${observed.detail}`,
              );
            this.note(
              `observed traffic: ${observed.detail} (${Date.now() - s.switchStarted} ms after the write)`,
            );
          }
          s.cutoverMs = Date.now() - s.switchStarted;
        },
      },
      {
        name: 'post-switch',
        run: (ctx) =>
          this.gate(ctx, 'post-switch', this.o.postSwitchChecks, s.idle, s.idleName, this.o.verifyDurationMs),
      },
      {
        // The goal is reached: what is left tidies up, and its failures are warnings.
        name: 'finish',
        run: async (ctx) => {
          if (!s.live) return;
          const liveName = this.names[s.live];
          await retargetAutoscaler(
            this.objects,
            namespace,
            s.autoscaled,
            { from: liveName, to: s.idleName },
            { note: (t) => this.note(t), warn: (t) => this.o.runner.warn(t) },
          );
          await this.keepPrevious(liveName, s.switchStarted, ctx.signal).catch((error: unknown) =>
            this.o.runner.warn(`${liveName} could not be scaled down: ${errorText(error)}`),
          );
        },
      },
    ];
  }

  /**
   * The switch write. When its answer is lost (a dropped connection after the server stored it),
   * the route is read back to learn whether traffic moved, so every message after it is true.
   */
  private async switchWrite(s: Shared, write: () => Promise<void>): Promise<void> {
    try {
      await write();
      s.switched = true;
    } catch (error) {
      const now = await this.router.getWeights().catch(() => undefined);
      // Unreadable: assume it moved, so the undo (which reads again) is not skipped in words.
      s.switched = now ? soleTarget(now.weights) === s.idle : true;
      if (s.switched)
        this.note(`the switch write failed (${errorText(error)}), but ${s.idle} is what the route now holds`);
      throw error;
    }
  }

  /** Puts traffic back on the colour that served; safe whether or not the switch write took effect. */
  private undoSwitch(s: Shared): Undo {
    const live = s.live!;
    const idle = s.idle;
    return {
      what: `switch ${this.router.describe()} back to ${live}`,
      run: async ({ deadline, signal, note }) => {
        const started = Date.now();
        const current = await this.router.getWeights();
        if (!current) throw new Error(`${this.router.describe()} is gone`);
        if (soleTarget(current.weights) !== live) {
          s.switched = true;
          const state = await this.router.setWeights({ [live]: 100, [idle]: 0 }, current.resourceVersion);
          s.routeVersion = state.resourceVersion;
          note(`switched ${this.router.describe()} back to ${live} in one write`);
        }
        const verified = await this.router.verify({ [live]: 100, [idle]: 0 }, deadline, signal);
        if (!verified.ok) throw new Error(`the switch back to ${live} is not confirmed: ${verified.detail}`);
        if (this.o.observe) {
          // The router's read-back confirms the switch back; the traffic is extra evidence, so a
          // Prometheus that cannot tell (it may be why we are here) is noted, not fatal.
          const observed = await this.observe(
            live,
            Math.min(deadline, Date.now() + OBSERVE_MS),
            signal,
          ).catch((error: unknown): Observed => ({ ok: false, requests: {}, detail: errorText(error) }));
          note(
            observed.ok
              ? `observed traffic: ${observed.detail}`
              : `traffic not confirmed: ${observed.detail}`,
          );
        }
        if (!s.switched) return;
        s.switchBackMs = Date.now() - started;
        note(`${live} serves again: ${verified.detail} (${s.switchBackMs} ms after the write)`);
        s.rolledBack = true;
      },
    };
  }

  /** A first deploy has no colour to switch back to: the Service it created goes, as before the run. */
  private undoFirstService(idle: Color): Undo {
    return {
      what: `delete Service ${this.o.namespace}/${this.o.service}, which this first deploy created`,
      run: async ({ signal }) => {
        const live = await this.objects.get<KubeObject & { spec?: { selector?: Record<string, string> } }>(
          SERVICES,
          this.o.namespace,
          this.o.service,
          { signal },
        );
        if (live && live.spec?.selector?.[this.o.colorLabel] === idle) {
          await this.objects.delete(
            SERVICES,
            this.o.namespace,
            this.o.service,
            { uid: live.metadata.uid as string },
            { signal },
          );
        }
      },
    };
  }

  /** An adopted plain Deployment held the idle colour: the colour moves to <app>-<color>, and the old one must not serve next to it. */
  private async retireAdopted(ctx: PhaseContext, idle: Color, idleName: string): Promise<void> {
    const name = this.names[idle];
    const before = await this.objects.mustGet<Deployment>(DEPLOYMENTS, this.o.namespace, name);
    const replicas = before.spec.replicas ?? 1;
    ctx.undoWith({
      what: `scale ${name} back to ${replicas}`,
      run: async ({ signal }) => {
        await this.objects.patch(DEPLOYMENTS, this.o.namespace, name, { spec: { replicas } }, 'merge', {
          signal,
        });
      },
    });
    await this.objects.patch(DEPLOYMENTS, this.o.namespace, name, { spec: { replicas: 0 } }, 'merge');
    this.note(`${name} (adopted as ${idle}) scaled to 0; ${idle} now runs as ${idleName}`);
    this.names[idle] = idleName;
  }

  /** Record and history, for success and failure alike (the engine makes a failure here a warning). */
  private async keepBooks(s: Shared, outcome: EngineOutcome): Promise<void> {
    if (outcome.ok) {
      s.record.phase = 'succeeded';
      s.record.stable = { color: s.idle, images: s.images, ...(s.revision ? { revision: s.revision } : {}) };
      delete s.record.candidate;
    } else {
      s.record.phase =
        s.switched && outcome.compensation === 'done'
          ? 'rolled-back'
          : outcome.reason === 'cancelled'
            ? 'cancelled'
            : 'failed';
      s.record.message = outcome.cause;
    }
    const active = outcome.ok ? s.idle : s.rolledBack || !s.switched ? s.live : s.idle;
    await this.finishRecord(
      s.record,
      active,
      s.revision,
      s.images,
      s.idle,
      s.idleName,
      outcome.ok ? undefined : outcome.cause,
    );
  }

  /** Where traffic is, read back from the router. */
  private async whereTrafficIs(s: Shared): Promise<string> {
    const state = await this.router.getWeights();
    if (!state) return `${this.router.describe()} does not exist: nothing is routed`;
    const target = soleTarget(state.weights);
    s.activeColor = isColor(target) ? target : undefined;
    if (!target) return `${this.router.describe()} splits traffic: ${describeWeights(state.weights)}`;
    const version =
      target === s.idle
        ? Object.values(s.images).join(', ')
        : Object.values(s.record.stable?.images ?? {}).join(', ');
    return `${target} serves all traffic through ${this.router.describe()}${version ? ` (${version})` : ''}`;
  }

  private async deploy(): Promise<BlueGreenOutcome> {
    const s: Shared = {
      idle: 'blue',
      idleName: colorDeploymentName(this.o.app, 'blue'),
      adopt: false,
      switched: false,
      rolledBack: false,
      switchStarted: 0,
      previousHashes: new Set(),
      images: {},
      object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: '' } },
      record: newRecord({ strategy: 'blue-green', app: this.o.app, run: this.o.run }),
    };
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
        description: `Blue-green deploy of ${this.o.app} by ${this.o.run.actor}`,
      },
      phases: this.phases(s),
      undoOnFailure: this.o.autoRollback,
      undoOnCancel: this.o.onCancel === 'rollback',
      undoBudgetMs: this.o.timeoutMs,
      keepBooks: async (outcome) => {
        try {
          await this.keepBooks(s, outcome);
        } finally {
          // Under the lock: the colour that served keeps its config, the idle one mounts the new.
          if (outcome.ok && this.o.config)
            await tidyConfigs(this.objects, this.o.namespace, this.o.app, this.o.runner);
        }
      },
      whereTrafficIs: () => this.whereTrafficIs(s),
      describeSuccess: () =>
        `${this.o.app}: ${s.idle} (${Object.values(s.images).join(', ')}) serves all traffic${s.live ? `; ${s.live} is the previous colour` : ''}`,
      what: `Blue-green deploy of ${this.o.app}`,
      timeline: this.timeline,
    });
    return this.outcome({
      candidateColor: s.idle,
      deployment: s.idleName,
      images: s.images,
      ok: result.ok,
      dryRun: false,
      cancelled: result.reason === 'cancelled',
      switched: result.ok || s.switched,
      rolledBack: s.rolledBack && result.compensation === 'done',
      ...(s.activeColor ? { activeColor: s.activeColor } : {}),
      ...(s.live ? { previousColor: s.live } : {}),
      ...(s.revision ? { revision: s.revision } : {}),
      ...(result.failedPhase ? { failedPhase: result.failedPhase } : {}),
      traffic: result.traffic,
      message: result.message,
      ...(s.previewUrl ? { previewUrl: s.previewUrl } : {}),
      ...(s.cutoverMs !== undefined ? { cutoverMs: s.cutoverMs } : {}),
      ...(s.switchBackMs !== undefined ? { switchBackMs: s.switchBackMs } : {}),
    });
  }

  /**
   * Makes a plain Deployment the live blue without downtime: its pods gain the colour label by a
   * rolling update (the Service, selecting only the app, keeps serving old and new pods), then the
   * Service selector gains the colour. The Deployment's immutable selector is left as it is.
   */
  /*
   * No undo: the Deployment keeps its image and the Service moves to a label every one of its pods
   * carries, so the adopted state serves what served before. Undoing it later would be harmful: a
   * selector without the colour would also pick the new colour's pods.
   */
  private async adopt(ctx: PhaseContext, resourceVersion: string): Promise<string> {
    const { namespace, app, colorLabel } = this.o;
    const plain = await this.objects.get<Deployment>(DEPLOYMENTS, namespace, app);
    if (!plain) {
      throw new Error(
        `Service ${namespace}/${this.o.service} selects no colour (no "${colorLabel}" in its selector) and there is no Deployment ${app} to adopt as blue; give input "app" the Deployment's name`,
      );
    }
    this.note(`adopting Deployment ${app} and Service ${this.o.service} as the live colour blue`);
    if (plain.spec.template.metadata?.labels?.[colorLabel] !== 'blue') {
      const previousHashes = new Set(
        (await listRevisions(this.objects, plain)).filter((r) => r.replicas > 0).map((r) => r.templateHash),
      );
      ctx.wrote();
      await this.objects.patch(
        DEPLOYMENTS,
        namespace,
        app,
        { spec: { template: { metadata: { labels: { [colorLabel]: 'blue' } } } } },
        'strategic',
      );
      const rollout = await waitForRollout({
        kube: this.o.kube,
        objects: this.objects,
        namespace,
        name: app,
        previousHashes,
        deadline: Date.now() + this.o.timeoutMs,
        signal: ctx.signal,
        onProgress: (text) => this.note(`${app} (adopting): ${text}`),
      });
      if (!rollout.ok)
        throw new PhaseFailed(
          `adopting ${app}: its pods did not take the label ${colorLabel}=blue: ${rollout.reason}`,
        );
    }
    const state = await this.router.setWeights({ blue: 100 }, resourceVersion);
    const verified = await this.router.verify({ blue: 100 }, Date.now() + VERIFY_MS, ctx.signal);
    if (!verified.ok) throw new PhaseFailed(`adopting ${app}: ${verified.detail}`);
    this.note(`adopted: ${this.router.describe()} selects ${colorLabel}=blue (${app})`);
    return state.resourceVersion;
  }

  private async observe(color: Color, deadline: number, signal: AbortSignal): Promise<Observed> {
    const { prometheusUrl, metric } = this.o.observe!;
    const services =
      this.o.route === 'gateway-api'
        ? COLORS.map((c) => colorServiceName(this.o.service, c))
        : [this.o.service];
    return confirmObservedTraffic({
      client: createPrometheusClient(prometheusUrl, this.o.prometheus),
      query: trafficQuery(metric, this.o.colorLabel, this.o.namespace, services),
      versionLabel: this.o.colorLabel,
      target: color,
      deadline,
      signal,
    });
  }

  /** Runs one phase's checks, if given; throws PhaseFailed unless they passed. */
  private async gate(
    ctx: PhaseContext,
    name: GateRun['name'],
    doc: unknown,
    color: Color,
    deployment: string,
    durationMs: number,
  ): Promise<void> {
    if (doc === undefined) return;
    const { checks, problems } = parseChecks(fillChecks(doc, { color, deployment }), {
      namespace: this.o.namespace,
      ...this.o.checkDefaults,
    });
    if (problems.length > 0) throw new Error(`Input "${name}-checks": ${problems.join('; ')}`);
    this.note(`${name} checks: ${checks.map((c) => c.name).join(', ')} for ${durationMs / 1000}s`);
    const decision = await runGate({
      checks,
      durationMs,
      intervalMs: Math.min(this.o.checkIntervalMs, durationMs),
      namespace: this.o.namespace,
      kube: this.o.kube,
      signal: ctx.signal,
      log: (text) => this.o.runner.info(`${name}: ${text}`),
      ...(this.o.checkDefaults.prometheusUrl ? { prometheusUrl: this.o.checkDefaults.prometheusUrl } : {}),
      ...(this.o.prometheus ? { prometheus: this.o.prometheus } : {}),
    });
    this.gates.push({ name, decision });
    this.note(`${name} checks: ${decision.verdict}: ${decision.reason}`);
    ctx.signal.throwIfAborted();
    if (!decision.passed)
      throw new PhaseFailed(`${name} checks did not pass (${decision.verdict}): ${decision.reason}`);
  }

  /** The live Service of a first deploy, from the manifests, selecting the colour. */
  private async createService(color: Color): Promise<void> {
    const manifest = this.o.others.find(
      (m) => m.object.kind === 'Service' && m.object.metadata.name === this.o.service,
    );
    if (!manifest) {
      throw new Error(
        `Service ${this.o.namespace}/${this.o.service} does not exist and the manifests hold none of that name: add the live Service to the manifests`,
      );
    }
    const service = structuredClone(manifest.object) as KubeObject & {
      spec?: { selector?: Record<string, string> };
    };
    service.spec = { ...service.spec, selector: { ...service.spec?.selector, [this.o.colorLabel]: color } };
    await this.objects.apply(service);
  }

  private async pointPreview(color: Color): Promise<string> {
    const name = this.o.previewService!;
    const live = await this.objects.get<KubeObject & { spec?: Record<string, unknown> }>(
      SERVICES,
      this.o.namespace,
      this.o.service,
    );
    const manifest = this.o.others.find(
      (m) => m.object.kind === 'Service' && m.object.metadata.name === this.o.service,
    )?.object;
    const source = live ?? manifest;
    if (!source)
      throw new Error(
        `Input "preview-service": no Service ${this.o.service} to copy ports and selector from`,
      );
    const spec = (source.spec ?? {}) as { selector?: Record<string, string>; ports?: unknown };
    const selector = { ...spec.selector, [this.o.colorLabel]: color };
    await this.objects.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace: this.o.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'cd-actions', 'cd-actions.dev/app': this.o.app },
      },
      spec: { selector, ports: spec.ports },
    });
    return `http://${name}.${this.o.namespace}.svc.cluster.local`;
  }

  /** Gateway API routes to one Service per colour: the idle colour's is made from its live twin. */
  private async colorService(color: Color, live: Color | undefined, deployment: KubeObject): Promise<void> {
    const name = colorServiceName(this.o.service, color);
    const portsOf = (o: KubeObject | undefined): unknown =>
      (o?.spec as { ports?: unknown } | undefined)?.ports;
    const twin = live
      ? await this.objects.get<KubeObject>(SERVICES, this.o.namespace, colorServiceName(this.o.service, live))
      : undefined;
    const manifest = this.o.others.find(
      (m) => m.object.kind === 'Service' && m.object.metadata.name === this.o.service,
    )?.object;
    const ports = portsOf(twin) ?? portsOf(manifest);
    if (!ports) {
      throw new Error(
        `Service ${name} is needed by the HTTPRoute and cannot be made: no Service ${this.o.service} in the manifests and no ${live ? colorServiceName(this.o.service, live) : 'live colour Service'} to copy ports from`,
      );
    }
    const selector = (deployment.spec as { selector?: { matchLabels?: Record<string, string> } }).selector
      ?.matchLabels;
    await this.objects.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name,
        namespace: this.o.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'cd-actions', 'cd-actions.dev/app': this.o.app },
      },
      spec: { selector, ports },
    });
    this.note(`Service ${name} selects ${color} for the HTTPRoute`);
  }

  /**
   * The previous colour stays up until the next deploy replaces it, or goes once the scale-down
   * delay since the switch has passed. No time limit on keeping it: with nothing installed in the
   * cluster, nothing would scale it down when a limit passed. A cancel during the delay leaves it up.
   */
  private async keepPrevious(name: string, switchedAt: number, signal: AbortSignal): Promise<void> {
    if (this.o.keepPrevious) {
      this.note(
        `${name} stays scaled up for an instant rollback until the next deploy (keep-previous: true)`,
      );
      return;
    }
    const delayMs = this.o.scaleDownDelayMs ?? SCALE_DOWN_DELAY_MS;
    const wait = Math.max(0, switchedAt + delayMs - Date.now());
    if (wait > 0) {
      this.note(
        `${name} scales to 0 in ${(wait / 1000).toFixed(1)}s, ${delayMs / 1000}s after the switch, once every node has stopped sending to it`,
      );
      await sleep(wait, signal);
    }
    await this.objects.patch(DEPLOYMENTS, this.o.namespace, name, { spec: { replicas: 0 } }, 'merge');
    this.note(`${name} scaled to 0 (keep-previous: false)`);
  }

  private async finishRecord(
    record: DeploymentRecord,
    active: Color | undefined,
    revision: string | undefined,
    images: Record<string, string>,
    idle: Color,
    idleName: string,
    reason: string | undefined,
  ): Promise<void> {
    if (await this.router.getWeights()) {
      await writeRecord(this.objects, this.router.ref, this.o.namespace, this.router.name, record);
    }
    await writeRecord(this.objects, DEPLOYMENTS, this.o.namespace, idleName, record);
    await appendHistory(this.objects, this.o.namespace, this.o.app, {
      action: 'deploy',
      strategy: 'blue-green',
      outcome: record.phase,
      deployment: idleName,
      ...(revision ? { revision } : {}),
      images,
      from: record.stable?.color === idle ? (active === idle ? undefined : active) : active,
      to: idle,
      ...(reason ? { reason } : {}),
      commit: this.o.run.sha,
      runUrl: record.runUrl,
      actor: this.o.run.actor,
      time: new Date().toISOString(),
    });
  }

  private outcome(
    o: Omit<BlueGreenOutcome, 'timeline' | 'gates' | 'route' | 'cancelled' | 'switched' | 'rolledBack'> &
      Partial<Pick<BlueGreenOutcome, 'cancelled' | 'switched' | 'rolledBack'>>,
  ): BlueGreenOutcome {
    return {
      cancelled: false,
      switched: false,
      rolledBack: false,
      ...o,
      route: this.router.describe(),
      gates: [...this.gates],
      timeline: [...this.timeline],
    };
  }
}
