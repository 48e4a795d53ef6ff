/**
 * The kinds the sandbox serves. Storage is keyed by group + plural, so an object written as
 * networking.istio.io/v1beta1 reads back as v1 too, as on a real API server.
 */
export interface ResourceType {
  group: string; // '' for the core group
  versions: string[]; // first is the storage / preferred version
  resource: string; // plural, as in URLs
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames?: string[];
  subresources?: string[]; // e.g. 'status', 'scale', 'log', 'proxy'
}

function type(
  group: string,
  versions: string[],
  resource: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return { group, versions, resource, kind, listKind: `${kind}List`, namespaced, ...extra };
}

export const RESOURCE_TYPES: readonly ResourceType[] = [
  type('', ['v1'], 'namespaces', 'Namespace', false, { shortNames: ['ns'], subresources: ['status'] }),
  type('', ['v1'], 'pods', 'Pod', true, { shortNames: ['po'], subresources: ['status', 'log'] }),
  type('', ['v1'], 'services', 'Service', true, { shortNames: ['svc'], subresources: ['status', 'proxy'] }),
  type('', ['v1'], 'endpoints', 'Endpoints', true, { shortNames: ['ep'] }),
  type('discovery.k8s.io', ['v1'], 'endpointslices', 'EndpointSlice', true),
  type('', ['v1'], 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  type('', ['v1'], 'secrets', 'Secret', true),
  type('', ['v1'], 'events', 'Event', true, { shortNames: ['ev'] }),
  type('apps', ['v1'], 'deployments', 'Deployment', true, {
    shortNames: ['deploy'],
    subresources: ['status', 'scale'],
  }),
  type('apps', ['v1'], 'replicasets', 'ReplicaSet', true, {
    shortNames: ['rs'],
    subresources: ['status', 'scale'],
  }),
  type('networking.k8s.io', ['v1'], 'ingresses', 'Ingress', true, {
    shortNames: ['ing'],
    subresources: ['status'],
  }),
  type('coordination.k8s.io', ['v1'], 'leases', 'Lease', true),
  type('autoscaling', ['v2'], 'horizontalpodautoscalers', 'HorizontalPodAutoscaler', true, {
    shortNames: ['hpa'],
    subresources: ['status'],
  }),
  type('networking.istio.io', ['v1', 'v1beta1'], 'virtualservices', 'VirtualService', true, {
    shortNames: ['vs'],
  }),
  type('networking.istio.io', ['v1', 'v1beta1'], 'destinationrules', 'DestinationRule', true, {
    shortNames: ['dr'],
  }),
  type('gateway.networking.k8s.io', ['v1'], 'httproutes', 'HTTPRoute', true),
];

export function resourceKey(t: Pick<ResourceType, 'group' | 'resource'>): string {
  return t.group ? `${t.group}/${t.resource}` : t.resource;
}

export function findResource(group: string, resource: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((t) => t.group === group && t.resource === resource);
}

export function findKind(apiVersion: string, kind: string): ResourceType | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return RESOURCE_TYPES.find(
    (t) => t.group === group && t.kind === kind && t.versions.includes(version ?? ''),
  );
}

export function apiVersionOf(t: ResourceType, version = t.versions[0]): string {
  return t.group ? `${t.group}/${version}` : `${version}`;
}
