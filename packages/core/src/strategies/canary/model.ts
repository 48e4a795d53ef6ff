/**
 * What the canary's modules share: the options, the outcome, what the cluster held before the
 * run (Live), what the phases learn as they go (Shared), and the context every phase function
 * gets (the options, the client, the router and the canary's names).
 */
import { createHash } from 'node:crypto';
import { type CheckDefaults, type GateDecision, type Verdict } from '../../gate/index.js';
import type { PrometheusAccess } from '../../gate/prometheus-access.js';
import type { RunContext } from '../../github/github.js';
import type { Kube } from '../../kube/kube.js';
import { KubeObjects } from '../../kube/objects.js';
import { waitForRollout, type Deployment } from '../../kube/rollout.js';
import { errorText, PhaseFailed, type PhaseContext } from '../../engine/phases.js';
import { type ImageOverride, type KubeObject } from '../../manifests/manifests.js';
import type { ConfigMount } from '../../manifests/config-files.js';
import { type CanaryState, type DeploymentRecord } from '../../record/record.js';
import type { Runner } from '../../runner/runner.js';
import {
  describeWeights,
  sameHeaderRoute,
  type HeaderRoute,
  type RouteState,
  type TrafficRouter,
  CANARY_ROUTES,
} from '../../traffic/index.js';
import { canaryReplicas, shareOf } from '../../traffic/replicas.js';
import { CANARY, STABLE, type CanaryLabels, type Step } from './plan.js';

export type CanaryAction = 'run' | 'status' | 'promote' | 'abort';
export type CanaryRoute = (typeof CANARY_ROUTES)[number];
export type CanaryPhase = 'none' | 'progressing' | 'paused' | 'promoted' | 'aborted';

export interface PrometheusSettings {
  url: string;
  /** How `url` is reached: credentials, CA, or the Kubernetes API's Service proxy. */
  access?: PrometheusAccess;
  /** Request counter with namespace, service, version and status labels. */
  metric: string;
  /** Latency histogram (without `_bucket`). */
  durationMetric: string;
  statusLabel: string;
  windowMs: number;
}

/** The routing a canary keeps for its whole life: given to the run that starts it, read from its record after. */
export type Routing = Pick<
  CanaryOptions,
  'route' | 'service' | 'routeName' | 'ruleName' | 'versionLabel' | 'dynamicStableScale'
>;

/** What the action gives: the routing may be left out when a canary in progress holds it. */
export type CanaryInputs = Omit<CanaryOptions, keyof Routing> & Partial<Routing>;

export interface CanaryOptions {
  kube: Kube;
  namespace: string;
  /** The stable Deployment. */
  app: string;
  /** The stable Service. */
  service: string;
  route: CanaryRoute;
  /** The VirtualService, HTTPRoute or primary Ingress; default: the Service's name. */
  routeName?: string;
  /** Istio: the http route whose weights are edited, by name. */
  ruleName?: string;
  /** Pod label (and metric label) telling the canary's pods: they carry `canary`. */
  versionLabel: string;
  /**
   * Argo Rollouts' dynamicStableScale: the stable shrinks to the share of traffic it keeps, and
   * an abort steps the canary's weight down as the stable's pods come back. Mesh routers only.
   */
  dynamicStableScale: boolean;
  /** The new version: a Deployment manifest, or none to take the stable's with `images`. */
  deployment?: KubeObject;
  others: { object: KubeObject; source: string }[];
  images: ImageOverride[];
  /** The app's config (config-files) the canary mounts (and the stable, once promoted); its ConfigMap is among `others`. */
  config?: ConfigMount;
  action: CanaryAction;
  steps: Step[];
  /** Go no further than this weight (one step per job); undefined: every step. */
  weight?: number;
  headerRoute?: HeaderRoute;
  checks?: unknown;
  checkDefaults: Partial<CheckDefaults>;
  prometheus?: PrometheusSettings;
  verifySplit: boolean;
  /** Percentage points allowed on top of the sampling error. */
  splitTolerance: number;
  /** The fixed comparison: the canary's error rate at most this many points (0.01 = one) above the stable's. */
  maxErrorIncrease: number;
  /** Given: health-gate's sequential test instead, "not worse" below (1 + this) × the stable's error rate (1: twice). */
  maxErrorRatio?: number;
  /** Allowed relative increase of the canary's p95 latency over the stable's (0.2: 20%). */
  maxLatencyIncrease: number;
  minRequests: number;
  stepDurationMs: number;
  checkIntervalMs: number;
  scaleDownDelayMs: number;
  timeoutMs: number;
  onCancel: 'abort' | 'leave';
  lockWaitMs: number;
  githubToken?: string;
  environment?: string;
  run: RunContext;
  signal: AbortSignal;
  runner: Runner;
}

export interface StepRun {
  weight: number;
  at: string;
  verdict?: Verdict;
  /** The canary's share seen in the traffic, percent. */
  observed?: number;
  runId?: string;
}

export interface CanaryOutcome {
  ok: boolean;
  action: CanaryAction;
  phase: CanaryPhase;
  /** The canary's weight when the step ends, read back from the router. */
  weight: number;
  stableVersion: string;
  canaryVersion: string;
  observedSplit?: string;
  /** The last gate's verdict in this run; none when no gate ran. */
  verdict: Verdict | 'none';
  failedPhase?: string;
  message: string;
  traffic?: string;
  route: string;
  /** The replicas router approximates weights by pod counts. */
  approximated: boolean;
  firstDeploy: boolean;
  header?: string;
  /** dynamic-stable-scale: what became of the stable's size, in words. */
  stableScale?: string;
  steps: StepRun[];
  gates: { name: string; decision: GateDecision }[];
  timeline: { at: string; text: string }[];
}

/** How long the data plane may take to show a weight after the write. */
export const VERIFY_MS = 15_000;
/** How long the traffic may take to show a split in Prometheus: scrapes plus enough requests. */
export const SPLIT_MS = 60_000;

/** What the cluster holds before anything is written. */
export interface Live {
  stable?: Deployment;
  stableService?: KubeObject;
  canary?: Deployment;
  record?: DeploymentRecord;
  /** The canary in progress, if any (an aborted or promoted one is history). */
  state?: CanaryState;
  route?: RouteState;
}

export interface Shared {
  live: Live;
  record: DeploymentRecord;
  state: CanaryState;
  /** The canary Deployment to apply (run only). */
  object?: KubeObject;
  weight: number;
  header?: HeaderRoute;
  routeVersion: string;
  stableImages: Record<string, string>;
  canaryImages: Record<string, string>;
  promoting: boolean;
  promoted: boolean;
  aborted: boolean;
  /** Pod-template hash of the stable after promotion began: marked failed if it is undone. */
  promotedHash?: string;
  promotedRevision?: string;
  observedSplit?: string;
  /** The canary's share last seen in the traffic, percent. */
  split?: number;
  verdict: Verdict | 'none';
  /** dynamic-stable-scale: the last thing done to the stable's size, in words (for the summary). */
  stableScale?: string;
}

export function digestOf(template: unknown): string {
  return createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 16);
}

export function versionText(images: Record<string, string>): string {
  return Object.values(images).join(', ') || 'unknown';
}

/** What every phase function of a canary needs. */
export interface CanaryContext {
  o: CanaryOptions;
  objects: KubeObjects;
  router: TrafficRouter;
  labels: CanaryLabels;
  /** Labels the stable keeps on promotion (an Istio stable subset's). */
  keepLabels: Record<string, string>;
  /** Whether the router sends to a canary Service of its own (so the canary's pods must stay out of the stable's). */
  separate: boolean;
  names: { deployment: string; service: string };
  note(text: string): void;
  gates: CanaryOutcome['gates'];
}

/** Waits for a Deployment's rollout; a failure is the phase's failure, with the pods' events. */
export async function waitReady(
  c: Pick<CanaryContext, 'o' | 'objects' | 'note'>,
  ctx: PhaseContext,
  name: string,
  previousHashes: Set<string>,
  podSelector?: string,
): Promise<{ revision?: string; templateHash?: string }> {
  const rollout = await waitForRollout({
    kube: c.o.kube,
    objects: c.objects,
    namespace: c.o.namespace,
    name,
    previousHashes,
    ...(podSelector ? { podSelector } : {}),
    deadline: Date.now() + c.o.timeoutMs,
    signal: ctx.signal,
    onProgress: (text) => c.note(`${name}: ${text}`),
  });
  ctx.signal.throwIfAborted();
  if (!rollout.ok)
    throw new PhaseFailed(
      `${name} did not become ready: ${rollout.reason}${rollout.events.length ? ` (${rollout.events.join('; ')})` : ''}`,
    );
  return {
    ...(rollout.revision ? { revision: rollout.revision } : {}),
    ...(rollout.templateHash ? { templateHash: rollout.templateHash } : {}),
  };
}

/**
 * The canary's weight (and the header route: null removes it, undefined leaves it) in one write.
 * When the answer is lost (the connection dropped after the server stored it, or a retry then
 * conflicted with its own write), the route is read back: holding what was asked is success.
 */
export async function writeWeight(
  c: CanaryContext,
  weight: number,
  resourceVersion: string,
  header: HeaderRoute | null | undefined,
  stableReplicas: number,
): Promise<RouteState> {
  try {
    return await c.router.setWeights({ [STABLE]: 100 - weight, [CANARY]: weight }, resourceVersion, header);
  } catch (error) {
    const now = await c.router.getWeights().catch(() => undefined);
    // The replicas router reads back the share its pod counts give, not the weight asked.
    const expected =
      c.o.route === 'replicas' ? shareOf(canaryReplicas(weight, stableReplicas), stableReplicas) : weight;
    const held =
      now !== undefined &&
      now.resourceVersion !== resourceVersion &&
      (now.weights[CANARY] ?? 0) === expected &&
      (header === undefined || sameHeaderRoute(now.header, header ?? undefined));
    if (!held) throw error;
    c.note(
      `the weight write failed (${errorText(error)}), but ${c.router.describe()} holds ${describeWeights(now.weights)}`,
    );
    return now;
  }
}
