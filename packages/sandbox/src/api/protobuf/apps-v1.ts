/** k8s.io/api apps/v1: Deployment and ReplicaSet (field numbers from apps/v1/types.go). */
import type { PackageSpec } from './schema.js';

export const APPS_V1: PackageSpec = {
  Deployment: { 1: 'metadata meta.ObjectMeta', 2: 'spec DeploymentSpec', 3: 'status DeploymentStatus' },
  DeploymentSpec: {
    1: 'replicas int32 ptr',
    2: 'selector meta.LabelSelector',
    3: 'template core.PodTemplateSpec',
    4: 'strategy DeploymentStrategy',
    5: 'minReadySeconds int32',
    6: 'revisionHistoryLimit int32 ptr',
    7: 'paused bool',
    // 8 was rollbackTo (extensions/v1beta1 only).
    9: 'progressDeadlineSeconds int32 ptr',
    10: 'podReplacementPolicy string ptr',
  },
  DeploymentStrategy: { 1: 'type', 2: 'rollingUpdate RollingUpdateDeployment' },
  RollingUpdateDeployment: { 1: 'maxUnavailable IntOrString ptr', 2: 'maxSurge IntOrString ptr' },
  DeploymentStatus: {
    1: 'observedGeneration int64',
    2: 'replicas int32',
    3: 'updatedReplicas int32',
    4: 'availableReplicas int32',
    5: 'unavailableReplicas int32',
    6: 'conditions []DeploymentCondition',
    7: 'readyReplicas int32',
    8: 'collisionCount int32 ptr',
    9: 'terminatingReplicas int32 ptr',
  },
  DeploymentCondition: {
    1: 'type',
    2: 'status',
    4: 'reason',
    5: 'message',
    6: 'lastUpdateTime Time',
    7: 'lastTransitionTime Time',
  },
  ReplicaSet: { 1: 'metadata meta.ObjectMeta', 2: 'spec ReplicaSetSpec', 3: 'status ReplicaSetStatus' },
  ReplicaSetSpec: {
    1: 'replicas int32 ptr',
    2: 'selector meta.LabelSelector',
    3: 'template core.PodTemplateSpec',
    4: 'minReadySeconds int32',
  },
  ReplicaSetStatus: {
    1: 'replicas int32',
    2: 'fullyLabeledReplicas int32',
    3: 'observedGeneration int64',
    4: 'readyReplicas int32',
    5: 'availableReplicas int32',
    6: 'conditions []ReplicaSetCondition',
    7: 'terminatingReplicas int32 ptr',
  },
  ReplicaSetCondition: { 1: 'type', 2: 'status', 3: 'lastTransitionTime Time', 4: 'reason', 5: 'message' },
};
