/**
 * ReplicaSet → Pods: keeps the number of the ReplicaSet's pods at spec.replicas and reports
 * replicas, ready and available (ready for minReadySeconds) in its status.
 */
import type { KubeObject, Store } from '../store.js';
import type { EventRecorder } from './events.js';
import type { Kubelet } from './kubelet.js';
import type { WorkQueue } from './queue.js';
import { podSecurityRefusal } from '../pod-security.js';
import { isControlledBy, isNotFound, kubeTime, randomSuffix, stableJson, T } from './util.js';

interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  template?: {
    metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    spec?: Record<string, unknown>;
  };
}

export interface PodHealth {
  running: boolean;
  ready: boolean;
  readySinceMs?: number;
  restartCount: number;
}

export function podHealth(pod: KubeObject, kubelet: Kubelet): PodHealth {
  const runtime = kubelet.runtime(pod.metadata.namespace ?? '', pod.metadata.name ?? '');
  if (runtime && runtime.uid === pod.metadata.uid) {
    return {
      running: runtime.phase === 'running' || runtime.phase === 'crashLoop',
      ready: runtime.ready,
      readySinceMs: runtime.readySinceMs,
      restartCount: runtime.restartCount,
    };
  }
  // A pod the kubelet has not admitted yet: trust its status object.
  const status = (pod.status ?? {}) as {
    phase?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  return {
    running: status.phase === 'Running',
    ready: ready?.status === 'True',
    readySinceMs: ready?.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : undefined,
    restartCount: 0,
  };
}

function isActive(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

interface ReplicaSetCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** ReplicaFailure (FailedCreate) while creations are refused, gone once one succeeds again. */
function withReplicaFailure(
  conditions: ReplicaSetCondition[],
  failure: string | undefined,
): ReplicaSetCondition[] {
  const others = conditions.filter((c) => c.type !== 'ReplicaFailure');
  if (!failure) return others;
  const current = conditions.find((c) => c.type === 'ReplicaFailure');
  if (current?.status === 'True' && current.message === failure) return conditions;
  return [
    ...others,
    {
      type: 'ReplicaFailure',
      status: 'True',
      reason: 'FailedCreate',
      message: failure,
      lastTransitionTime: kubeTime(),
    },
  ];
}

export class ReplicaSetController {
  constructor(
    private readonly store: Store,
    private readonly kubelet: Kubelet,
    private readonly events: EventRecorder,
    private readonly queue: WorkQueue,
  ) {}

  enqueue(namespace: string, name: string): void {
    this.queue.enqueue(`rs/${namespace}/${name}`, () => this.sync(namespace, name));
  }

  /** Pods are enqueued under their controlling ReplicaSet. */
  onPod(pod: KubeObject): void {
    const owner = (pod.metadata.ownerReferences ?? []).find(
      (r) => r.controller === true && r.kind === 'ReplicaSet',
    );
    if (owner && pod.metadata.namespace) this.enqueue(pod.metadata.namespace, owner.name);
  }

  sync(namespace: string, name: string): void {
    const rs = this.store.get(T.replicasets, namespace, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const spec = (rs.spec ?? {}) as ReplicaSetSpec;
    const desired = spec.replicas ?? 1;
    let pods = this.store.list(T.pods, namespace).items.filter((p) => isControlledBy(p, rs) && isActive(p));

    let createFailure: string | undefined;
    if (pods.length < desired) {
      for (let i = pods.length; i < desired; i++) {
        const created = this.createPod(rs, spec);
        if ('refused' in created) {
          createFailure = created.refused;
          break;
        }
        pods.push(created.pod);
      }
    } else if (pods.length > desired) {
      const doomed = this.rankForDeletion(pods).slice(0, pods.length - desired);
      for (const pod of doomed) {
        try {
          this.store.delete(T.pods, namespace, pod.metadata.name ?? '');
          this.events.record(
            rs,
            'Normal',
            'SuccessfulDelete',
            `Deleted pod: ${pod.metadata.name}`,
            'replicaset-controller',
          );
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      const gone = new Set(doomed.map((p) => p.metadata.uid));
      pods = pods.filter((p) => !gone.has(p.metadata.uid));
    }

    const minReadyMs = (spec.minReadySeconds ?? 0) * 1000;
    const now = Date.now();
    let ready = 0;
    let available = 0;
    let nextAvailableInMs: number | undefined;
    for (const pod of pods) {
      const health = podHealth(pod, this.kubelet);
      if (!health.ready) continue;
      ready += 1;
      const availableAt = (health.readySinceMs ?? now) + minReadyMs;
      if (availableAt <= now) available += 1;
      else nextAvailableInMs = Math.min(nextAvailableInMs ?? Infinity, availableAt - now);
    }
    if (nextAvailableInMs !== undefined) {
      this.queue.enqueueAfter(
        `rs/${namespace}/${name}`,
        () => this.sync(namespace, name),
        nextAvailableInMs + 5,
      );
    }
    const status = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.length,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    const current = (rs.status ?? {}) as Record<string, unknown>;
    const currentConditions = (current.conditions ?? []) as ReplicaSetCondition[];
    const conditions = withReplicaFailure(currentConditions, createFailure);
    if (
      Object.entries(status).some(([k, v]) => current[k] !== v) ||
      stableJson(conditions) !== stableJson(currentConditions)
    ) {
      const { conditions: _old, ...rest } = current;
      this.store.update(
        T.replicasets,
        { ...rs, status: { ...rest, ...status, ...(conditions.length > 0 ? { conditions } : {}) } },
        { subresource: 'status' },
      );
    }
    // The real controller retries refused creations with a back-off; a fixed second does here.
    if (createFailure)
      this.queue.enqueueAfter(`rs/${namespace}/${name}`, () => this.sync(namespace, name), 1000);
  }

  /** Creates one pod, unless admission (Pod Security) refuses it: then a FailedCreate event. */
  private createPod(rs: KubeObject, spec: ReplicaSetSpec): { pod: KubeObject } | { refused: string } {
    const template = spec.template ?? {};
    const name = `${rs.metadata.name}-${randomSuffix()}`;
    const refusal = podSecurityRefusal(
      this.store.get(T.namespaces, undefined, rs.metadata.namespace ?? ''),
      template.spec,
    );
    if (refusal) {
      // Admission runs before a generated name exists, so the API names the prefix.
      const message = `pods "${rs.metadata.name}-" is forbidden: ${refusal}`;
      this.events.record(
        rs,
        'Warning',
        'FailedCreate',
        `Error creating: ${message}`,
        'replicaset-controller',
      );
      return { refused: message };
    }
    const pod = this.store.create(T.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: { ...(template.metadata?.labels ?? {}) },
        ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata.name ?? '',
            uid: rs.metadata.uid ?? '',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { restartPolicy: 'Always', ...structuredClone(template.spec ?? {}), nodeName: 'sandbox-node' },
      status: { phase: 'Pending' },
    });
    this.events.record(
      rs,
      'Normal',
      'SuccessfulCreate',
      `Created pod: ${pod.metadata.name}`,
      'replicaset-controller',
    );
    return { pod };
  }

  /** Kubernetes' order: not running before running, not ready before ready, newest first. */
  private rankForDeletion(pods: KubeObject[]): KubeObject[] {
    const scored = pods.map((pod) => ({ pod, health: podHealth(pod, this.kubelet) }));
    scored.sort((a, b) => {
      if (a.health.running !== b.health.running) return a.health.running ? 1 : -1;
      if (a.health.ready !== b.health.ready) return a.health.ready ? 1 : -1;
      if (a.health.ready && b.health.ready && a.health.readySinceMs !== b.health.readySinceMs) {
        return (b.health.readySinceMs ?? 0) - (a.health.readySinceMs ?? 0);
      }
      if (a.health.restartCount !== b.health.restartCount)
        return b.health.restartCount - a.health.restartCount;
      return (b.pod.metadata.creationTimestamp ?? '').localeCompare(a.pod.metadata.creationTimestamp ?? '');
    });
    return scored.map((s) => s.pod);
  }
}
