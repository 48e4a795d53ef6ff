/**
 * Typed, checked access to the few kinds the actions own (Deployments, ReplicaSets, Pods,
 * Events, ConfigMaps, Leases): every call goes through kubeCall, so it is retried when safe and
 * fails with an error naming verb, kind, namespace/name, status and reason.
 */
import { FIELD_MANAGER, kubeCall, type Kube } from './kube.js';
import { isNotFound } from './errors.js';
import type { KubeObject } from '../manifests/manifests.js';

export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const DEPLOYMENTS: ResourceRef = {
  group: 'apps',
  version: 'v1',
  plural: 'deployments',
  kind: 'Deployment',
};
export const REPLICASETS: ResourceRef = {
  group: 'apps',
  version: 'v1',
  plural: 'replicasets',
  kind: 'ReplicaSet',
};
export const PODS: ResourceRef = { group: '', version: 'v1', plural: 'pods', kind: 'Pod' };
export const EVENTS: ResourceRef = { group: '', version: 'v1', plural: 'events', kind: 'Event' };
export const CONFIGMAPS: ResourceRef = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap' };
export const LEASES: ResourceRef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  plural: 'leases',
  kind: 'Lease',
};
export const NAMESPACES: ResourceRef = { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace' };

export function resourcePath(ref: ResourceRef, namespace?: string, name?: string): string {
  const base = ref.group ? `/apis/${ref.group}/${ref.version}` : `/api/${ref.version}`;
  const ns =
    namespace !== undefined && ref !== NAMESPACES ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${ref.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ''}`;
}

function kindName(ref: ResourceRef): string {
  return ref.group ? `${ref.plural}.${ref.group}` : ref.plural;
}

export interface ObjectList<T> {
  items: T[];
  metadata: { resourceVersion?: string };
}

export interface CallOptions {
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Repeating this write is harmless (a merge patch of fixed values), so transient failures are retried. */
  idempotent?: boolean;
}

const DEFAULT_CALL_DEADLINE_MS = 30_000;

/** One entry of a discovery document (`GET /apis/<group>/<version>`): a kind and its resource. */
interface APIResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

export class KubeObjects {
  /** Discovery per apiVersion, so a deploy of many objects asks once per group version. */
  private readonly discovered = new Map<string, APIResource[]>();

  constructor(readonly kube: Kube) {}

  get namespace(): string {
    return this.kube.namespace;
  }

  async get<T = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    options: CallOptions = {},
  ): Promise<T | undefined> {
    try {
      return await kubeCall(
        { verb: 'get', kind: kindName(ref), namespace, name },
        (signal) => this.kube.request<T>({ method: 'GET', path: resourcePath(ref, namespace, name), signal }),
        { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async mustGet<T = KubeObject>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    options: CallOptions = {},
  ): Promise<T> {
    return kubeCall(
      { verb: 'get', kind: kindName(ref), namespace, name },
      (signal) => this.kube.request<T>({ method: 'GET', path: resourcePath(ref, namespace, name), signal }),
      { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
    );
  }

  list<T = KubeObject>(
    ref: ResourceRef,
    namespace: string,
    query: { labelSelector?: string; fieldSelector?: string } = {},
    options: CallOptions = {},
  ): Promise<ObjectList<T>> {
    return kubeCall(
      { verb: 'list', kind: kindName(ref), namespace },
      (signal) =>
        this.kube.request<ObjectList<T>>({
          method: 'GET',
          path: resourcePath(ref, namespace),
          query,
          signal,
        }),
      { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
    );
  }

  create<T = KubeObject>(
    ref: ResourceRef,
    namespace: string,
    body: unknown,
    options: CallOptions = {},
  ): Promise<T> {
    return kubeCall(
      { verb: 'create', kind: kindName(ref), namespace, name: (body as KubeObject).metadata?.name },
      (signal) =>
        this.kube.request<T>({
          method: 'POST',
          path: resourcePath(ref, namespace),
          query: { fieldManager: FIELD_MANAGER },
          body,
          signal,
        }),
      { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
    );
  }

  /**
   * PUT with the body's resourceVersion as precondition: a concurrent change answers 409. With a
   * precondition, repeating it is safe (it applies once, then conflicts), so a 5xx is retried.
   */
  replace<T = KubeObject>(
    ref: ResourceRef,
    namespace: string,
    body: KubeObject,
    options: CallOptions = {},
  ): Promise<T> {
    return kubeCall(
      { verb: 'update', kind: kindName(ref), namespace, name: body.metadata.name },
      (signal) =>
        this.kube.request<T>({
          method: 'PUT',
          path: resourcePath(ref, namespace, body.metadata.name),
          query: { fieldManager: FIELD_MANAGER },
          body,
          signal,
        }),
      {
        deadlineMs: DEFAULT_CALL_DEADLINE_MS,
        idempotent: body.metadata.resourceVersion !== undefined,
        ...options,
      },
    );
  }

  patch<T = KubeObject>(
    ref: ResourceRef,
    namespace: string,
    name: string,
    patch: unknown,
    type: 'merge' | 'strategic' | 'json',
    options: CallOptions & { subresource?: string; dryRun?: boolean } = {},
  ): Promise<T> {
    const contentType = {
      merge: 'application/merge-patch+json',
      strategic: 'application/strategic-merge-patch+json',
      json: 'application/json-patch+json',
    }[type];
    const path = resourcePath(ref, namespace, name) + (options.subresource ? `/${options.subresource}` : '');
    return kubeCall(
      { verb: 'patch', kind: kindName(ref), namespace, name },
      (signal) =>
        this.kube.request<T>({
          method: 'PATCH',
          path,
          query: { fieldManager: FIELD_MANAGER, ...(options.dryRun ? { dryRun: 'All' } : {}) },
          body: patch,
          contentType,
          signal,
        }),
      { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
    );
  }

  async delete(
    ref: ResourceRef,
    namespace: string,
    name: string,
    preconditions?: { uid?: string; resourceVersion?: string },
    options: CallOptions = {},
  ): Promise<boolean> {
    try {
      await kubeCall(
        { verb: 'delete', kind: kindName(ref), namespace, name },
        (signal) =>
          this.kube.request({
            method: 'DELETE',
            path: resourcePath(ref, namespace, name),
            body: preconditions ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions } : undefined,
            signal,
          }),
        { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
      );
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * The resource a manifest's apiVersion and kind name, from the API server's discovery document
   * (one GET per group version, cached), and the namespace its writes go to: the manifest's, else
   * this client's for namespaced kinds, none for cluster-scoped ones.
   */
  async resourceOf(
    object: KubeObject,
    options: CallOptions = {},
  ): Promise<{ ref: ResourceRef; namespace?: string }> {
    const { apiVersion, kind } = object;
    let resources = this.discovered.get(apiVersion);
    if (!resources) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      try {
        const list = await kubeCall(
          { verb: 'get', kind: `API discovery of ${apiVersion}` },
          (signal) => this.kube.request<{ resources?: APIResource[] }>({ method: 'GET', path, signal }),
          { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
        );
        resources = list.resources ?? [];
      } catch (error) {
        if (!isNotFound(error)) throw error;
        resources = [];
      }
      this.discovered.set(apiVersion, resources);
    }
    const resource = resources.find((r) => r.kind === kind && !r.name.includes('/'));
    if (!resource) {
      throw new Error(
        `the API server serves no kind ${kind} in ${apiVersion}; check apiVersion and kind (a custom resource needs its CustomResourceDefinition installed)`,
      );
    }
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    return {
      ref: { group: group!, version: version!, plural: resource.name, kind },
      namespace: resource.namespaced ? (object.metadata.namespace ?? this.kube.namespace) : undefined,
    };
  }

  /** The live object a manifest names, or undefined when it does not exist yet. */
  async getLive<T = KubeObject>(object: KubeObject, options: CallOptions = {}): Promise<T | undefined> {
    const { ref, namespace } = await this.resourceOf(object, options);
    return this.get<T>(ref, namespace, object.metadata.name, options);
  }

  /**
   * Server-side apply of any manifest, with field manager cd-actions. `force` takes over fields
   * another manager set, as a deploy tool must for the fields it owns (image, replicas from the
   * manifest). The body is JSON, which is YAML, so the API server takes it as an apply patch.
   */
  async apply<T = KubeObject>(
    object: KubeObject,
    options: CallOptions & { dryRun?: boolean; force?: boolean } = {},
  ): Promise<T> {
    const { ref, namespace } = await this.resourceOf(object, options);
    const body = namespace ? { ...object, metadata: { ...object.metadata, namespace } } : object;
    return kubeCall(
      { verb: 'apply', kind: kindName(ref), namespace, name: object.metadata.name },
      (signal) =>
        this.kube.request<T>({
          method: 'PATCH',
          path: resourcePath(ref, namespace, object.metadata.name),
          query: {
            fieldManager: FIELD_MANAGER,
            // As kubectl does: a field the kind does not declare (a typo) fails instead of vanishing.
            fieldValidation: 'Strict',
            force: options.force ?? true,
            ...(options.dryRun ? { dryRun: 'All' } : {}),
          },
          body,
          contentType: 'application/apply-patch+yaml',
          signal,
        }),
      { deadlineMs: DEFAULT_CALL_DEADLINE_MS, ...options },
    );
  }
}
export const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', kind: 'Service' };
export const ENDPOINTSLICES: ResourceRef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  plural: 'endpointslices',
  kind: 'EndpointSlice',
};
export const VIRTUALSERVICES: ResourceRef = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'virtualservices',
  kind: 'VirtualService',
};
export const DESTINATIONRULES: ResourceRef = {
  group: 'networking.istio.io',
  version: 'v1',
  plural: 'destinationrules',
  kind: 'DestinationRule',
};
export const INGRESSES: ResourceRef = {
  group: 'networking.k8s.io',
  version: 'v1',
  plural: 'ingresses',
  kind: 'Ingress',
};
export const HTTPROUTES: ResourceRef = {
  group: 'gateway.networking.k8s.io',
  version: 'v1',
  plural: 'httproutes',
  kind: 'HTTPRoute',
};
