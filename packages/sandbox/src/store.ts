/**
 * The sandbox's etcd: an in-memory object store with one global resourceVersion counter,
 * optimistic concurrency, owner-reference cascading and a bounded event history that watches
 * resume from (older versions answer 410 Gone, as a compacted etcd does).
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { apiVersionOf, resourceKey, RESOURCE_TYPES, type ResourceType } from './resources.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A failure the API layer turns into a Kubernetes Status object. */
export class StoreError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
  resourceVersion: number;
}

export type StoreListener = (event: StoreEvent) => void;

export interface WriteOptions {
  dryRun?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  /**
   * Pods, when the store runs under a cluster: how long the pod may take to stop. 0 removes the
   * object at once, as the kubelet does once the pod has stopped (or `kubectl delete --force`).
   */
  gracePeriodSeconds?: number;
}

export interface UpdateOptions extends WriteOptions {
  /** 'status' writes only .status; the main resource keeps .status as stored. */
  subresource?: 'status';
}

const HISTORY_LIMIT = 20_000;

function qualifiedName(t: ResourceType, namespace: string | undefined, name: string): string {
  return t.namespaced ? `${namespace ?? ''}/${name}` : name;
}

function describe(t: ResourceType, name: string): string {
  return t.group ? `${t.resource}.${t.group} "${name}"` : `${t.resource} "${name}"`;
}

function specOf(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

/** `namespace/name`: the order lists come in. */
export function listKey(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

export class Store {
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<StoreListener>();
  private revision = 1;
  private oldestRetained = 1;
  private nameCounter = 0;
  /**
   * Set by a running cluster, whose kubelet finishes pod deletions: a deleted pod first turns
   * Terminating. Without a cluster nothing would ever finish them, so they go at once.
   */
  podsTerminateGracefully = false;

  constructor() {
    for (const t of RESOURCE_TYPES) this.objects.set(resourceKey(t), new Map());
  }

  get currentRevision(): number {
    return this.revision;
  }

  get(t: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.bucket(t).get(qualifiedName(t, namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  mustGet(t: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.get(t, namespace, name);
    if (!found)
      throw new StoreError(404, 'NotFound', `${describe(t, name)} not found`, { name, kind: t.resource });
    return found;
  }

  list(t: ResourceType, namespace?: string): { items: KubeObject[]; resourceVersion: string } {
    const items: KubeObject[] = [];
    for (const obj of this.bucket(t).values()) {
      if (!t.namespaced || namespace === undefined || obj.metadata.namespace === namespace) {
        items.push(structuredClone(obj));
      }
    }
    // In code-unit order of the key, the order list pages continue in (api/handlers.ts).
    items.sort((a, b) => (listKey(a) < listKey(b) ? -1 : listKey(a) > listKey(b) ? 1 : 0));
    return { items, resourceVersion: String(this.revision) };
  }

  create(t: ResourceType, input: KubeObject, options: WriteOptions = {}): KubeObject {
    const obj = structuredClone(input);
    const meta = obj.metadata ?? (obj.metadata = {});
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${this.randomSuffix()}`;
    if (!meta.name)
      throw new StoreError(422, 'Invalid', `${t.kind} is invalid: metadata.name: Required value`);
    if (t.namespaced) {
      if (!meta.namespace) throw new StoreError(400, 'BadRequest', 'the namespace of the object must be set');
      if (!this.bucket(RESOURCE_TYPES[0]!).has(meta.namespace)) {
        throw new StoreError(404, 'NotFound', `namespaces "${meta.namespace}" not found`, {
          name: meta.namespace,
          kind: 'namespaces',
        });
      }
    } else {
      delete meta.namespace;
    }
    const key = qualifiedName(t, meta.namespace, meta.name);
    if (this.bucket(t).has(key)) {
      throw new StoreError(409, 'AlreadyExists', `${describe(t, meta.name)} already exists`, {
        name: meta.name,
        kind: t.resource,
      });
    }
    obj.apiVersion = apiVersionOf(t);
    obj.kind = t.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    meta.generation = 1;
    delete meta.resourceVersion;
    if (options.dryRun) return { ...obj, metadata: { ...meta } };
    return this.commit('ADDED', t, key, obj);
  }

  update(t: ResourceType, input: KubeObject, options: UpdateOptions = {}): KubeObject {
    const name = input.metadata?.name ?? '';
    const key = qualifiedName(t, input.metadata?.namespace, name);
    const current = this.bucket(t).get(key);
    if (!current)
      throw new StoreError(404, 'NotFound', `${describe(t, name)} not found`, { name, kind: t.resource });
    const wanted = input.metadata.resourceVersion;
    if (wanted !== undefined && wanted !== '' && wanted !== current.metadata.resourceVersion) {
      throw new StoreError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${describe(t, name)}: the object has been modified; please apply your changes to the latest version and try again`,
        { name, kind: t.resource },
      );
    }
    let next: KubeObject;
    if (options.subresource === 'status') {
      next = { ...structuredClone(current), status: structuredClone(input.status) };
    } else {
      next = structuredClone(input);
      next.metadata = {
        ...next.metadata,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        generation: current.metadata.generation,
      };
      if (t.subresources?.includes('status')) {
        // Keep "no status" as an absent key: an own `status: undefined` would make no-op writes look like changes.
        if (current.status === undefined) delete next.status;
        else next.status = structuredClone(current.status);
      }
      if (!isDeepStrictEqual(specOf(next), specOf(current)))
        next.metadata.generation = (current.metadata.generation ?? 0) + 1;
      if (current.metadata.deletionTimestamp) {
        next.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
        next.metadata.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
      }
    }
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    if (
      isDeepStrictEqual(
        { ...next, metadata: { ...next.metadata, resourceVersion: undefined } },
        {
          ...current,
          metadata: { ...current.metadata, resourceVersion: undefined },
        },
      )
    ) {
      // A no-op write keeps its resourceVersion and fires no event, as on a real API server.
      return structuredClone(current);
    }
    if (options.dryRun)
      return { ...next, metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion } };
    return this.commit('MODIFIED', t, key, next);
  }

  delete(
    t: ResourceType,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): KubeObject {
    const key = qualifiedName(t, namespace, name);
    const current = this.bucket(t).get(key);
    if (!current)
      throw new StoreError(404, 'NotFound', `${describe(t, name)} not found`, { name, kind: t.resource });
    if (options.dryRun) return structuredClone(current);
    if (t.kind === 'Pod' && this.podsTerminateGracefully && options.gracePeriodSeconds !== 0)
      return this.markTerminating(t, key, current, options.gracePeriodSeconds);
    this.bucket(t).delete(key);
    const deleted = structuredClone(current);
    deleted.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    this.revision += 1;
    deleted.metadata.resourceVersion = String(this.revision);
    this.emit({ type: 'DELETED', resource: t, object: deleted, resourceVersion: this.revision });
    this.collectGarbage(current);
    return structuredClone(deleted);
  }

  /**
   * Streams events after `sinceRevision` (or from now), then live ones. Throws 410 Gone when
   * the asked-for revision is older than the retained history.
   */
  watch(
    t: ResourceType | undefined,
    namespace: string | undefined,
    sinceRevision: number | undefined,
    listener: StoreListener,
  ): () => void {
    const matches = (e: StoreEvent): boolean =>
      (t === undefined || e.resource === t) &&
      (namespace === undefined || e.object.metadata.namespace === namespace);
    if (sinceRevision !== undefined && sinceRevision + 1 < this.oldestRetained) {
      throw new StoreError(
        410,
        'Expired',
        `too old resource version: ${sinceRevision} (${this.oldestRetained - 1})`,
      );
    }
    if (sinceRevision !== undefined) {
      for (const e of this.history) if (e.resourceVersion > sinceRevision && matches(e)) listener(e);
    }
    const wrapped: StoreListener = (e) => {
      if (matches(e)) listener(e);
    };
    this.listeners.add(wrapped);
    return () => this.listeners.delete(wrapped);
  }

  /** Forgets history up to now, so that a watch from an older revision gets 410 Gone. */
  compact(): void {
    this.history.length = 0;
    this.oldestRetained = this.revision + 1;
  }

  /**
   * A graceful pod deletion, as on a real API server: the pod stays, Terminating (deletionTimestamp
   * and deletionGracePeriodSeconds set), until its kubelet has stopped it and deletes it for good.
   */
  private markTerminating(
    t: ResourceType,
    key: string,
    current: KubeObject,
    gracePeriodSeconds: number | undefined,
  ): KubeObject {
    if (current.metadata.deletionTimestamp) return structuredClone(current);
    const next = structuredClone(current);
    const specGrace = (current.spec as { terminationGracePeriodSeconds?: number } | undefined)
      ?.terminationGracePeriodSeconds;
    next.metadata.deletionTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    next.metadata.deletionGracePeriodSeconds = gracePeriodSeconds ?? specGrace ?? 30;
    return this.commit('MODIFIED', t, key, next);
  }

  private commit(type: WatchEventType, t: ResourceType, key: string, obj: KubeObject): KubeObject {
    this.revision += 1;
    obj.metadata.resourceVersion = String(this.revision);
    this.bucket(t).set(key, obj);
    this.emit({ type, resource: t, object: structuredClone(obj), resourceVersion: this.revision });
    return structuredClone(obj);
  }

  private emit(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT);
      this.oldestRetained = (dropped.at(-1)?.resourceVersion ?? this.oldestRetained) + 1;
    }
    for (const listener of [...this.listeners]) listener(event);
  }

  /** Background cascading deletion: dependents whose owner is gone, and a namespace's contents. */
  private collectGarbage(owner: KubeObject): void {
    for (const t of RESOURCE_TYPES) {
      for (const obj of [...this.bucket(t).values()]) {
        const owned = obj.metadata.ownerReferences?.some((ref) => ref.uid === owner.metadata.uid);
        const inDeletedNamespace =
          owner.kind === 'Namespace' && t.namespaced && obj.metadata.namespace === owner.metadata.name;
        if (owned || inDeletedNamespace) {
          const stillThere = this.bucket(t).has(
            qualifiedName(t, obj.metadata.namespace, obj.metadata.name ?? ''),
          );
          if (stillThere) this.delete(t, obj.metadata.namespace, obj.metadata.name ?? '');
        }
      }
    }
  }

  private bucket(t: ResourceType): Map<string, KubeObject> {
    const found = this.objects.get(resourceKey(t));
    if (!found)
      throw new StoreError(
        404,
        'NotFound',
        `the server could not find the requested resource (${t.resource})`,
      );
    return found;
  }

  private randomSuffix(): string {
    this.nameCounter += 1;
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    let n = this.nameCounter * 7919 + Math.floor(Math.random() * 1000);
    let out = '';
    for (let i = 0; i < 5; i++) {
      out += alphabet[n % alphabet.length];
      n = Math.floor(n / alphabet.length) + i * 31;
    }
    return out;
  }
}
