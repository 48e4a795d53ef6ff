/**
 * k8s.io/api autoscaling: v2 HorizontalPodAutoscaler and v1 Scale, the body of the scale
 * subresource (field numbers from autoscaling/v2/types.go and autoscaling/v1/types.go).
 */
import type { PackageSpec } from './schema.js';

export const AUTOSCALING_V2: PackageSpec = {
  HorizontalPodAutoscaler: {
    1: 'metadata meta.ObjectMeta',
    2: 'spec HorizontalPodAutoscalerSpec',
    3: 'status HorizontalPodAutoscalerStatus',
  },
  HorizontalPodAutoscalerSpec: {
    1: 'scaleTargetRef CrossVersionObjectReference',
    2: 'minReplicas int32 ptr',
    3: 'maxReplicas int32',
    4: 'metrics []MetricSpec',
    5: 'behavior HorizontalPodAutoscalerBehavior',
  },
  CrossVersionObjectReference: { 1: 'kind', 2: 'name', 3: 'apiVersion' },
  MetricSpec: {
    1: 'type',
    2: 'object ObjectMetricSource',
    3: 'pods PodsMetricSource',
    4: 'resource ResourceMetricSource',
    5: 'external ExternalMetricSource',
    7: 'containerResource ContainerResourceMetricSource',
  },
  HorizontalPodAutoscalerBehavior: { 1: 'scaleUp HPAScalingRules', 2: 'scaleDown HPAScalingRules' },
  HPAScalingRules: {
    1: 'selectPolicy string ptr',
    2: 'policies []HPAScalingPolicy',
    3: 'stabilizationWindowSeconds int32 ptr',
  },
  HPAScalingPolicy: { 1: 'type', 2: 'value int32', 3: 'periodSeconds int32' },
  ObjectMetricSource: {
    1: 'describedObject CrossVersionObjectReference',
    2: 'target MetricTarget',
    3: 'metric MetricIdentifier',
  },
  PodsMetricSource: { 1: 'metric MetricIdentifier', 2: 'target MetricTarget' },
  ResourceMetricSource: { 1: 'name', 2: 'target MetricTarget' },
  ContainerResourceMetricSource: { 1: 'name', 2: 'target MetricTarget', 3: 'container' },
  ExternalMetricSource: { 1: 'metric MetricIdentifier', 2: 'target MetricTarget' },
  MetricIdentifier: { 1: 'name', 2: 'selector meta.LabelSelector' },
  MetricTarget: {
    1: 'type',
    2: 'value Quantity',
    3: 'averageValue Quantity',
    4: 'averageUtilization int32 ptr',
  },
  HorizontalPodAutoscalerStatus: {
    1: 'observedGeneration int64 ptr',
    2: 'lastScaleTime Time',
    3: 'currentReplicas int32',
    4: 'desiredReplicas int32',
    5: 'currentMetrics []MetricStatus',
    6: 'conditions []HorizontalPodAutoscalerCondition',
  },
  HorizontalPodAutoscalerCondition: {
    1: 'type',
    2: 'status',
    3: 'lastTransitionTime Time',
    4: 'reason',
    5: 'message',
  },
  MetricStatus: {
    1: 'type',
    2: 'object ObjectMetricStatus',
    3: 'pods PodsMetricStatus',
    4: 'resource ResourceMetricStatus',
    5: 'external ExternalMetricStatus',
    7: 'containerResource ContainerResourceMetricStatus',
  },
  ObjectMetricStatus: {
    1: 'metric MetricIdentifier',
    2: 'current MetricValueStatus',
    3: 'describedObject CrossVersionObjectReference',
  },
  PodsMetricStatus: { 1: 'metric MetricIdentifier', 2: 'current MetricValueStatus' },
  ResourceMetricStatus: { 1: 'name', 2: 'current MetricValueStatus' },
  ContainerResourceMetricStatus: { 1: 'name', 2: 'current MetricValueStatus', 3: 'container' },
  ExternalMetricStatus: { 1: 'metric MetricIdentifier', 2: 'current MetricValueStatus' },
  MetricValueStatus: {
    1: 'value Quantity',
    2: 'averageValue Quantity',
    3: 'averageUtilization int32 ptr',
  },
};

export const AUTOSCALING_V1: PackageSpec = {
  Scale: { 1: 'metadata meta.ObjectMeta', 2: 'spec ScaleSpec', 3: 'status ScaleStatus' },
  // replicas is a plain int32 in Go; kept at zero so a scale to 0 reads as 0, not as missing.
  ScaleSpec: { 1: 'replicas int32 ptr' },
  ScaleStatus: { 1: 'replicas int32', 2: 'selector' },
};
