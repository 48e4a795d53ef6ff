/**
 * Discovery documents (the legacy, non-aggregated forms every client understands) and a minimal
 * OpenAPI v3 index. The OpenAPI part exists for kubectl: it reads each group version's PATCH
 * operations to learn that the server validates fields itself (`fieldValidation`), and then
 * leaves validation to us instead of demanding the full /openapi/v2 schema.
 */
import { RESOURCE_TYPES, type ResourceType } from '../resources.js';

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-cd-actions-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

function groupsInOrder(): string[] {
  const groups: string[] = [];
  for (const t of RESOURCE_TYPES) if (t.group && !groups.includes(t.group)) groups.push(t.group);
  return groups;
}

function versionsOf(group: string): string[] {
  const versions: string[] = [];
  for (const t of RESOURCE_TYPES) {
    if (t.group !== group) continue;
    for (const v of t.versions) if (!versions.includes(v)) versions.push(v);
  }
  return versions;
}

function singular(t: ResourceType): string {
  return t.kind.toLowerCase();
}

const SUBRESOURCE_ENTRIES: Record<string, (t: ResourceType) => Record<string, unknown>> = {
  status: (t) => ({ kind: t.kind, verbs: ['get', 'patch', 'update'] }),
  scale: () => ({ group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }),
  log: () => ({ kind: 'Pod', verbs: ['get'] }),
  proxy: () => ({ kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }),
};

export function apiVersions(serverAddress: string): unknown {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

/** Served outside the store: access reviews answer from the token, nothing is kept. */
export const AUTHORIZATION_GROUP = 'authorization.k8s.io';
const ACCESS_REVIEWS = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: `${AUTHORIZATION_GROUP}/v1`,
  resources: [
    {
      name: 'selfsubjectaccessreviews',
      singularName: 'selfsubjectaccessreview',
      namespaced: false,
      kind: 'SelfSubjectAccessReview',
      verbs: ['create'],
    },
  ],
};

function groupEntry(group: string): Record<string, unknown> {
  const known = group === AUTHORIZATION_GROUP ? ['v1'] : versionsOf(group);
  const versions = known.map((version) => ({ groupVersion: `${group}/${version}`, version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groupsInOrder(), AUTHORIZATION_GROUP].map(groupEntry),
  };
}

export function apiGroup(group: string): unknown {
  if (!groupsInOrder().includes(group) && group !== AUTHORIZATION_GROUP) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
}

export function apiResourceList(group: string, version: string): unknown {
  if (group === AUTHORIZATION_GROUP && version === 'v1') return ACCESS_REVIEWS;
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.versions.includes(version));
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const t of types) {
    resources.push({
      name: t.resource,
      singularName: singular(t),
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ALL_VERBS,
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
      ...(t.kind === 'Deployment' || t.kind === 'ReplicaSet' || t.kind === 'Pod' || t.kind === 'Service'
        ? { categories: ['all'] }
        : {}),
      storageVersionHash: Buffer.from(`${t.group}/${t.versions[0]}/${t.kind}`)
        .toString('base64')
        .slice(0, 11),
    });
    for (const sub of t.subresources ?? []) {
      const entry = SUBRESOURCE_ENTRIES[sub];
      if (!entry) continue;
      resources.push({
        name: `${t.resource}/${sub}`,
        singularName: '',
        namespaced: t.namespaced,
        ...entry(t),
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** Every group version we serve, as /openapi/v3 lists them. */
export function openApiV3Root(): unknown {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const add = (group: string, version: string): void => {
    const p = gvPath(group, version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=sandbox` };
  };
  add('', 'v1');
  for (const group of groupsInOrder()) for (const version of versionsOf(group)) add(group, version);
  return { paths };
}

/**
 * The group version's document: one path per kind with a PATCH operation that takes the
 * `fieldValidation` parameter. Only JSON and merge patch bodies are listed, so kubectl computes
 * strategic merge patches from its built-in types rather than from a schema we do not publish.
 */
export function openApiV3GroupVersion(path: string): unknown {
  const match = /^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!match) return undefined;
  const group = match[2] ?? '';
  const version = match[1] ?? match[3] ?? '';
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.versions.includes(version));
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const parameters = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
    name,
    in: 'query',
    schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
  }));
  for (const t of types) {
    const scope = t.namespaced ? 'namespaces/{namespace}/' : '';
    const gvk = { group, version, kind: t.kind };
    paths[`/${gvPath(group, version)}/${scope}${t.resource}/{name}`] = {
      patch: {
        operationId: `patch${t.kind}`,
        parameters,
        requestBody: {
          content: {
            'application/json-patch+json': { schema: { type: 'object' } },
            'application/merge-patch+json': { schema: { type: 'object' } },
            'application/apply-patch+yaml': { schema: { type: 'object' } },
          },
          required: true,
        },
        responses: { '200': { description: 'OK' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (cd-actions sandbox)', version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas: {} },
  };
}
