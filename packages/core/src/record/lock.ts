/**
 * One deploy per app at a time: a Lease `cd-actions-lock-<app>` held for the length of a run.
 *
 * The holder is the workflow run (`owner/repo#runId`); the attempt is recorded beside it. A second
 * run fails at once naming the holder, or waits up to `waitMs` for it to go. A lease not renewed
 * within its duration (a runner that died) is taken over, and so, at once, is a lease left by an
 * earlier attempt of this same run (a re-run after a lost runner).
 *
 * While held, the lease is renewed every third of its duration. A holder that cannot renew it
 * before its deadline, or that finds another holder on it, has lost it: `lost` aborts and the
 * holder writes to the lease no more, so there are never two writers. Every write the server may
 * have stored without our seeing the answer is settled by reading the lease back.
 *
 * A run that must not wait for the holder (`action: abort` or `promote` while a canary step runs)
 * asks it instead: `requestStop` writes the request on the lease, addressed to that very holder,
 * and waits for the lease to be released. A holder that took the lock as `stoppable` watches its
 * lease. Asked to abort, it aborts `stopRequested`, and the engine puts back what the run changed,
 * as for a failure. Asked to promote, it aborts `promoteRequested`, and the strategy cuts its
 * judging short and promotes. Each ask has its own annotation, so an abort always overrides a
 * promotion asked earlier.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, isNotFound, KubeApiError } from '../kube/errors.js';
import { LEASES, resourcePath, type KubeObjects } from '../kube/objects.js';
import { httpErrorInfo, sleep, withRetry } from '../net/retry.js';
import { watchObjects, WatchTimeoutError } from '../kube/watch.js';
import { runUrl, type RunContext } from '../github/github.js';

export interface LockHolder {
  /** The run: `owner/repo#runId`. */
  identity: string;
  repository: string;
  runId: string;
  /** The run attempt that holds it; absent on leases written by older versions. */
  attempt?: string;
  runUrl: string;
  since: string;
}

export interface AppLock {
  name: string;
  /**
   * Aborted (reason: a LockLostError saying why) when the lease is lost: renewal failing past the
   * lease's deadline, or another holder seen on the lease. The deploy stops and compensates.
   */
  lost: AbortSignal;
  /**
   * Aborted (reason: a StopRequestedError naming who asked) when another run asks this holder to
   * stop (requestStop). Never aborted unless the lock was taken as `stoppable`.
   */
  stopRequested: AbortSignal;
  /**
   * Aborted (reason: a StopRequestedError naming who asked) when another run asks this holder to
   * promote now (requestStop with intent "promote"): the strategy decides what that cuts short.
   * Never aborted unless the lock was taken as `stoppable`.
   */
  promoteRequested: AbortSignal;
  /**
   * Never throws. Deletes the lease if still ours; a failure to release comes back as a warning
   * that says how long the app stays locked and how to free it.
   */
  release(): Promise<{ warning?: string }>;
}

function describeHolder(holder: LockHolder): string {
  const attempt = holder.attempt ? ` attempt ${holder.attempt}` : '';
  return `${holder.repository} run ${holder.runId}${attempt} (${holder.runUrl})`;
}

export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
  constructor(
    readonly holder: LockHolder,
    app: string,
    namespace: string,
    /** The holder is another job (or an earlier step) of this same run attempt. */
    sameRun = false,
  ) {
    super(
      `Another ${sameRun ? 'job of this run' : 'run'} is deploying ${app} in ${namespace}: ${describeHolder(holder)} has held lease ${lockName(app)} since ${holder.since}. ` +
        'Wait for it to finish, or set lock-wait (e.g. 10m) to queue behind it.',
    );
  }
}

/** The lease is no longer ours: the deploy must stop and compensate, and not touch the lease again. */
export class LockLostError extends Error {
  override readonly name = 'LockLostError';
  constructor(
    /** `namespace/name` of the lease. */
    readonly lease: string,
    why: string,
    /** Who holds it now, when someone does. */
    readonly holder?: LockHolder,
    options?: { cause?: unknown },
  ) {
    super(`Lost lock ${lease}: ${why}`, options);
  }
}

interface Lease {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    annotations?: Record<string, string>;
  };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** Another run asked the holder to stop and put back what it changed, or to promote now (requestStop). */
export class StopRequestedError extends Error {
  override readonly name = 'StopRequestedError';
  constructor(readonly request: StopRequest) {
    super(`${request.repository} run ${request.runId} (${request.runUrl}) asked this run to ${request.why}`);
  }
}

/** What the holder is asked: to abort (put back what it changed), or to promote now. */
export type StopIntent = 'abort' | 'promote';

/** What requestStop writes on the lease: who asks, why, and the holder it is meant for. */
export interface StopRequest {
  repository: string;
  runId: string;
  runUrl: string;
  at: string;
  /** In words, after "to": "abort the canary and send all traffic back to the stable". */
  why: string;
  /** The holder asked: its identity and the acquireTime of its claim, so no later holder obeys it. */
  holder: { identity: string; acquireTime: string };
}

export function lockName(app: string): string {
  return `cd-actions-lock-${app}`.slice(0, 253);
}

const ANNOTATION = 'cd-actions.dev/lock-holder';
/** One annotation per intent: a later abort never erases an earlier promote, nor the reverse. */
const REQUEST_ANNOTATIONS: Record<StopIntent, string> = {
  abort: 'cd-actions.dev/stop-request',
  promote: 'cd-actions.dev/promote-request',
};
/** After a watch for stop requests failed, the pause before it is opened again. */
const STOP_WATCH_PAUSE_MS = 5_000;
/** How long release() keeps trying: a run that ends should not hang on an API that is down. */
const RELEASE_DEADLINE_MS = 5_000;
/** The pause between two refused deletes of our lease. */
const RELEASE_PAUSE_MS = 250;

function microTime(date: Date): string {
  return date.toISOString().replace('Z', '000Z');
}

function sameInstant(text: string | undefined, date: Date): boolean {
  return text !== undefined && Date.parse(text) === date.getTime();
}

function holderOf(lease: Lease): LockHolder {
  try {
    return JSON.parse(lease.metadata.annotations?.[ANNOTATION] ?? '') as LockHolder;
  } catch {
    const identity = lease.spec?.holderIdentity ?? 'unknown';
    return { identity, repository: identity, runId: '?', runUrl: '?', since: lease.spec?.acquireTime ?? '?' };
  }
}

function requestOf(lease: Lease, intent: StopIntent): StopRequest | undefined {
  const text = lease.metadata.annotations?.[REQUEST_ANNOTATIONS[intent]];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as StopRequest;
  } catch {
    return undefined;
  }
}

function expired(lease: Lease, now: number): boolean {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return Number.isFinite(renewed) && duration > 0 && renewed + duration < now;
}

/** A write the server may have stored though we saw no answer: a dropped connection, a timeout, a 5xx. */
function ambiguous(error: unknown): boolean {
  const status = error instanceof KubeApiError ? error.status : httpErrorInfo(error).status;
  return status === undefined || status >= 500;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What to tell a user about a lease we may have left behind: until when it locks the app, and the way out. */
function lockedUntil(app: string, namespace: string, name: string, until: number): string {
  const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
  return (
    `${app} stays locked until ${new Date(until).toISOString()} (${seconds} s from now), when the lease expires; ` +
    `to free it sooner: kubectl delete lease ${name} -n ${namespace}`
  );
}

/** This run, this attempt, this acquisition: what tells our lease from any other. */
interface Claim {
  objects: KubeObjects;
  namespace: string;
  name: string;
  app: string;
  identity: string;
  attempt: string;
  leaseSeconds: number;
  acquireTime: Date;
  /** Watch the lease for stop and promote requests (requestStop) while it is held. */
  stoppable: boolean;
  log: (text: string) => void;
  /** The lease as we write it: `resourceVersion` is the precondition, `renewTime` the time of this write. */
  body(resourceVersion: string | undefined, renewTime: Date): Lease;
}

function isOurs(claim: Claim, lease: Lease): boolean {
  return (
    lease.spec?.holderIdentity === claim.identity &&
    holderOf(lease).attempt === claim.attempt &&
    sameInstant(lease.spec.acquireTime, claim.acquireTime)
  );
}

export async function acquireLock(options: {
  objects: KubeObjects;
  namespace: string;
  app: string;
  run: RunContext;
  waitMs: number;
  /** How long the lock lives without renewal; renewed every third of it while held. Default 120. */
  leaseSeconds?: number;
  /** Ends the wait for another holder; a lock once held ends only by release() or by being lost. */
  signal?: AbortSignal;
  /** Other runs may ask this holder to stop or to promote (requestStop): the lease is watched while held. */
  stoppable?: boolean;
  log: (text: string) => void;
}): Promise<AppLock> {
  const { objects, namespace, app, run, log } = options;
  const name = lockName(app);
  const where = `${namespace}/${name}`;
  const leaseSeconds = Math.max(1, Math.round(options.leaseSeconds ?? 120));
  // The run, not the attempt: a re-run must recognise the lease its own earlier attempt left behind.
  const identity = `${run.repository}#${run.runId}`;

  const claimFor = (previous: Lease | undefined): Claim => {
    const acquireTime = new Date();
    const holder: LockHolder = {
      identity,
      repository: run.repository,
      runId: run.runId,
      attempt: run.runAttempt,
      runUrl: runUrl(run),
      since: acquireTime.toISOString(),
    };
    const leaseTransitions = previous ? (previous.spec?.leaseTransitions ?? 0) + 1 : 0;
    return {
      objects,
      namespace,
      name,
      app,
      identity,
      attempt: run.runAttempt,
      leaseSeconds,
      acquireTime,
      stoppable: options.stoppable ?? false,
      log,
      body: (resourceVersion, renewTime) => ({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name,
          namespace,
          ...(resourceVersion ? { resourceVersion } : {}),
          annotations: { [ANNOTATION]: JSON.stringify(holder) },
        },
        spec: {
          holderIdentity: identity,
          leaseDurationSeconds: leaseSeconds,
          acquireTime: microTime(acquireTime),
          renewTime: microTime(renewTime),
          leaseTransitions,
        },
      }),
    };
  };

  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const existing = await objects.get<Lease>(LEASES, namespace, name, { signal: options.signal });
    const free = existing && freeBecause(existing, identity, run.runAttempt, where);
    if (free) log(free);
    else if (existing) {
      const current = holderOf(existing);
      // The same run at the same attempt is another job (or step) running now, not a leftover.
      const sameRun = existing.spec?.holderIdentity === identity;
      if (Date.now() >= deadline) throw new LockHeldError(current, app, namespace, sameRun);
      if (!announced) {
        log(
          `Waiting up to ${Math.round(options.waitMs / 1000)} s for ${current.repository} run ${current.runId} to release ${name}`,
        );
        announced = true;
      }
      await waitForRelease(
        objects,
        namespace,
        existing,
        Math.min(deadline, expiresAt(existing)),
        options.signal,
      );
      continue;
    }
    const claim = claimFor(existing);
    const lease = await claimLease(claim, existing);
    // Undefined: another run wrote the lease between our read and our write. Read again and decide.
    if (lease) return hold(claim, lease);
  }
}

/**
 * Why the lease may be taken now, in words for the log; undefined while its holder still holds it.
 * `identity` and `attempt` are the run asking.
 */
function freeBecause(existing: Lease, identity: string, attempt: string, where: string): string | undefined {
  const current = holderOf(existing);
  if (existing.spec?.holderIdentity === identity && Number(current.attempt) < Number(attempt))
    // Safe at once: GitHub starts a re-run only after every job of the earlier attempt has ended
    // (it cancels what still runs), so no earlier attempt deploys beside us. Were a lost runner
    // somehow still alive, its next renewal would meet our resourceVersion, fail, and stop it.
    return `Taking over lease ${where} held by attempt ${current.attempt} of this run: this is attempt ${attempt}, and GitHub ended that attempt before starting it`;
  if (!existing.spec?.holderIdentity)
    return `Taking lease ${where}: it has no holder (released by clearing it)`;
  if (expired(existing, Date.now()))
    return `Taking over lease ${where} from ${describeHolder(current)}: it was not renewed within ${existing.spec?.leaseDurationSeconds ?? '?'} s of ${existing.spec?.renewTime ?? existing.spec?.acquireTime ?? '?'}`;
  return undefined;
}

/**
 * Asks the run holding the app's lock to stop and put back what it changed (intent "abort", the
 * default) or to promote now (intent "promote"), and waits up to `waitMs` for it to release the
 * lease. Undefined when nobody holds it (nothing to ask); the holder asked otherwise. The request
 * is written with the lease's resourceVersion, addressed to this holder's claim, so it never
 * reaches a later holder. Throws when the holder is still there at the deadline (a holder that
 * does not listen: an older version, another action; or one still promoting).
 */
export async function requestStop(options: {
  objects: KubeObjects;
  namespace: string;
  app: string;
  run: RunContext;
  intent?: StopIntent;
  why: string;
  waitMs: number;
  signal?: AbortSignal;
  log: (text: string) => void;
}): Promise<LockHolder | undefined> {
  const { objects, namespace, app, run, log } = options;
  const name = lockName(app);
  const where = `${namespace}/${name}`;
  const identity = `${run.repository}#${run.runId}`;
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    const lease = await objects.get<Lease>(LEASES, namespace, name, { signal: options.signal });
    if (!lease || freeBecause(lease, identity, run.runAttempt, where)) return undefined;
    const holder = holderOf(lease);
    const request: StopRequest = {
      repository: run.repository,
      runId: run.runId,
      runUrl: runUrl(run),
      at: new Date().toISOString(),
      why: options.why,
      holder: { identity: lease.spec?.holderIdentity ?? '', acquireTime: lease.spec?.acquireTime ?? '' },
    };
    const annotation = REQUEST_ANNOTATIONS[options.intent ?? 'abort'];
    const asked = { ...lease.metadata.annotations, [annotation]: JSON.stringify(request) };
    try {
      // Our own retries are safe: the resourceVersion makes a second write of it a 409, read again below.
      await objects.replace(
        LEASES,
        namespace,
        { ...lease, metadata: { ...lease.metadata, annotations: asked } },
        {
          signal: options.signal,
        },
      );
    } catch (error) {
      // The holder renewed (or released) meanwhile: read the lease again and ask on its latest version.
      if (isConflict(error) || isNotFound(error)) continue;
      throw error;
    }
    log(
      `Asked ${describeHolder(holder)}, which holds lock ${where}, to ${options.why}; waiting up to ${Math.round(options.waitMs / 1000)} s for it to finish`,
    );
    // A holder that died stops renewing: its lease is free at its expiry, before our deadline.
    let seen = lease;
    for (;;) {
      await waitForRelease(objects, namespace, lease, Math.min(deadline, expiresAt(seen)), options.signal);
      const current = await objects.get<Lease>(LEASES, namespace, name, { signal: options.signal });
      const stillHeld =
        current &&
        current.spec?.holderIdentity === lease.spec?.holderIdentity &&
        current.spec?.acquireTime === lease.spec?.acquireTime &&
        !expired(current, Date.now());
      if (!stillHeld) {
        log(
          current &&
            current.spec?.holderIdentity === lease.spec?.holderIdentity &&
            expired(current, Date.now())
            ? `${describeHolder(holder)} stopped renewing lock ${where}: it expired`
            : `${describeHolder(holder)} released lock ${where}`,
        );
        return holder;
      }
      seen = current;
      if (Date.now() >= deadline)
        throw new Error(
          `${describeHolder(holder)} still holds lock ${where} ${Math.round(options.waitMs / 1000)} s after it was asked to ${options.why}; ` +
            'a run of an older cd-actions, or of another action, does not listen for that (cancel that run instead), or it has not finished yet',
        );
    }
  }
}

/**
 * Creates the lease, or replaces `previous` under its resourceVersion. Undefined when another run
 * got there first. A write whose answer was lost is settled by reading the lease back: it is ours
 * only if it carries this very claim.
 */
async function claimLease(claim: Claim, previous: Lease | undefined): Promise<Lease | undefined> {
  const { objects, namespace, name } = claim;
  const where = `${namespace}/${name}`;
  const body = claim.body(previous?.metadata.resourceVersion, claim.acquireTime);
  const verb = previous ? 'take over' : 'create';
  try {
    return previous
      ? // Not retried blindly: a lost answer is settled by reading the lease back, below.
        await objects.replace<Lease>(LEASES, namespace, body as never, { idempotent: false })
      : await objects.create<Lease>(LEASES, namespace, body);
  } catch (error) {
    if (isAlreadyExists(error) || isConflict(error)) return undefined;
    if (!ambiguous(error)) throw error;
    const read = await objects.get<Lease>(LEASES, namespace, name).then(
      (lease) => ({ lease }),
      (readError: unknown) => ({ readError }),
    );
    if ('readError' in read) {
      const until = claim.acquireTime.getTime() + claim.leaseSeconds * 1000;
      throw new Error(
        `Could not ${verb} lock ${where} (${errorText(error)}), nor read it back to learn whether the server stored it (${errorText(read.readError)}). ` +
          `If it did, ${lockedUntil(claim.app, namespace, name, until)}`,
        { cause: error },
      );
    }
    const current = read.lease;
    if (current && isOurs(claim, current)) {
      claim.log(
        `The answer to our ${verb} of lease ${where} was lost (${errorText(error)}); read back, the lease is ours`,
      );
      return current;
    }
    // Not stored. If the lease changed meanwhile, someone else wrote it: the caller reads and decides.
    if (current?.metadata.resourceVersion !== previous?.metadata.resourceVersion) return undefined;
    throw error;
  }
}

function expiresAt(lease: Lease): number {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  return Number.isFinite(renewed)
    ? renewed + (lease.spec?.leaseDurationSeconds ?? 0) * 1000 + 1
    : Date.now() + 1000;
}

/** Watches the Lease until it is deleted or changes hands, or until `until` (its expiry or our deadline). */
async function waitForRelease(
  objects: KubeObjects,
  namespace: string,
  lease: Lease,
  until: number,
  signal?: AbortSignal,
): Promise<void> {
  try {
    await watchObjects<KubernetesObject>({
      kube: objects.kube,
      path: resourcePath(LEASES, namespace),
      fieldSelector: `metadata.name=${lease.metadata.name}`,
      deadline: Math.max(until, Date.now() + 50),
      signal,
      what: `lease ${namespace}/${lease.metadata.name} to be released`,
      onEvent: (type, object) =>
        type === 'DELETED' || (object as unknown as Lease).spec?.holderIdentity !== lease.spec?.holderIdentity
          ? 'done'
          : undefined,
    });
  } catch (error) {
    // Reaching the expiry or our deadline is an answer too: the loop reads the lease again and decides.
    if (!(error instanceof WatchTimeoutError)) throw error;
  }
}

/**
 * Keeps the lease renewed while held: every third of its duration, each renewal retried until the
 * lease's deadline (its renew time plus duration, less a sixth of the duration as a margin for
 * clocks and the write in flight). Past that deadline another run may take the lease over, so we
 * count it as lost then, not later. Every write carries the resourceVersion of our last one: if
 * another run has taken the lease, we neither renew nor delete theirs.
 */
function hold(claim: Claim, acquired: Lease): AppLock {
  const { objects, namespace, name, log } = claim;
  const where = `${namespace}/${name}`;
  const durationMs = claim.leaseSeconds * 1000;
  const periodMs = durationMs / 3;
  const marginMs = durationMs / 6;
  let resourceVersion = acquired.metadata.resourceVersion;
  /** renewTime of the lease as we last saw it stored. */
  let renewedAt = Date.parse(acquired.spec?.renewTime ?? '') || claim.acquireTime.getTime();
  /** The latest renewTime we sent: a renewal whose answer we never saw may have stored it. */
  let latestSent = renewedAt;
  const lost = new AbortController();
  /** Aborted by release(): ends a renewal in flight and schedules no more. */
  const stopped = new AbortController();
  const stopRequested = new AbortController();
  const promoteRequested = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let renewing: Promise<void> | undefined;
  let releasing: Promise<{ warning?: string }> | undefined;

  log(
    `Holding lock ${where} as ${claim.identity} (attempt ${claim.attempt}); renewed every ${Math.round(periodMs / 100) / 10} s`,
  );

  /** A request on the lease addressed to this claim (requestStop) aborts its intent's signal, once. */
  const noticeStop = (lease: Lease): void => {
    if (!claim.stoppable) return;
    for (const [intent, asked] of [
      ['abort', stopRequested],
      ['promote', promoteRequested],
    ] as const) {
      const request = requestOf(lease, intent);
      if (
        asked.signal.aborted ||
        request?.holder.identity !== claim.identity ||
        !sameInstant(request.holder.acquireTime, claim.acquireTime)
      )
        continue;
      const error = new StopRequestedError(request);
      log(error.message);
      asked.abort(error);
    }
  };

  /**
   * While held, the lease is watched for a stop request: it comes at once, not at the next
   * renewal. A watch that fails is opened again after a pause; a renewal that meets the request's
   * write (a 409) reads it too.
   */
  async function listenForStop(): Promise<void> {
    const signal = AbortSignal.any([stopped.signal, lost.signal, stopRequested.signal]);
    while (!signal.aborted) {
      try {
        await watchObjects<KubernetesObject>({
          kube: objects.kube,
          path: resourcePath(LEASES, namespace),
          fieldSelector: `metadata.name=${name}`,
          signal,
          what: `lease ${where} for stop requests`,
          onEvent: (_type, object) => {
            noticeStop(object as unknown as Lease);
            return stopRequested.signal.aborted ? 'done' : undefined;
          },
        });
      } catch (error) {
        if (signal.aborted) return;
        log(
          `Could not watch lock ${where} for stop requests (${errorText(error)}); watching again in ${STOP_WATCH_PAUSE_MS / 1000} s`,
        );
        await sleep(STOP_WATCH_PAUSE_MS, signal).catch(() => undefined);
      }
    }
  }

  const lose = (error: LockLostError): void => {
    if (stopped.signal.aborted || lost.signal.aborted) return;
    clearTimeout(timer);
    log(error.message);
    lost.abort(error);
  };

  async function renewOnce(signal: AbortSignal, deadlineAt: number): Promise<void> {
    const call = (): { signal: AbortSignal; deadlineMs: number } => ({
      signal,
      deadlineMs: Math.max(1, deadlineAt - Date.now()),
    });
    const sent = new Date();
    latestSent = Math.max(latestSent, sent.getTime());
    try {
      const renewed = await objects.replace<Lease>(
        LEASES,
        namespace,
        claim.body(resourceVersion, sent) as never,
        { ...call(), idempotent: false },
      );
      resourceVersion = renewed.metadata.resourceVersion;
      renewedAt = sent.getTime();
      return;
    } catch (error) {
      if (!isConflict(error) && !ambiguous(error)) throw error;
      // The lease changed under us (409), or the answer was lost: read what is true.
      const current = await objects.get<Lease>(LEASES, namespace, name, call());
      if (!current) throw new LockLostError(where, 'someone deleted the lease', undefined, { cause: error });
      noticeStop(current);
      if (!isOurs(claim, current)) {
        const holder = holderOf(current);
        throw new LockLostError(where, `${describeHolder(holder)} holds it now`, holder, { cause: error });
      }
      resourceVersion = current.metadata.resourceVersion;
      if (sameInstant(current.spec?.renewTime, sent)) {
        renewedAt = sent.getTime();
        return;
      }
      throw error; // Not stored: the next try carries the resourceVersion just read.
    }
  }

  async function renew(): Promise<void> {
    const deadlineAt = renewedAt + durationMs - marginMs;
    try {
      await withRetry((_attempt, signal) => renewOnce(signal, deadlineAt), {
        deadlineMs: Math.max(1, deadlineAt - Date.now()),
        signal: stopped.signal,
        maxAttempts: Infinity,
        baseDelayMs: Math.min(200, periodMs / 10),
        maxDelayMs: Math.min(10_000, periodMs / 2),
        // Whatever fails (a 403 from a changed Role included) is tried again until the deadline:
        // giving up earlier would only lose the lease sooner. Only a lost lease ends it at once.
        classify: (error) =>
          error instanceof LockLostError
            ? { retry: false, reason: 'lost' }
            : { retry: true, reason: errorText(error).slice(0, 200) },
        onRetry: (info) =>
          log(
            `Could not renew lock ${where} (${info.reason}); retrying in ${info.delayMs} ms until its deadline ${new Date(deadlineAt).toISOString()}`,
          ),
      });
    } catch (error) {
      if (stopped.signal.aborted) return;
      lose(
        error instanceof LockLostError
          ? error
          : new LockLostError(
              where,
              `could not renew it before its deadline ${new Date(deadlineAt).toISOString()}, after which another run may take it over (${errorText(error)})`,
              undefined,
              { cause: error },
            ),
      );
      return;
    }
    schedule();
  }

  function schedule(): void {
    if (stopped.signal.aborted || lost.signal.aborted) return;
    timer = setTimeout(
      () => {
        renewing = renew();
      },
      Math.max(0, renewedAt + periodMs - Date.now()),
    );
    // A held lock must not keep the process alive: a run that ends without release() still exits.
    timer.unref();
  }

  async function releaseOnce(): Promise<{ warning?: string }> {
    clearTimeout(timer);
    stopped.abort();
    await renewing;
    const cannotRelease = (error: unknown): { warning: string } => ({
      warning: `Could not release lock ${where} (${errorText(error)}). ${lockedUntil(claim.app, namespace, name, latestSent + durationMs)}`,
    });
    const reason: unknown = lost.signal.reason;
    if (reason instanceof LockLostError) {
      // Never two writers: a lost lease is not ours to delete, even where the API would let us.
      if (reason.holder) {
        log(`Left lock ${where} to ${describeHolder(reason.holder)}, who holds it now`);
        return {};
      }
      // Renewal failed past the deadline: the lease may still name us until it expires. Only read.
      let until = latestSent + durationMs;
      try {
        const current = await objects.get<Lease>(LEASES, namespace, name, {
          deadlineMs: RELEASE_DEADLINE_MS,
        });
        if (!current || !isOurs(claim, current)) return {};
        until = (Date.parse(current.spec?.renewTime ?? '') || renewedAt) + durationMs;
      } catch {
        // Unreadable too: assume the latest renewal we sent was stored.
      }
      return {
        warning: `Did not release lock ${where}: it was lost before (${reason.message}), and a lost lease is never written again. ${lockedUntil(claim.app, namespace, name, until)}`,
      };
    }
    const deadlineAt = Date.now() + RELEASE_DEADLINE_MS;
    const call = (): { deadlineMs: number } => ({ deadlineMs: Math.max(1, deadlineAt - Date.now()) });
    try {
      for (;;) {
        try {
          // A delete is retried on transient errors within the call's deadline; a 404 answers false.
          const deleted = await objects.delete(LEASES, namespace, name, { resourceVersion }, call());
          log(deleted ? `Released lock ${where}` : `Lock ${where} was already gone`);
          return {};
        } catch (error) {
          if (Date.now() >= deadlineAt) throw error;
          if (!isConflict(error)) {
            // Any other refusal (a 403 from a flaky authorizer, a 5xx) is tried again: the delete
            // carries our resourceVersion, so repeating it can never remove another run's lease.
            await sleep(RELEASE_PAUSE_MS);
            continue;
          }
          // The lease changed since our last write we saw: a renewal whose answer we missed, or
          // another run that took it over. Read which.
          const current = await objects.get<Lease>(LEASES, namespace, name, call());
          if (!current) {
            log(`Lock ${where} was already gone`);
            return {};
          }
          if (!isOurs(claim, current)) {
            log(`Left lock ${where} to ${describeHolder(holderOf(current))}, who holds it now`);
            return {};
          }
          resourceVersion = current.metadata.resourceVersion;
        }
      }
    } catch (error) {
      return (await releaseByUpdate(error)) ?? cannotRelease(error);
    }
  }

  /**
   * When the delete stays refused, free the lease the way client-go's leader election releases
   * one: keep the object, clear its holder. Acquiring takes a lease with no holder at once.
   * Undefined when that fails too.
   */
  async function releaseByUpdate(deleteError: unknown): Promise<{ warning?: string } | undefined> {
    try {
      const options = { deadlineMs: RELEASE_DEADLINE_MS };
      const current = await objects.get<Lease>(LEASES, namespace, name, options);
      if (!current || !isOurs(claim, current)) return {};
      const { holderIdentity: _holder, ...spec } = current.spec ?? {};
      await objects.replace(
        LEASES,
        namespace,
        { ...current, spec: { ...spec, leaseDurationSeconds: 1 } },
        options,
      );
      log(
        `Released lock ${where} by clearing its holder (the delete was refused: ${errorText(deleteError)})`,
      );
      return {};
    } catch {
      return undefined;
    }
  }

  schedule();
  if (claim.stoppable) void listenForStop();
  return {
    name,
    lost: lost.signal,
    stopRequested: stopRequested.signal,
    promoteRequested: promoteRequested.signal,
    release: () => (releasing ??= releaseOnce().catch((error: unknown) => ({ warning: errorText(error) }))),
  };
}
