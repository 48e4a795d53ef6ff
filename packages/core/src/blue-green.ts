/**
 * deploy-blue-green against the cluster: deploy the idle colour, wait for it, gate it, switch the
 * router in one preconditioned write, confirm, gate again, and switch back on any failure or
 * cancel after the switch. Before the switch nothing that serves traffic is touched.
 */
import { findAutoscaled, retargetAutoscaler, type Autoscaled } from './autoscalers.js';
import {
  COLORS,
  colorDeployment,
  colorDeploymentName,
  fillChecks,
  isColor,
  otherColor,
  type Color,
} from './blue-green-plan.js';
import { createPrometheusClient } from './gate/prometheus-client.js';
import { confirmObservedTraffic, trafficQuery, type Observed } from './traffic/observe.js';
import { parseChecks, runGate, type CheckDefaults, type GateDecision } from './gate/index.js';
import type { RunContext } from './github.js';
import type { Kube } from './kube.js';
import { DEPLOYMENTS, KubeObjects, SERVICES } from './kube-objects.js';
import { underAppLock } from './lock.js';
import { applyImageOverrides, type ImageOverride, type KubeObject } from './manifests.js';
import {
  appendHistory,
  newRecord,
  readRecord,
  RECORD_ANNOTATION,
  writeRecord,
  type DeploymentRecord,
} from './record.js';
import { currentRevision, imagesOf, listRevisions } from './revisions.js';
import { waitForRollout, type Deployment } from './rollout.js';
import {
  colorServiceName,
  createRouter,
  soleTarget,
  type RouteKind,
  type TrafficRouter,
} from './traffic/index.js';

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
  /** Confirm each switch from per-version request counters in Prometheus. */
  observe?: { prometheusUrl: string; metric: string };
  preSwitchChecks?: unknown;
  postSwitchChecks?: unknown;
  checkDefaults: Partial<CheckDefaults>;
  preSwitchDurationMs: number;
  verifyDurationMs: number;
  checkIntervalMs: number;
  keepPreviousMs: number;
  timeoutMs: number;
  autoRollback: boolean;
  onCancel: 'rollback' | 'leave';
  lockWaitMs: number;
  dryRun: boolean;
  githubToken?: string;
  environment?: string;
  run: RunContext;
  signal: AbortSignal;
  log: (text: string) => void;
  /** A problem that does not fail the deploy (a job warning); defaults to log. */
  warn?: (text: string) => void;
}

export type Phase = 'deploy' | 'pre-switch' | 'switch' | 'post-switch' | 'done';

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
  failedPhase?: Phase;
  message: string;
  route: string;
  previewUrl?: string;
  gates: GateRun[];
  /** From the switch write until the router served the new colour (read back and confirmed). */
  cutoverMs?: number;
  switchBackMs?: number;
  timeline: { at: string; text: string }[];
}

/** How long a cancelled run may spend switching back: the runner kills the process ~10 s after SIGINT. */
const CANCEL_GRACE_MS = 7000;
/** How long the data plane may take to show a switch after the write. */
const VERIFY_MS = 15_000;

/** How long the traffic may take to show a switch in Prometheus: a few scrape intervals. */
const OBSERVE_MS = 20_000;

class Cancelled extends Error {}

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
    this.o.log(text);
  }

  private checkCancel(): void {
    if (this.o.signal.aborted) throw new Cancelled();
  }

  async run(): Promise<BlueGreenOutcome> {
    const dryRun = await this.validate();
    if (dryRun) return dryRun;
    return underAppLock(
      {
        objects: this.objects,
        namespace: this.o.namespace,
        app: this.o.app,
        run: this.o.run,
        lockWaitMs: this.o.lockWaitMs,
        signal: this.o.signal,
        log: this.o.log,
        github: {
          token: this.o.githubToken,
          environment: this.o.environment,
          description: `Blue-green deploy of ${this.o.app} by ${this.o.run.actor}`,
          inProgress: 'Deploying the idle colour',
        },
      },
      () => this.deploy(),
    );
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
    if (problems.length > 0) throw new Error(problems.join('\n'));
    return object;
  }

  private warn(text: string): void {
    (this.o.warn ?? this.o.log)(text);
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

  private async deploy(): Promise<BlueGreenOutcome> {
    const { namespace, app } = this.o;
    const before = await this.liveColor();
    const live = before.color;
    const idle: Color = live ? otherColor(live) : 'blue';
    const idleName = colorDeploymentName(app, idle);
    if (before.adopt) before.resourceVersion = await this.adopt(before.resourceVersion!);
    if (this.names[idle] !== idleName) {
      // An adopted plain Deployment held this colour: the colour moves to <app>-<color>, and the
      // old one must not serve next to it once the colour is live again.
      await this.objects.patch(DEPLOYMENTS, namespace, this.names[idle], { spec: { replicas: 0 } }, 'merge');
      this.note(`${this.names[idle]} (adopted as ${idle}) scaled to 0; ${idle} now runs as ${idleName}`);
      this.names[idle] = idleName;
    }
    const deployments: Record<string, string> = { ...this.names };
    const record = newRecord({ strategy: 'blue-green', app, run: this.o.run });
    record.route = {
      kind: this.o.route,
      name: this.router.name,
      service: this.o.service,
      colorLabel: this.o.colorLabel,
    };
    record.deployments = deployments;
    if (live) {
      const liveDeployment = await this.objects.get<Deployment>(DEPLOYMENTS, namespace, deployments[live]!);
      record.stable = {
        color: live,
        images: liveDeployment ? imagesOf(liveDeployment.spec.template) : {},
        ...(liveDeployment ? { revision: String(currentRevision(liveDeployment)) } : {}),
      };
    }
    this.note(
      live
        ? `${this.router.describe()} serves ${live}; deploying ${idle} as ${idleName}`
        : `first deploy: no Service ${namespace}/${this.o.service} yet; deploying ${idle} as ${idleName}`,
    );

    const autoscaled = live
      ? (await findAutoscaled(this.objects, namespace, [deployments[live]!], (m) => this.warn(m))).get(
          deployments[live]!,
        )
      : undefined;
    const object = await this.idleDeployment(live, idle);
    this.sizeLikeAutoscaled(object, autoscaled, live);
    const images = imagesOf((object as unknown as Deployment).spec.template);
    record.candidate = { color: idle, images };
    let phase: Phase = 'deploy';
    let switched = false;
    let activeColor = live;
    let rolledBack = false;
    let failure: string | undefined;
    let revision: string | undefined;
    let cutoverMs: number | undefined;
    let switchBackMs: number | undefined;
    let routeVersion = before.resourceVersion;
    let previewUrl: string | undefined;
    const base = { candidateColor: idle, deployment: idleName, images };

    try {
      for (const m of this.otherObjects(live !== undefined)) {
        if (m.object.kind === 'Service' && m.object.metadata.name === this.o.service) continue; // created at the switch
        await this.objects.apply(m.object);
        this.note(`${m.object.kind} ${m.object.metadata.name} applied (${m.source})`);
      }
      const existing = await this.objects.get<Deployment>(DEPLOYMENTS, namespace, idleName);
      const previousHashes = new Set<string>();
      if (existing) {
        for (const r of await listRevisions(this.objects, existing))
          if (r.replicas > 0) previousHashes.add(r.templateHash);
      }
      object.metadata.annotations = {
        ...object.metadata.annotations,
        [RECORD_ANNOTATION]: JSON.stringify(record),
      };
      await this.objects.apply(object);
      this.note(`${idleName} ${existing ? 'updated' : 'created'} with ${Object.values(images).join(', ')}`);
      const rollout = await waitForRollout({
        kube: this.o.kube,
        objects: this.objects,
        namespace,
        name: idleName,
        previousHashes,
        deadline: Date.now() + this.o.timeoutMs,
        signal: this.o.signal,
        onProgress: (text) => this.note(`${idleName}: ${text}`),
      });
      this.checkCancel();
      if (!rollout.ok) {
        failure = `${idleName} did not become ready: ${rollout.reason}${rollout.events.length ? ` (${rollout.events.join('; ')})` : ''}`;
        throw new PhaseFailed();
      }
      revision = rollout.revision;
      this.note(`${idleName} is ready at revision ${revision}`);

      if (this.o.route === 'gateway-api') await this.colorService(idle, live, object);
      if (this.o.previewService) {
        previewUrl = await this.pointPreview(idle);
        this.note(`preview Service ${this.o.previewService} selects ${idle}`);
      }

      phase = 'pre-switch';
      failure = await this.gate(
        'pre-switch',
        this.o.preSwitchChecks,
        idle,
        idleName,
        this.o.preSwitchDurationMs,
      );
      if (failure) throw new PhaseFailed();

      phase = 'switch';
      this.checkCancel();
      const started = Date.now();
      if (!live) {
        await this.createService(idle);
      } else {
        const state = await this.router.setWeights({ [idle]: 100, [live]: 0 }, routeVersion!);
        routeVersion = state.resourceVersion;
      }
      switched = true;
      activeColor = idle;
      this.note(`switched ${this.router.describe()} to ${idle} in one write`);
      const verified = await this.router.verify(
        { [idle]: 100, ...(live ? { [live]: 0 } : {}) },
        Date.now() + VERIFY_MS,
        this.o.signal,
      );
      this.checkCancel();
      if (!verified.ok) {
        failure = `the switch to ${idle} did not take effect: ${verified.detail}`;
        throw new PhaseFailed();
      }
      this.note(`${idle} serves: ${verified.detail} (${Date.now() - started} ms after the write)`);
      if (this.o.observe) {
        const observed = await this.observe(idle);
        this.checkCancel();
        if (!observed.ok) {
          failure = `the switch to ${idle} is not confirmed by the traffic: ${observed.detail}`;
          throw new PhaseFailed();
        }
        this.note(`observed traffic: ${observed.detail} (${Date.now() - started} ms after the write)`);
      }
      cutoverMs = Date.now() - started;

      phase = 'post-switch';
      failure = await this.gate(
        'post-switch',
        this.o.postSwitchChecks,
        idle,
        idleName,
        this.o.verifyDurationMs,
      );
      if (failure) throw new PhaseFailed();
      phase = 'done';
    } catch (error) {
      const cancelled = error instanceof Cancelled || this.o.signal.aborted;
      if (!cancelled && !(error instanceof PhaseFailed)) throw error;
      if (cancelled) failure = `the run was cancelled during the ${phase} phase`;
      this.note(failure!);
      const restore = cancelled ? this.o.onCancel === 'rollback' : this.o.autoRollback;
      const problems: string[] = [];
      if (switched && live && restore) {
        const started = Date.now();
        try {
          const current = await this.router.getWeights();
          const state = await this.router.setWeights({ [live]: 100, [idle]: 0 }, current!.resourceVersion);
          routeVersion = state.resourceVersion;
          this.note(`switched ${this.router.describe()} back to ${live} in one write`);
          const deadline = Date.now() + (cancelled ? CANCEL_GRACE_MS : VERIFY_MS);
          const verified = await this.router.verify({ [live]: 100, [idle]: 0 }, deadline);
          if (!verified.ok) problems.push(`the switch back to ${live} is not confirmed: ${verified.detail}`);
          else {
            if (this.o.observe && !cancelled) {
              const observed = await this.observe(live);
              if (observed.ok) this.note(`observed traffic: ${observed.detail}`);
              else
                problems.push(
                  `the switch back to ${live} is not confirmed by the traffic: ${observed.detail}`,
                );
            }
            switchBackMs = Date.now() - started;
            this.note(`${live} serves again: ${verified.detail} (${switchBackMs} ms after the write)`);
          }
          rolledBack = true;
          activeColor = live;
        } catch (backError) {
          problems.push(
            `switching back to ${live} failed: ${backError instanceof Error ? backError.message : String(backError)}`,
          );
        }
      } else if (switched && !live) {
        problems.push(`there is no previous colour to switch back to (first deploy): ${idle} stays live`);
      }
      record.phase = rolledBack ? 'rolled-back' : cancelled ? 'cancelled' : 'failed';
      record.message = failure;
      if (rolledBack || !switched) record.stable = live ? record.stable : undefined;
      await this.finishRecord(record, activeColor, revision, images, idle, idleName, failure).catch(
        () => undefined,
      );
      const after = !switched
        ? `traffic was not switched: ${live ?? 'nothing'} still serves`
        : rolledBack
          ? `switched back: ${live} serves again`
          : restore
            ? `${idle} is still live`
            : cancelled
              ? `on-cancel is leave: ${idle} stays live`
              : `auto-rollback is off: ${idle} stays live`;
      const message = [`Blue-green deploy of ${app} failed: ${failure}`, after, ...problems].join('. ');
      this.note(message);
      return this.outcome({
        ...base,
        ok: false,
        dryRun: false,
        cancelled,
        switched,
        rolledBack,
        ...(activeColor ? { activeColor } : {}),
        ...(live ? { previousColor: live } : {}),
        ...(revision ? { revision } : {}),
        failedPhase: phase,
        message,
        ...(previewUrl ? { previewUrl } : {}),
        ...(cutoverMs !== undefined ? { cutoverMs } : {}),
        ...(switchBackMs !== undefined ? { switchBackMs } : {}),
      });
    }

    record.phase = 'succeeded';
    record.stable = { color: idle, images, ...(revision ? { revision } : {}) };
    delete record.candidate;
    await this.finishRecord(record, idle, revision, images, idle, idleName, undefined);
    if (live) {
      await retargetAutoscaler(
        this.objects,
        namespace,
        autoscaled,
        { from: deployments[live]!, to: idleName },
        { note: (t) => this.note(t), warn: (t) => this.warn(t) },
      );
      await this.keepPrevious(deployments[live]!);
    }
    const message = `${app}: ${idle} (${Object.values(images).join(', ')}) serves all traffic${live ? `; ${live} is the previous colour` : ''}`;
    this.note(message);
    return this.outcome({
      ...base,
      ok: true,
      dryRun: false,
      switched: true,
      activeColor: idle,
      ...(live ? { previousColor: live } : {}),
      ...(revision ? { revision } : {}),
      message,
      ...(previewUrl ? { previewUrl } : {}),
      ...(cutoverMs !== undefined ? { cutoverMs } : {}),
    });
  }

  /**
   * Makes a plain Deployment the live blue without downtime: its pods gain the colour label by a
   * rolling update (the Service, selecting only the app, keeps serving old and new pods), then the
   * Service selector gains the colour. The Deployment's immutable selector is left as it is.
   */
  private async adopt(resourceVersion: string): Promise<string> {
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
        signal: this.o.signal,
        onProgress: (text) => this.note(`${app} (adopting): ${text}`),
      });
      if (!rollout.ok)
        throw new Error(
          `adopting ${app}: its pods did not take the label ${colorLabel}=blue: ${rollout.reason}`,
        );
    }
    const state = await this.router.setWeights({ blue: 100 }, resourceVersion);
    const verified = await this.router.verify({ blue: 100 }, Date.now() + VERIFY_MS, this.o.signal);
    if (!verified.ok) throw new Error(`adopting ${app}: ${verified.detail}`);
    this.note(`adopted: ${this.router.describe()} selects ${colorLabel}=blue (${app})`);
    return state.resourceVersion;
  }

  private async observe(color: Color): Promise<Observed> {
    const { prometheusUrl, metric } = this.o.observe!;
    const services =
      this.o.route === 'gateway-api'
        ? COLORS.map((c) => colorServiceName(this.o.service, c))
        : [this.o.service];
    return confirmObservedTraffic({
      client: createPrometheusClient(prometheusUrl),
      query: trafficQuery(metric, this.o.colorLabel, this.o.namespace, services),
      versionLabel: this.o.colorLabel,
      target: color,
      deadline: Date.now() + OBSERVE_MS,
      signal: this.o.signal,
    });
  }

  /** Runs one phase's checks, if given; the failure to report, or undefined when they passed. */
  private async gate(
    name: GateRun['name'],
    doc: unknown,
    color: Color,
    deployment: string,
    durationMs: number,
  ): Promise<string | undefined> {
    if (doc === undefined) return undefined;
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
      signal: this.o.signal,
      log: (text) => this.o.log(`${name}: ${text}`),
      ...(this.o.checkDefaults.prometheusUrl ? { prometheusUrl: this.o.checkDefaults.prometheusUrl } : {}),
    });
    this.gates.push({ name, decision });
    this.note(`${name} checks: ${decision.verdict}: ${decision.reason}`);
    this.checkCancel();
    return decision.passed
      ? undefined
      : `${name} checks did not pass (${decision.verdict}): ${decision.reason}`;
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

  private async keepPrevious(name: string): Promise<void> {
    if (this.o.keepPreviousMs > 0) {
      const until = new Date(Date.now() + this.o.keepPreviousMs).toISOString();
      await this.objects.patch(
        DEPLOYMENTS,
        this.o.namespace,
        name,
        { metadata: { annotations: { 'cd-actions.dev/keep-until': until } } },
        'merge',
      );
      this.note(`${name} stays scaled up for instant rollback (until ${until} or the next deploy)`);
      return;
    }
    await this.objects.patch(DEPLOYMENTS, this.o.namespace, name, { spec: { replicas: 0 } }, 'merge');
    this.note(`${name} scaled to 0 (keep-previous is 0s)`);
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

class PhaseFailed extends Error {}
