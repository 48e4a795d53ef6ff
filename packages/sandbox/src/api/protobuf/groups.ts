/**
 * The small groups: discovery.k8s.io/v1 EndpointSlice, coordination.k8s.io/v1 Lease and
 * authorization.k8s.io/v1 SelfSubjectAccessReview (`kubectl auth can-i`). Field numbers from
 * their types.go.
 */
import type { PackageSpec } from './schema.js';

export const DISCOVERY_V1: PackageSpec = {
  EndpointSlice: {
    1: 'metadata meta.ObjectMeta',
    2: 'endpoints []Endpoint',
    3: 'ports []EndpointPort',
    4: 'addressType',
  },
  Endpoint: {
    1: 'addresses []string',
    2: 'conditions EndpointConditions',
    3: 'hostname string ptr',
    4: 'targetRef core.ObjectReference',
    5: 'deprecatedTopology map[string]string',
    6: 'nodeName string ptr',
    7: 'zone string ptr',
    8: 'hints EndpointHints',
  },
  EndpointConditions: { 1: 'ready bool ptr', 2: 'serving bool ptr', 3: 'terminating bool ptr' },
  EndpointHints: { 1: 'forZones []ForZone' },
  ForZone: { 1: 'name' },
  EndpointPort: {
    1: 'name string ptr',
    2: 'protocol string ptr',
    3: 'port int32 ptr',
    4: 'appProtocol string ptr',
  },
};

export const COORDINATION_V1: PackageSpec = {
  Lease: { 1: 'metadata meta.ObjectMeta', 2: 'spec LeaseSpec' },
  LeaseSpec: {
    1: 'holderIdentity string ptr',
    2: 'leaseDurationSeconds int32 ptr',
    3: 'acquireTime MicroTime ptr',
    4: 'renewTime MicroTime ptr',
    5: 'leaseTransitions int32 ptr',
    6: 'strategy string ptr',
    7: 'preferredHolder string ptr',
  },
};

export const AUTHORIZATION_V1: PackageSpec = {
  SelfSubjectAccessReview: { 1: 'metadata meta.ObjectMeta', 2: 'spec SelfSubjectAccessReviewSpec' },
  SelfSubjectAccessReviewSpec: {
    1: 'resourceAttributes ResourceAttributes',
    2: 'nonResourceAttributes NonResourceAttributes',
  },
  ResourceAttributes: {
    1: 'namespace',
    2: 'verb',
    3: 'group',
    4: 'version',
    5: 'resource',
    6: 'subresource',
    7: 'name',
  },
  NonResourceAttributes: { 1: 'path', 2: 'verb' },
};
