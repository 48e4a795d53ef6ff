/**
 * Watch streams: newline-delimited JSON events over a chunked answer, as kube-apiserver sends
 * them. Events are filtered by namespace and selectors; an object that stops matching a
 * selector arrives as DELETED and one that starts matching as ADDED. A too-old
 * resourceVersion yields an ERROR event carrying a 410 Expired Status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StoreError, type KubeObject, type Store, type StoreEvent } from '../store.js';
import { RESOURCE_TYPES, resourceKey, type ResourceType } from '../resources.js';
import { failure } from './status.js';

function objectKey(t: ResourceType, obj: KubeObject): string {
  return `${resourceKey(t)}|${obj.metadata.namespace ?? ''}|${obj.metadata.name ?? ''}`;
}

const VERSIONS_PER_OBJECT = 32;
const OBJECTS_LIMIT = 20_000;

interface Version {
  revision: number;
  object: KubeObject | null;
}

/**
 * Remembers recent versions of every object, so a watch with a selector can tell "stopped
 * matching" (DELETED) from "changed and still matching". Lookups go by revision rather than by
 * arrival order, because a store listener that writes while an event is being delivered makes
 * later events arrive before earlier ones.
 */
export class PreviousObjects {
  private readonly versions = new Map<string, Version[]>();
  private readonly unsubscribe: () => void;

  constructor(store: Store) {
    for (const t of RESOURCE_TYPES) {
      for (const obj of store.list(t).items) {
        this.versions.set(objectKey(t, obj), [
          { revision: Number(obj.metadata.resourceVersion ?? 0), object: obj },
        ]);
      }
    }
    this.unsubscribe = store.watch(undefined, undefined, undefined, (event) => this.observe(event));
  }

  /** The object before the event (null: it did not exist); undefined when no longer remembered. */
  previous(event: StoreEvent): KubeObject | null | undefined {
    const history = this.versions.get(objectKey(event.resource, event.object));
    if (!history) return event.type === 'ADDED' ? null : undefined;
    let best: Version | undefined;
    for (const v of history)
      if (v.revision < event.resourceVersion && (!best || v.revision > best.revision)) best = v;
    if (best) return best.object;
    return history.length < VERSIONS_PER_OBJECT && event.type === 'ADDED' ? null : undefined;
  }

  close(): void {
    this.unsubscribe();
  }

  private observe(event: StoreEvent): void {
    const key = objectKey(event.resource, event.object);
    const history = this.versions.get(key) ?? [];
    history.push({ revision: event.resourceVersion, object: event.type === 'DELETED' ? null : event.object });
    if (history.length > VERSIONS_PER_OBJECT) history.shift();
    this.versions.delete(key); // re-inserted last, so the oldest-touched objects are forgotten first
    this.versions.set(key, history);
    if (this.versions.size > OBJECTS_LIMIT) {
      const oldest = this.versions.keys().next().value;
      if (oldest !== undefined) this.versions.delete(oldest);
    }
  }
}

export interface WatchOptions {
  store: Store;
  previous: PreviousObjects;
  type: ResourceType;
  namespace: string | undefined;
  /** Converts a stored object to the requested version before it is sent. */
  present: (obj: KubeObject) => KubeObject;
  matches: ((obj: KubeObject) => boolean) | undefined;
  resourceVersion: string | undefined;
  allowBookmarks: boolean;
  sendInitialEvents: boolean | undefined;
  bookmarkIntervalMs: number;
  timeoutSeconds: number | undefined;
  dropAfterMs: number | undefined;
}

export interface ActiveWatch {
  close(): void;
}

export function serveWatch(req: IncomingMessage, res: ServerResponse, options: WatchOptions): ActiveWatch {
  const { store, type, namespace, matches, present } = options;
  const timers: NodeJS.Timeout[] = [];
  let unsubscribe: (() => void) | undefined;
  let closed = false;

  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    for (const timer of timers) clearTimeout(timer);
    unsubscribe?.();
  };
  const close = (): void => {
    cleanup();
    if (!res.writableEnded) res.end();
  };
  req.on('close', cleanup);
  res.on('close', cleanup);

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const send = (type: string, object: unknown): void => {
    if (!closed) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>): void =>
    send('BOOKMARK', {
      kind: type.kind,
      apiVersion: present({ apiVersion: '', kind: type.kind, metadata: {} }).apiVersion,
      metadata: { resourceVersion: String(store.currentRevision), ...(annotations ? { annotations } : {}) },
    });

  // Events are sent in revision order even when a store listener's nested write delivers a
  // later event first: collect them and flush once the current delivery has finished.
  let queue: StoreEvent[] = [];
  const flush = (): void => {
    const batch = queue.sort((a, b) => a.resourceVersion - b.resourceVersion);
    queue = [];
    for (const event of batch) relayNow(event);
  };
  const relay = (event: StoreEvent): void => {
    if (queue.length === 0) queueMicrotask(flush);
    queue.push(event);
  };
  const relayNow = (event: StoreEvent): void => {
    if (!matches) {
      send(event.type, present(event.object));
      return;
    }
    const now = matches(event.object);
    if (event.type === 'DELETED') {
      if (now) send('DELETED', present(event.object));
      return;
    }
    const before = options.previous.previous(event);
    const was =
      before === undefined ? (event.type === 'MODIFIED' ? now : false) : before !== null && matches(before);
    if (was && now) send('MODIFIED', present(event.object));
    else if (!was && now) send('ADDED', present(event.object));
    else if (was && !now) send('DELETED', present(event.object));
  };

  const rv = options.resourceVersion;
  const fromNow = rv === undefined || rv === '' || rv === '0';
  const initial = options.sendInitialEvents ?? fromNow;
  if (initial) {
    for (const obj of store.list(type, namespace).items)
      if (!matches || matches(obj)) send('ADDED', present(obj));
    if (options.sendInitialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
  }
  try {
    const since = fromNow ? undefined : Number(rv);
    unsubscribe = store.watch(
      type,
      namespace,
      since !== undefined && Number.isFinite(since) ? since : undefined,
      relay,
    );
  } catch (error) {
    if (error instanceof StoreError) send('ERROR', failure(error.code, error.reason, error.message));
    else send('ERROR', failure(500, 'InternalError', String(error)));
    close();
    return { close };
  }

  if (options.allowBookmarks) {
    timers.push(setInterval(() => bookmark(), options.bookmarkIntervalMs));
  }
  if (options.timeoutSeconds !== undefined && options.timeoutSeconds > 0) {
    timers.push(setTimeout(close, options.timeoutSeconds * 1000));
  }
  if (options.dropAfterMs !== undefined) {
    // A dropped stream, not a clean end: the client sees the connection go away mid-watch.
    timers.push(
      setTimeout(() => {
        cleanup();
        res.destroy();
      }, options.dropAfterMs),
    );
  }
  return { close };
}
