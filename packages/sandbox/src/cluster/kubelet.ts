/**
 * The kubelet of the one simulated node: takes each new Pod through Pending, Running and
 * Ready, starts its workload server, and plays out image pull failures and crash loops with
 * the statuses and Events a real kubelet writes.
 */
import type { Faults } from '../faults.js';
import type { KubeObject, Store, StoreEvent } from '../store.js';
import type { EventRecorder } from './events.js';
import { behaviourOf, PodServer, type WorkloadBehaviour } from './workload.js';
import { kubeTime, podVersion, T } from './util.js';

export interface KubeletTimings {
  podStartMs: number;
  readyAfterMs: number;
  crashRestartMs: number;
  /** How long a deleted pod goes on serving (its app draining after SIGTERM), at most its grace period. */
  terminationMs: number;
}

type ContainerPhase = 'creating' | 'errImagePull' | 'imagePullBackOff' | 'running' | 'crashLoop';

interface ContainerSpec {
  name: string;
  image: string;
}

/** What the node knows about one pod, beyond what its status object shows. */
export interface PodRuntime {
  uid: string;
  namespace: string;
  name: string;
  containers: ContainerSpec[];
  behaviour: WorkloadBehaviour;
  phase: ContainerPhase;
  server?: PodServer;
  ready: boolean;
  /** When the pod last became Ready, in ms: ReplicaSets need it for minReadySeconds. */
  readySinceMs?: number;
  restartCount: number;
  scheduledAtMs: number;
  startedAtMs?: number;
  lastCrashStartedMs?: number;
  lastCrashFinishedMs?: number;
  readyTransitionMs: number;
  timers: Set<NodeJS.Timeout>;
  /** Deleted through the API and stopping: out of Endpoints, still answering until it stops. */
  terminating: boolean;
  deleted: boolean;
  log: string[];
}

const LOG_LINES = 200;

export function appendLog(runtime: PodRuntime, line: string): void {
  runtime.log.push(`${new Date().toISOString()} ${line}`);
  if (runtime.log.length > LOG_LINES) runtime.log.splice(0, runtime.log.length - LOG_LINES);
}

const NODE = 'sandbox-node';

export class Kubelet {
  private readonly pods = new Map<string, PodRuntime>();

  constructor(
    private readonly store: Store,
    private readonly faults: Faults,
    private readonly events: EventRecorder,
    private readonly timings: KubeletTimings,
    private readonly onError: (error: unknown) => void,
  ) {}

  runtime(namespace: string, name: string): PodRuntime | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  all(): PodRuntime[] {
    return [...this.pods.values()];
  }

  /** Called from the work queue for every Pod event. */
  handle(event: StoreEvent): void {
    const pod = event.object;
    const key = `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
    const known = this.pods.get(key);
    const ours = known !== undefined && known.uid === pod.metadata.uid;
    if (event.type === 'DELETED') {
      if (ours) {
        if (!known.terminating) this.recordKilling(known, pod);
        this.forget(key, known);
      }
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      if (ours) this.terminate(known, pod);
      else this.finishDeletion(pod);
      return;
    }
    if (ours) return;
    if (known) this.forget(key, known);
    const current = this.store.get(T.pods, pod.metadata.namespace, pod.metadata.name ?? '');
    if (!current || current.metadata.uid !== pod.metadata.uid) return;
    this.admit(key, current);
  }

  /**
   * A graceful deletion: the pod leaves Endpoints at once (the endpoints controller skips
   * Terminating pods), goes on answering requests that were already routed to it while its app
   * drains, then stops, and the kubelet removes the object.
   */
  private terminate(runtime: PodRuntime, pod: KubeObject): void {
    if (runtime.terminating) return;
    runtime.terminating = true;
    this.recordKilling(runtime, pod);
    for (const timer of runtime.timers) clearTimeout(timer);
    runtime.timers.clear();
    const graceMs = (pod.metadata.deletionGracePeriodSeconds ?? 30) * 1000;
    this.after(runtime, Math.min(graceMs, this.timings.terminationMs), () => {
      runtime.server?.close();
      this.finishDeletion(pod);
    });
  }

  private recordKilling(runtime: PodRuntime, pod: KubeObject): void {
    if (runtime.startedAtMs === undefined || runtime.deleted) return;
    for (const c of runtime.containers) {
      this.events.record(
        pod,
        'Normal',
        'Killing',
        `Stopping container ${c.name}`,
        'kubelet',
        `spec.containers{${c.name}}`,
      );
    }
  }

  /** Removes a stopped pod's object for good (grace period 0), unless it is gone already. */
  private finishDeletion(pod: KubeObject): void {
    const current = this.store.get(T.pods, pod.metadata.namespace, pod.metadata.name ?? '');
    if (current?.metadata.uid !== pod.metadata.uid) return;
    this.store.delete(T.pods, pod.metadata.namespace, pod.metadata.name ?? '', { gracePeriodSeconds: 0 });
  }

  stop(): void {
    for (const [key, runtime] of this.pods) this.forget(key, runtime);
  }

  private forget(key: string, runtime: PodRuntime): void {
    runtime.deleted = true;
    for (const timer of runtime.timers) clearTimeout(timer);
    runtime.timers.clear();
    runtime.server?.close();
    this.pods.delete(key);
  }

  private admit(key: string, pod: KubeObject): void {
    const spec = (pod.spec ?? {}) as {
      containers?: { name?: string; image?: string; env?: { name?: string; value?: string }[] }[];
    };
    const containers = (spec.containers ?? []).map((c, i) => ({
      name: c.name ?? `container-${i}`,
      image: c.image ?? '',
    }));
    const now = Date.now();
    const runtime: PodRuntime = {
      uid: pod.metadata.uid ?? '',
      namespace: pod.metadata.namespace ?? '',
      name: pod.metadata.name ?? '',
      containers,
      behaviour: behaviourOf(spec.containers),
      phase: 'creating',
      ready: false,
      restartCount: 0,
      scheduledAtMs: now,
      readyTransitionMs: now,
      timers: new Set(),
      terminating: false,
      deleted: false,
      log: [],
    };
    this.pods.set(key, runtime);
    this.events.record(
      pod,
      'Normal',
      'Scheduled',
      `Successfully assigned ${runtime.namespace}/${runtime.name} to ${NODE}`,
      'default-scheduler',
    );
    this.writeStatus(runtime);
    this.after(runtime, this.timings.podStartMs, () => this.start(runtime));
  }

  private after(runtime: PodRuntime, ms: number, fn: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      runtime.timers.delete(timer);
      if (runtime.deleted) return;
      try {
        const result = fn();
        if (result instanceof Promise) result.catch(this.onError);
      } catch (error) {
        this.onError(error);
      }
    }, ms);
    runtime.timers.add(timer);
  }

  private podObject(runtime: PodRuntime): KubeObject | undefined {
    const pod = this.store.get(T.pods, runtime.namespace, runtime.name);
    return pod && pod.metadata.uid === runtime.uid ? pod : undefined;
  }

  private record(
    runtime: PodRuntime,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    container?: string,
  ): void {
    const pod = this.podObject(runtime);
    if (pod)
      this.events.record(
        pod,
        type,
        reason,
        message,
        'kubelet',
        container ? `spec.containers{${container}}` : undefined,
      );
  }

  private async start(runtime: PodRuntime): Promise<void> {
    const main = runtime.containers[0];
    if (!main) return;
    for (const c of runtime.containers)
      this.record(runtime, 'Normal', 'Pulling', `Pulling image "${c.image}"`, c.name);
    if (runtime.behaviour.imagePullFails) {
      const bad = runtime.containers.find((c) => c.image.includes('does-not-exist')) ?? main;
      runtime.phase = 'errImagePull';
      this.record(
        runtime,
        'Warning',
        'Failed',
        `Failed to pull image "${bad.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${bad.image}": not found`,
        bad.name,
      );
      this.record(runtime, 'Warning', 'Failed', 'Error: ErrImagePull', bad.name);
      this.writeStatus(runtime);
      this.after(runtime, this.timings.crashRestartMs, () => this.pullBackOff(runtime, bad));
      return;
    }
    const version = podVersion(this.podObject(runtime) ?? { apiVersion: 'v1', kind: 'Pod', metadata: {} });
    for (const c of runtime.containers) {
      this.record(
        runtime,
        'Normal',
        'Pulled',
        `Successfully pulled image "${c.image}" in ${this.timings.podStartMs}ms`,
        c.name,
      );
      this.record(runtime, 'Normal', 'Created', `Created container ${c.name}`, c.name);
      this.record(runtime, 'Normal', 'Started', `Started container ${c.name}`, c.name);
    }
    runtime.startedAtMs = Date.now();
    runtime.phase = 'running';
    appendLog(runtime, `starting ${main.image} (version ${version})`);
    if (runtime.behaviour.crash) {
      this.writeStatus(runtime);
      this.after(runtime, this.timings.crashRestartMs, () => this.crash(runtime));
      return;
    }
    const server = new PodServer(
      { namespace: runtime.namespace, name: runtime.name, version },
      runtime.behaviour,
      this.faults,
      (line) => appendLog(runtime, line),
    );
    runtime.server = server;
    await server.listen();
    if (runtime.deleted) {
      server.close();
      return;
    }
    this.writeStatus(runtime);
    if (runtime.behaviour.neverReady) {
      this.after(runtime, this.timings.readyAfterMs, () => {
        server.write('readiness check failed: not ready');
        this.record(
          runtime,
          'Warning',
          'Unhealthy',
          'Readiness probe failed: HTTP probe failed with statuscode: 503',
          main.name,
        );
      });
      return;
    }
    this.after(runtime, runtime.behaviour.readyAfterMs ?? this.timings.readyAfterMs, () => {
      runtime.ready = true;
      runtime.readySinceMs = Date.now();
      runtime.readyTransitionMs = runtime.readySinceMs;
      server.ready = true;
      server.write('ready to serve traffic');
      this.writeStatus(runtime);
    });
  }

  private pullBackOff(runtime: PodRuntime, bad: ContainerSpec): void {
    runtime.phase = 'imagePullBackOff';
    this.record(runtime, 'Normal', 'BackOff', `Back-off pulling image "${bad.image}"`, bad.name);
    this.record(runtime, 'Warning', 'Failed', 'Error: ImagePullBackOff', bad.name);
    this.writeStatus(runtime);
    // Retries keep failing; re-record the back-off now and then rather than churn the status.
    this.after(runtime, this.timings.crashRestartMs * 10, () => this.pullBackOff(runtime, bad));
  }

  private crash(runtime: PodRuntime): void {
    const main = runtime.containers[0];
    if (!main) return;
    runtime.lastCrashStartedMs = runtime.lastCrashFinishedMs ?? runtime.startedAtMs;
    runtime.lastCrashFinishedMs = Date.now();
    runtime.restartCount += 1;
    runtime.phase = 'crashLoop';
    appendLog(runtime, 'fatal: SANDBOX_CRASH=true, exiting with code 1');
    this.record(
      runtime,
      'Warning',
      'BackOff',
      `Back-off restarting failed container ${main.name} in pod ${runtime.name}_${runtime.namespace}(${runtime.uid})`,
      main.name,
    );
    this.writeStatus(runtime);
    this.after(runtime, this.timings.crashRestartMs, () => this.crash(runtime));
  }

  private writeStatus(runtime: PodRuntime): void {
    const pod = this.podObject(runtime);
    if (!pod) return;
    pod.status = podStatus(runtime);
    this.store.update(T.pods, pod, { subresource: 'status' });
  }
}

function containerState(runtime: PodRuntime, image: string): Record<string, unknown> {
  switch (runtime.phase) {
    case 'creating':
      return { waiting: { reason: 'ContainerCreating' } };
    case 'errImagePull':
      return {
        waiting: { reason: 'ErrImagePull', message: `failed to pull and unpack image "${image}": not found` },
      };
    case 'imagePullBackOff':
      return { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } };
    case 'crashLoop':
      return {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off restarting failed container in pod ${runtime.name}_${runtime.namespace}(${runtime.uid})`,
        },
      };
    case 'running':
      return { running: { startedAt: kubeTime(runtime.startedAtMs) } };
  }
}

export function podStatus(runtime: PodRuntime): Record<string, unknown> {
  const running = runtime.phase === 'running' || runtime.phase === 'crashLoop';
  const names = runtime.containers.map((c) => c.name);
  const notReady = {
    reason: 'ContainersNotReady',
    message: `containers with unready status: [${names.join(' ')}]`,
  };
  const readyCondition = (type: string) =>
    runtime.ready
      ? { type, status: 'True', lastProbeTime: null, lastTransitionTime: kubeTime(runtime.readyTransitionMs) }
      : {
          type,
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: kubeTime(runtime.readyTransitionMs),
          ...notReady,
        };
  const scheduled = kubeTime(runtime.scheduledAtMs);
  return {
    phase: running ? 'Running' : 'Pending',
    conditions: [
      {
        type: 'PodReadyToStartContainers',
        status: running ? 'True' : 'False',
        lastProbeTime: null,
        lastTransitionTime: scheduled,
      },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: scheduled },
      readyCondition('Ready'),
      readyCondition('ContainersReady'),
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: scheduled },
    ],
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    ...(running ? { podIP: '127.0.0.1', podIPs: [{ ip: '127.0.0.1' }] } : {}),
    startTime: scheduled,
    qosClass: 'BestEffort',
    containerStatuses: runtime.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: running ? `docker.io/library/${c.image}@sha256:${'0'.repeat(64)}` : '',
      ...(running ? { containerID: `containerd://${runtime.uid.replace(/-/g, '')}${c.name}` } : {}),
      ready: runtime.ready,
      restartCount: runtime.restartCount,
      started: runtime.phase === 'running',
      state: containerState(runtime, c.image),
      lastState:
        runtime.phase === 'crashLoop'
          ? {
              terminated: {
                exitCode: 1,
                reason: 'Error',
                startedAt: kubeTime(runtime.lastCrashStartedMs),
                finishedAt: kubeTime(runtime.lastCrashFinishedMs),
              },
            }
          : {},
    })),
  };
}
