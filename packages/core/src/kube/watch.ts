/**
 * Waiting on Kubernetes objects without polling: list once (current state and a resourceVersion),
 * then watch from there. A dropped stream resumes from the last resourceVersion seen; an expired
 * one (410 Gone, as an HTTP status or an ERROR event) lists again; transient failures go through the
 * retry policy. Every wait ends: the handler says 'done', the deadline passes, the signal aborts, or
 * the API keeps failing (WatchFailedError).
 *
 * Why a failure budget as well as the deadline: a watch that answers 500 on every request would
 * otherwise be retried until the caller's deadline (a rollout's whole timeout) and then be reported
 * as "timed out waiting", hiding the cause. So consecutive failures that make no progress get a
 * few attempts over a few seconds, then end the wait naming the object, the status and the reason;
 * what is not transient (401, 403, 404) ends it at once. A stream that delivered events and then
 * dropped is a disconnect, not a failure streak: it resumes.
 */
import { humanDuration } from '../inputs/duration.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kube } from './kube.js';
import { KubeApiError, type KubeCallTarget } from './errors.js';
import { classifyError, withRetry, type RetryDecision, type RetryOptions } from '../net/retry.js';

/** Consecutive failures without progress that end a wait, whichever of the two comes first. */
const FAILURE_BUDGET = { attempts: 5, ms: 15_000 };

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchObjectsOptions<T extends KubernetesObject> {
  kube: Pick<Kube, 'kc' | 'request'>;
  /** Collection path, e.g. `/apis/apps/v1/namespaces/shop/deployments`. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** Epoch ms after which the wait fails with WatchTimeoutError. */
  deadline?: number;
  signal?: AbortSignal;
  /** What is being waited for, for the timeout message, e.g. `deployment shop/web to become available`. */
  what?: string;
  /** Renders the last object seen for the timeout message; the default names it and its resourceVersion. */
  describe?: (lastObject: T | undefined) => string;
  /**
   * Called for every object of the initial list (as ADDED) and every change after. Also called again
   * for every object after a relist, and with DELETED for objects that vanished meanwhile; so it
   * should judge the state it is given rather than count events. Return 'done' to end the wait.
   */
  onEvent?: (type: WatchEventType, object: T) => 'done' | void;
  /**
   * For a condition on the whole set (say, every EndpointSlice of a Service): called with every
   * object currently known after each complete list and after each watch event, never halfway
   * through a list, where the objects not yet delivered could still contradict it.
   */
  judge?: (objects: T[]) => 'done' | void;
  /** Resumes, relists and retries, for the log. */
  onProgress?: (message: string) => void;
  /**
   * Backoff, and the failure budget: `maxAttempts` consecutive failures without progress (default
   * 5) or `budgetMs` since the first of them (default 15 s), whichever comes first.
   */
  retry?: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'maxAttempts'> & { budgetMs?: number };
  /** Asks the server to end each watch request after this long; we then resume. Default 240. */
  timeoutSeconds?: number;
}

export interface WatchOutcome<T> {
  lastObject: T | undefined;
  events: number;
  /** Lists after the first one (410 Gone). */
  relists: number;
  /** Watch requests after the first one. */
  resumes: number;
}

export class WatchTimeoutError extends Error {
  override readonly name = 'WatchTimeoutError';
  constructor(
    message: string,
    readonly what: string,
    readonly lastState: string,
  ) {
    super(message);
  }
}

/**
 * The API kept failing (or refused: 401, 403, 404) while waiting: names what was watched, the
 * request that failed, its status and reason, and how long it was tried.
 */
export class WatchFailedError extends KubeApiError {
  constructor(
    readonly what: string,
    target: KubeCallTarget,
    cause: unknown,
    tried: string,
  ) {
    super(target, cause);
    this.message = `Could not watch ${what} (${tried}): ${this.message}`;
  }
}

interface ObjectList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: T[];
}

interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** Marks an error thrown by the caller's handler: never retried, rethrown as is. */
class HandlerFailure extends Error {
  override readonly name = 'HandlerFailure';
  constructor(readonly error: unknown) {
    super('watch handler failed');
  }
}

/** A stream that ends at once without events is a server problem; back off instead of spinning. */
class ClosedAtOnce extends Error {
  override readonly name = 'ClosedAtOnce';
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function keyOf(obj: KubernetesObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

function defaultDescribe(obj: KubernetesObject | undefined): string {
  if (!obj) return 'no object seen';
  const where = obj.metadata?.namespace ? `${obj.metadata.namespace}/` : '';
  return `${obj.kind ?? 'object'} ${where}${obj.metadata?.name ?? '?'} at resourceVersion ${
    obj.metadata?.resourceVersion ?? '?'
  }`;
}

/** `/apis/apps/v1/namespaces/shop/deployments` -> the verb on `deployments` in `shop`, for messages. */
function targetOf(path: string, verb: 'list' | 'watch'): KubeCallTarget {
  const parts = path.split('/').filter(Boolean);
  const at = parts.indexOf('namespaces');
  const namespace = at >= 0 && parts.length > at + 2 ? parts[at + 1] : undefined;
  return { verb, kind: parts.at(-1) ?? path, ...(namespace ? { namespace } : {}) };
}

export async function watchObjects<T extends KubernetesObject>(
  options: WatchObjectsOptions<T>,
): Promise<WatchOutcome<T>> {
  if (options.deadline === undefined && !options.signal) {
    throw new Error('watchObjects needs a deadline or a signal: every wait must end');
  }
  const k8s = await import('#kube-client');
  const watcher = new k8s.Watch(options.kube.kc);
  const what = options.what ?? `objects at ${options.path}`;
  const describe = options.describe ?? defaultDescribe;
  const progress = options.onProgress ?? (() => undefined);
  const startedAt = Date.now();
  const budget = {
    attempts: options.retry?.maxAttempts ?? FAILURE_BUDGET.attempts,
    ms: options.retry?.budgetMs ?? FAILURE_BUDGET.ms,
  };
  /** The current run of failures without progress; cleared by a complete list or a watch event. */
  let failing: { since: number; count: number; reason: string } | undefined;
  let request: 'list' | 'watch' = 'list';

  const outcome: WatchOutcome<T> = { lastObject: undefined, events: 0, relists: 0, resumes: 0 };
  const known = new Map<string, T>();
  let resourceVersion: string | undefined;
  let needList = true;
  let listed = false;
  let watched = false;
  let done = false;

  const stop = new AbortController();
  const deadlineTimer =
    options.deadline === undefined
      ? undefined
      : setTimeout(
          () => {
            const lastState = describe(outcome.lastObject);
            const failure = failing
              ? `; the ${request} request was failing (${failing.reason}, ${failing.count} time(s))`
              : '';
            stop.abort(
              new WatchTimeoutError(
                `Timed out after ${humanDuration(Date.now() - startedAt)} waiting for ${what}; last seen: ${lastState}${failure}`,
                what,
                lastState,
              ),
            );
          },
          Math.max(0, options.deadline - Date.now()),
        );
  const onOuterAbort = (): void => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) onOuterAbort();
  options.signal?.addEventListener('abort', onOuterAbort, { once: true });

  /** Runs a caller's handler: 'done' ends the wait; its errors are never retried. */
  const ask = (handler: () => 'done' | void): void => {
    let verdict: 'done' | void;
    try {
      verdict = handler();
    } catch (err) {
      throw new HandlerFailure(err);
    }
    if (verdict === 'done') done = true;
  };

  const deliver = (type: WatchEventType, obj: T): void => {
    outcome.events += 1;
    outcome.lastObject = obj;
    if (type === 'DELETED') known.delete(keyOf(obj));
    else known.set(keyOf(obj), obj);
    if (options.onEvent) ask(() => options.onEvent?.(type, obj));
  };

  const judgeAll = (): void => {
    if (!done && options.judge) ask(() => options.judge?.([...known.values()]));
  };

  const selectors = {
    fieldSelector: options.fieldSelector,
    labelSelector: options.labelSelector,
  };

  async function list(signal: AbortSignal): Promise<void> {
    const seen = new Set<string>();
    const items: T[] = [];
    let continueToken: string | undefined;
    let listVersion: string | undefined;
    do {
      const page = await options.kube.request<ObjectList<T>>({
        method: 'GET',
        path: options.path,
        query: { ...selectors, limit: 500, continue: continueToken },
        signal,
      });
      // List items carry no apiVersion/kind; restore them so handlers and messages can use them.
      const kind = page.kind?.replace(/List$/, '');
      for (const item of page.items ?? []) items.push({ apiVersion: page.apiVersion, kind, ...item });
      listVersion = page.metadata?.resourceVersion;
      continueToken = page.metadata?.continue || undefined;
    } while (continueToken);
    resourceVersion = listVersion;
    needList = false;
    failing = undefined;
    if (listed) outcome.relists += 1;
    listed = true;
    for (const item of items) {
      seen.add(keyOf(item));
      deliver('ADDED', item);
      if (done) return;
    }
    for (const [key, gone] of [...known]) {
      if (seen.has(key)) continue;
      deliver('DELETED', gone);
      if (done) return;
    }
    judgeAll();
  }

  function watchOnce(signal: AbortSignal): Promise<'closed' | 'gone' | 'done'> {
    if (watched) outcome.resumes += 1;
    watched = true;
    const sessionStart = Date.now();
    let sessionEvents = 0;
    let connected = false;
    let controller: AbortController | undefined;
    let settled = false;
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        controller?.abort();
        settle();
      };
      const onAbort = (): void => finish(() => reject(asError(signal.reason)));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });

      const onEvent = (type: string, obj: unknown): void => {
        if (settled) return;
        sessionEvents += 1;
        if (type !== 'ERROR') failing = undefined;
        if (type === 'BOOKMARK') {
          resourceVersion = (obj as KubernetesObject).metadata?.resourceVersion ?? resourceVersion;
          return;
        }
        if (type === 'ERROR') {
          const status = obj as WatchStatus;
          if (status.code === 410) return finish(() => resolve('gone'));
          // Shaped as client-node's ApiException (code, body) so the Status reason and message show.
          const err = Object.assign(
            new Error(`watch ERROR event: ${status.message ?? status.reason ?? 'unknown'}`),
            { code: status.code, body: status },
          );
          return finish(() => reject(err));
        }
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
        const object = obj as T;
        resourceVersion = object.metadata?.resourceVersion ?? resourceVersion;
        try {
          deliver(type, object);
          judgeAll();
        } catch (err) {
          return finish(() => reject(asError(err)));
        }
        if (done) finish(() => resolve('done'));
      };

      const onDone = (err: unknown): void => {
        if (settled) return;
        const status = (err as { statusCode?: unknown } | null)?.statusCode;
        if (status === 410) return finish(() => resolve('gone'));
        // client-node ends an idle stream with a TimeoutError after 30 s: a quiet watch, not a failure.
        const idle = connected && (err as { name?: unknown } | null)?.name === 'TimeoutError';
        if (err && !idle) return finish(() => reject(asError(err)));
        if (!idle && sessionEvents === 0 && Date.now() - sessionStart < 1000) {
          return finish(() => reject(new ClosedAtOnce('watch stream closed at once without events')));
        }
        finish(() => resolve('closed'));
      };

      watcher
        .watch(
          options.path,
          {
            ...selectors,
            allowWatchBookmarks: true,
            resourceVersion,
            timeoutSeconds: options.timeoutSeconds ?? 240,
          },
          onEvent,
          onDone,
        )
        .then(
          (c) => {
            controller = c;
            connected = true;
            if (settled) c.abort();
          },
          (err: unknown) => finish(() => reject(asError(err))),
        );
    });
  }

  const classify = (err: unknown): RetryDecision => {
    if (err instanceof HandlerFailure) return { retry: false, reason: 'handler failed' };
    const decision: RetryDecision =
      err instanceof ClosedAtOnce ? { retry: true, reason: err.message } : classifyError(err, true);
    failing ??= { since: Date.now(), count: 0, reason: decision.reason };
    failing.count += 1;
    failing.reason = decision.reason;
    if (failing.count >= budget.attempts || Date.now() - failing.since >= budget.ms) {
      return { ...decision, retry: false };
    }
    return decision;
  };

  const failed = (err: unknown): WatchFailedError => {
    const run = failing ?? { since: Date.now(), count: 1 };
    const tried =
      run.count > 1
        ? `gave up after ${run.count} attempts in ${humanDuration(Date.now() - run.since)}`
        : 'not retried';
    return new WatchFailedError(what, targetOf(options.path, request), err, tried);
  };

  try {
    while (!done) {
      await withRetry(
        async (_attempt, signal) => {
          if (needList) {
            request = 'list';
            await list(signal);
            if (done) return;
          }
          request = 'watch';
          const result = await watchOnce(signal);
          if (result === 'gone') {
            needList = true;
            progress(
              `watch of ${options.path}: resourceVersion ${resourceVersion ?? '?'} expired (410 Gone); listing again`,
            );
          } else if (result === 'closed') {
            failing = undefined;
            progress(
              `watch of ${options.path} ended; resuming from resourceVersion ${resourceVersion ?? '?'}`,
            );
          }
        },
        {
          idempotent: true,
          signal: stop.signal,
          baseDelayMs: options.retry?.baseDelayMs,
          maxDelayMs: options.retry?.maxDelayMs,
          // The failure budget in classify bounds the attempts; a healthy watch resumes without limit.
          maxAttempts: Infinity,
          classify,
          onRetry: (info) =>
            progress(
              `watch of ${options.path} failed (${info.reason}); retrying in ${info.delayMs} ms from resourceVersion ${
                resourceVersion ?? '(list)'
              }`,
            ),
        },
      );
    }
    return outcome;
  } catch (err) {
    if (err instanceof HandlerFailure) throw err.error;
    // The deadline (WatchTimeoutError) or the caller's cancel: its reason, as it is.
    if (stop.signal.aborted) throw err;
    throw failed(err);
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    options.signal?.removeEventListener('abort', onOuterAbort);
    stop.abort();
  }
}
