/**
 * Waits for a Deployment's rollout by watching it and its pods, and decides as soon as the
 * outcome is clear: complete (what `kubectl rollout status` waits for), or failed — a new pod in
 * ImagePullBackOff, CrashLoopBackOff or restarting, pods refused (ReplicaFailure), or
 * ProgressDeadlineExceeded — without waiting for the timeout.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kube } from './kube.js';
import { DEPLOYMENTS, EVENTS, PODS, resourcePath, type KubeObjects } from './objects.js';
import { watchObjects, WatchTimeoutError } from './watch.js';
import { REVISION_ANNOTATION } from './annotations.js';

export { REVISION_ANNOTATION };

export interface Deployment {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    generation?: number;
    resourceVersion?: string;
    uid?: string;
    annotations?: Record<string, string>;
    labels?: Record<string, string>;
  };
  spec: {
    replicas?: number;
    selector: { matchLabels?: Record<string, string> };
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
      spec: { containers: { name: string; image: string }[] };
    };
    progressDeadlineSeconds?: number;
    paused?: boolean;
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; exitCode?: number };
  };
}

export interface Pod {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

/** Waiting reasons that will not fix themselves: the rollout has failed once a new pod shows one. */
const FATAL_WAITING_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'CrashLoopBackOff',
  'InvalidImageName',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);
/** Restarts of a new pod during its own rollout that mean it is not healthy. */
const RESTART_LIMIT = 2;

export interface RolloutProgress {
  at: Date;
  text: string;
}

export type RolloutResult =
  | {
      ok: true;
      deployment: Deployment;
      revision: string;
      /** pod-template-hash of the new pods, when seen */ templateHash?: string;
    }
  | { ok: false; deployment: Deployment | undefined; reason: string; pod?: string; events: string[] };

export function desiredReplicas(d: Deployment): number {
  return d.spec.replicas ?? 1;
}

/** The same reading as `kubectl rollout status`: undefined while in progress, else the verdict. */
export function judgeDeployment(d: Deployment): { done: true } | { failed: string } | undefined {
  const status = d.status ?? {};
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      failed: `ProgressDeadlineExceeded: ${progressing.message ?? 'the rollout made no progress within its deadline'}`,
    };
  }
  if ((status.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) return undefined;
  // Pods the ReplicaSet may not create (Pod Security, an admission webhook) never come: kubectl
  // would wait out the progress deadline; the cause is known now, so the rollout has failed now.
  // An exceeded quota is the exception: it can clear as old pods go (maxUnavailable > 0), so it
  // is left to the progress deadline.
  const replicaFailure = status.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True');
  if (replicaFailure && !/exceeded quota/.test(replicaFailure.message ?? '')) {
    return {
      failed: `ReplicaFailure: ${replicaFailure.reason ?? 'FailedCreate'}: ${replicaFailure.message ?? 'pods cannot be created'}`,
    };
  }
  const want = desiredReplicas(d);
  if ((status.updatedReplicas ?? 0) < want) return undefined;
  if ((status.replicas ?? 0) > (status.updatedReplicas ?? 0)) return undefined; // old pods still terminating
  if ((status.availableReplicas ?? 0) < (status.updatedReplicas ?? 0)) return undefined;
  if ((status.unavailableReplicas ?? 0) > 0) return undefined;
  return { done: true };
}

export function describeDeployment(d: Deployment | undefined): string {
  if (!d) return 'the Deployment was not seen';
  const s = d.status ?? {};
  return `${s.updatedReplicas ?? 0}/${desiredReplicas(d)} updated, ${s.availableReplicas ?? 0} available, ${s.replicas ?? 0} total, observed generation ${s.observedGeneration ?? 0}/${d.metadata.generation ?? 0}`;
}

/** Why a pod of the new version is failing, or undefined while it looks fine. */
export function judgePod(pod: Pod, baselineRestarts: number): string | undefined {
  for (const cs of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const waiting = cs.state?.waiting?.reason;
    if (waiting && FATAL_WAITING_REASONS.has(waiting)) {
      return `container ${cs.name} is in ${waiting}${cs.state?.waiting?.message ? `: ${cs.state.waiting.message}` : ''}`;
    }
    if ((cs.restartCount ?? 0) - baselineRestarts >= RESTART_LIMIT) {
      return `container ${cs.name} restarted ${cs.restartCount} times`;
    }
  }
  return undefined;
}

function selectorString(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export interface WaitForRolloutOptions {
  kube: Kube;
  objects: KubeObjects;
  namespace: string;
  name: string;
  /** Template hashes of ReplicaSets that served before: their pods are not judged. */
  previousHashes: Set<string>;
  /**
   * Which pods to judge, when the Deployment's selector also matches another workload's pods
   * (a canary beside its stable): e.g. `app=web,version!=canary`. Default: the selector.
   */
  podSelector?: string;
  deadline: number;
  signal?: AbortSignal;
  onProgress?: (text: string) => void;
}

/** Last events of a pod, newest last, as `Reason: message` lines. */
export async function podEvents(
  objects: KubeObjects,
  namespace: string,
  pod: string,
  limit = 5,
): Promise<string[]> {
  try {
    const list = await objects.list<{
      involvedObject?: { name?: string; kind?: string };
      reason?: string;
      message?: string;
      lastTimestamp?: string;
      eventTime?: string;
      metadata: { creationTimestamp?: string; resourceVersion?: string };
    }>(EVENTS, namespace, { fieldSelector: `involvedObject.name=${pod}` }, { deadlineMs: 5000 });
    return (
      list.items
        .filter((e) => e.involvedObject?.name === pod)
        // Timestamps have one-second resolution; the resourceVersion orders events within a second.
        .sort(
          (a, b) =>
            (a.lastTimestamp ?? a.eventTime ?? a.metadata.creationTimestamp ?? '').localeCompare(
              b.lastTimestamp ?? b.eventTime ?? b.metadata.creationTimestamp ?? '',
            ) || Number(a.metadata.resourceVersion ?? 0) - Number(b.metadata.resourceVersion ?? 0),
        )
        .slice(-limit)
        .map((e) => `${e.reason ?? 'Event'}: ${e.message ?? ''}`)
    );
  } catch {
    return [];
  }
}

export async function waitForRollout(options: WaitForRolloutOptions): Promise<RolloutResult> {
  const { kube, objects, namespace, name } = options;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const say = options.onProgress ?? (() => undefined);
  let latest: Deployment | undefined;
  let lastSaid = '';
  let podFailure: { pod: string; reason: string } | undefined;
  let newHash: string | undefined;

  const deploymentWait = watchObjects<KubernetesObject>({
    kube,
    path: resourcePath(DEPLOYMENTS, namespace),
    fieldSelector: `metadata.name=${name}`,
    deadline: options.deadline,
    signal,
    what: `deployment ${namespace}/${name} to finish its rollout`,
    describe: (d) => describeDeployment((d as Deployment | undefined) ?? latest),
    onEvent: (type, object) => {
      const d = object as unknown as Deployment;
      if (type === 'DELETED')
        throw new Error(`Deployment ${namespace}/${name} was deleted during the rollout`);
      latest = d;
      const text = describeDeployment(d);
      if (text !== lastSaid) {
        lastSaid = text;
        say(text);
      }
      return judgeDeployment(d) ? 'done' : undefined;
    },
  });

  const podsWait = (async (): Promise<void> => {
    const d = await objects.mustGet<Deployment>(DEPLOYMENTS, namespace, name);
    await watchObjects<KubernetesObject>({
      kube,
      path: resourcePath(PODS, namespace),
      labelSelector: options.podSelector ?? selectorString(d.spec.selector.matchLabels),
      deadline: options.deadline,
      signal,
      what: `pods of ${namespace}/${name}`,
      onEvent: (type, object) => {
        const pod = object as unknown as Pod;
        const hash = pod.metadata.labels?.['pod-template-hash'];
        if (
          type === 'DELETED' ||
          pod.metadata.deletionTimestamp ||
          (hash && options.previousHashes.has(hash))
        )
          return;
        newHash = hash ?? newHash;
        // Every pod judged here belongs to the new template, so all of its restarts count.
        const reason = judgePod(pod, 0);
        if (reason) {
          podFailure = { pod: pod.metadata.name, reason };
          return 'done';
        }
        return undefined;
      },
    });
  })();

  try {
    // The first watch to decide wins; the other is stopped.
    const winner = await Promise.race([
      deploymentWait.then(() => 'deployment' as const),
      podsWait.then(() => 'pods' as const),
    ]);
    stop.abort();
    await Promise.allSettled([deploymentWait, podsWait]);
    if (winner === 'pods' && podFailure) {
      say(`pod ${podFailure.pod}: ${podFailure.reason}`);
      return {
        ok: false,
        deployment: latest,
        pod: podFailure.pod,
        reason: `pod ${podFailure.pod}: ${podFailure.reason}`,
        events: await podEvents(objects, namespace, podFailure.pod),
      };
    }
    const verdict = latest ? judgeDeployment(latest) : undefined;
    if (latest && verdict && 'failed' in verdict) {
      return { ok: false, deployment: latest, reason: verdict.failed, events: [] };
    }
    if (!latest) throw new Error(`Deployment ${namespace}/${name} was not seen`);
    return {
      ok: true,
      deployment: latest,
      revision: latest.metadata.annotations?.[REVISION_ANNOTATION] ?? '?',
      ...(newHash ? { templateHash: newHash } : {}),
    };
  } catch (error) {
    stop.abort();
    await Promise.allSettled([deploymentWait, podsWait]);
    if (error instanceof WatchTimeoutError) {
      return { ok: false, deployment: latest, reason: error.message, events: [] };
    }
    throw error;
  }
}
