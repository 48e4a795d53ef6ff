/**
 * k8s.io/apimachinery: runtime.Unknown (the `k8s\0` envelope every protobuf body is wrapped in)
 * and the meta/v1 messages the built-in kinds share. Field numbers from the `protobuf` tags of
 * pkg/runtime/types.go and pkg/apis/meta/v1/types.go.
 */
import type { PackageSpec } from './schema.js';

export const RUNTIME: PackageSpec = {
  Unknown: { 1: 'typeMeta TypeMeta', 2: 'raw bytes', 3: 'contentEncoding', 4: 'contentType' },
  TypeMeta: { 1: 'apiVersion', 2: 'kind' },
};

export const META_V1: PackageSpec = {
  ObjectMeta: {
    1: 'name',
    2: 'generateName',
    3: 'namespace',
    4: 'selfLink',
    5: 'uid',
    6: 'resourceVersion',
    7: 'generation int64',
    8: 'creationTimestamp Time',
    9: 'deletionTimestamp Time ptr',
    10: 'deletionGracePeriodSeconds int64 ptr',
    11: 'labels map[string]string',
    12: 'annotations map[string]string',
    13: 'ownerReferences []OwnerReference',
    14: 'finalizers []string',
    // 15 was clusterName, tombstoned.
    17: 'managedFields []ManagedFieldsEntry',
  },
  OwnerReference: {
    1: 'kind',
    3: 'name',
    4: 'uid',
    5: 'apiVersion',
    6: 'controller bool ptr',
    7: 'blockOwnerDeletion bool ptr',
  },
  ManagedFieldsEntry: {
    1: 'manager',
    2: 'operation',
    3: 'apiVersion',
    4: 'time Time ptr',
    // 5 was fields, tombstoned.
    6: 'fieldsType',
    7: 'fieldsV1 FieldsV1 ptr',
    8: 'subresource',
  },
  LabelSelector: { 1: 'matchLabels map[string]string', 2: 'matchExpressions []LabelSelectorRequirement' },
  LabelSelectorRequirement: { 1: 'key', 2: 'operator', 3: 'values []string' },
  Condition: {
    1: 'type',
    2: 'status',
    3: 'observedGeneration int64',
    4: 'lastTransitionTime Time',
    5: 'reason',
    6: 'message',
  },
  DeleteOptions: {
    1: 'gracePeriodSeconds int64 ptr',
    2: 'preconditions Preconditions',
    3: 'orphanDependents bool ptr',
    4: 'propagationPolicy string ptr',
    5: 'dryRun []string',
  },
  Preconditions: { 1: 'uid string ptr', 2: 'resourceVersion string ptr' },
};
