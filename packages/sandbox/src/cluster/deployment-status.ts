/**
 * Deployment status and conditions, computed the way the Kubernetes deployment controller
 * does (pkg/controller/deployment/sync.go and util/deployment_util.go), so `kubectl rollout
 * status` and actions reading conditions see the reasons they expect.
 */
import type { KubeObject } from '../store.js';
import { kubeTime } from './util.js';

export const REASON = {
  newRSCreated: 'NewReplicaSetCreated',
  foundNewRS: 'FoundNewReplicaSet',
  rsUpdated: 'ReplicaSetUpdated',
  newRSAvailable: 'NewReplicaSetAvailable',
  timedOut: 'ProgressDeadlineExceeded',
  paused: 'DeploymentPaused',
  resumed: 'DeploymentResumed',
  minimumAvailable: 'MinimumReplicasAvailable',
  minimumUnavailable: 'MinimumReplicasUnavailable',
} as const;

export interface DeploymentCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: DeploymentCondition[];
}

export function condition(
  type: string,
  status: DeploymentCondition['status'],
  reason: string,
  message: string,
  nowMs = Date.now(),
): DeploymentCondition {
  const time = kubeTime(nowMs);
  return { type, status, reason, message, lastUpdateTime: time, lastTransitionTime: time };
}

export function getCondition(status: DeploymentStatus, type: string): DeploymentCondition | undefined {
  return status.conditions?.find((c) => c.type === type);
}

/** SetDeploymentCondition: same status and reason is no change; same status keeps the transition time. */
export function setCondition(status: DeploymentStatus, next: DeploymentCondition): boolean {
  const conditions = status.conditions ?? [];
  const current = conditions.find((c) => c.type === next.type);
  if (current && current.status === next.status && current.reason === next.reason) return false;
  const toSet =
    current && current.status === next.status
      ? { ...next, lastTransitionTime: current.lastTransitionTime }
      : next;
  status.conditions = [...conditions.filter((c) => c.type !== next.type), toSet];
  return true;
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (status.conditions) status.conditions = status.conditions.filter((c) => c.type !== type);
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

export function rsReplicas(rs: KubeObject): number {
  return num((rs.spec as { replicas?: number } | undefined)?.replicas ?? 1);
}

export function rsStatus(rs: KubeObject): {
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
} {
  const s = (rs.status ?? {}) as Record<string, unknown>;
  return {
    replicas: num(s.replicas),
    readyReplicas: num(s.readyReplicas),
    availableReplicas: num(s.availableReplicas),
  };
}

export function calculateStatus(
  allRSs: KubeObject[],
  newRS: KubeObject | undefined,
  generation: number,
  replicas: number,
  maxUnavailable: number,
  previous: DeploymentStatus,
): DeploymentStatus {
  const available = allRSs.reduce((sum, rs) => sum + rsStatus(rs).availableReplicas, 0);
  const total = allRSs.reduce((sum, rs) => sum + rsReplicas(rs), 0);
  const status: DeploymentStatus = {
    observedGeneration: generation,
    replicas: allRSs.reduce((sum, rs) => sum + rsStatus(rs).replicas, 0),
    updatedReplicas: newRS ? rsStatus(newRS).replicas : 0,
    readyReplicas: allRSs.reduce((sum, rs) => sum + rsStatus(rs).readyReplicas, 0),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    ...(previous.collisionCount !== undefined ? { collisionCount: previous.collisionCount } : {}),
    conditions: structuredClone(previous.conditions ?? []),
  };
  // As getReplicaFailures: the new ReplicaSet's ReplicaFailure condition first, else an old one's.
  const failure = [newRS, ...allRSs]
    .map((rs) =>
      ((rs?.status as { conditions?: DeploymentCondition[] } | undefined)?.conditions ?? []).find(
        (c) => c.type === 'ReplicaFailure',
      ),
    )
    .find((c) => c !== undefined);
  if (failure) {
    setCondition(status, {
      ...condition('ReplicaFailure', failure.status, failure.reason, failure.message),
      ...(failure.lastTransitionTime ? { lastTransitionTime: failure.lastTransitionTime } : {}),
    });
  } else {
    removeCondition(status, 'ReplicaFailure');
  }
  if (available >= replicas - maxUnavailable) {
    setCondition(
      status,
      condition('Available', 'True', REASON.minimumAvailable, 'Deployment has minimum availability.'),
    );
  } else {
    setCondition(
      status,
      condition(
        'Available',
        'False',
        REASON.minimumUnavailable,
        'Deployment does not have minimum availability.',
      ),
    );
  }
  return status;
}

export function deploymentComplete(replicas: number, generation: number, status: DeploymentStatus): boolean {
  return (
    status.updatedReplicas === replicas &&
    status.replicas === replicas &&
    status.availableReplicas === replicas &&
    (status.observedGeneration ?? 0) >= generation
  );
}

export function deploymentProgressing(previous: DeploymentStatus, next: DeploymentStatus): boolean {
  const oldOld = (previous.replicas ?? 0) - (previous.updatedReplicas ?? 0);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (previous.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (next.readyReplicas ?? 0) > (previous.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (previous.availableReplicas ?? 0)
  );
}
