/**
 * One deploy per app at a time: a Lease `cd-actions-lock-<app>` held for the length of a run.
 * A second run fails at once naming the holder, or waits up to `waitMs` for it to go. A Lease
 * not renewed within its duration (a runner that died) is taken over.
 */
import * as core from '@actions/core';
import { isAlreadyExists, isConflict } from './kube-errors.js';
import type { KubernetesObject } from '@kubernetes/client-node';
import { LEASES, resourcePath, type KubeObjects } from './kube-objects.js';
import { watchObjects, WatchTimeoutError } from './watch.js';
import { runUrl, startDeployment, type GitHubDeployment, type RunContext } from './github.js';

export interface LockHolder {
  identity: string;
  repository: string;
  runId: string;
  runUrl: string;
  since: string;
}

export interface AppLock {
  name: string;
  release(): Promise<void>;
}

export class LockHeldError extends Error {
  constructor(
    readonly holder: LockHolder,
    app: string,
    namespace: string,
  ) {
    super(
      `Another run is deploying ${app} in ${namespace}: ${holder.repository} run ${holder.runId} (${holder.runUrl}) has held lease ${lockName(app)} since ${holder.since}. ` +
        'Wait for it to finish, or set lock-wait (e.g. 10m) to queue behind it.',
    );
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
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

export function lockName(app: string): string {
  return `cd-actions-lock-${app}`.slice(0, 253);
}

const ANNOTATION = 'cd-actions.dev/lock-holder';

function microTime(date = new Date()): string {
  return date.toISOString().replace('Z', '000Z');
}

function holderOf(lease: Lease): LockHolder {
  try {
    return JSON.parse(lease.metadata.annotations?.[ANNOTATION] ?? '') as LockHolder;
  } catch {
    const identity = lease.spec?.holderIdentity ?? 'unknown';
    return { identity, repository: identity, runId: '?', runUrl: '?', since: lease.spec?.acquireTime ?? '?' };
  }
}

function expired(lease: Lease, now: number): boolean {
  const renewed = Date.parse(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? '');
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return Number.isFinite(renewed) && duration > 0 && renewed + duration < now;
}

export async function acquireLock(options: {
  objects: KubeObjects;
  namespace: string;
  app: string;
  run: RunContext;
  waitMs: number;
  /** How long the lock lives without renewal; renewed every third of it while held. */
  leaseSeconds?: number;
  signal?: AbortSignal;
}): Promise<AppLock> {
  const { objects, namespace, app, run } = options;
  const name = lockName(app);
  const leaseSeconds = options.leaseSeconds ?? 120;
  const identity = `${run.repository}#${run.runId}/${run.runAttempt}`;
  const holder: LockHolder = {
    identity,
    repository: run.repository,
    runId: run.runId,
    runUrl: runUrl(run),
    since: new Date().toISOString(),
  };
  const body = (resourceVersion?: string): Lease => ({
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
      acquireTime: microTime(),
      renewTime: microTime(),
    },
  });

  const deadline = Date.now() + options.waitMs;
  let announced = false;
  for (;;) {
    options.signal?.throwIfAborted();
    const existing = await objects.get<Lease>(LEASES, namespace, name);
    try {
      if (!existing) {
        const created = await objects.create<Lease>(LEASES, namespace, body());
        return holdLock(objects, namespace, name, created, body, leaseSeconds);
      }
      if (existing.spec?.holderIdentity === identity || expired(existing, Date.now())) {
        // Our own lease from an earlier attempt of this run, or a dead holder's: take it over.
        const taken = await objects.replace<Lease>(
          LEASES,
          namespace,
          body(existing.metadata.resourceVersion) as never,
        );
        return holdLock(objects, namespace, name, taken, body, leaseSeconds);
      }
    } catch (error) {
      // Someone else created or renewed it between our read and write: read again.
      if (isAlreadyExists(error) || isConflict(error)) continue;
      throw error;
    }
    const current = holderOf(existing);
    if (Date.now() >= deadline) throw new LockHeldError(current, app, namespace);
    if (!announced) {
      core.info(
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
 * Keeps the lease renewed while held. Every write carries the resourceVersion of our last one, so
 * if another run has taken the lease over (ours expired), we neither renew nor delete theirs.
 */
function holdLock(
  objects: KubeObjects,
  namespace: string,
  name: string,
  acquired: Lease,
  body: (resourceVersion?: string) => Lease,
  leaseSeconds: number,
): AppLock {
  core.info(`Holding lock ${namespace}/${name} as ${acquired.spec?.holderIdentity ?? '?'}`);
  let resourceVersion = acquired.metadata.resourceVersion;
  const acquireTime = acquired.spec?.acquireTime;
  const renew = async (): Promise<void> => {
    const next = body(resourceVersion);
    next.spec = { ...next.spec, acquireTime };
    const renewed = await objects.replace<Lease>(LEASES, namespace, next as never);
    resourceVersion = renewed.metadata.resourceVersion;
  };
  const timer = setInterval(
    () => {
      renew().catch((error: unknown) => core.warning(`Could not renew lock ${name}: ${String(error)}`));
    },
    (leaseSeconds * 1000) / 3,
  );
  timer.unref();
  let released = false;
  return {
    name,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        await objects.delete(LEASES, namespace, name, { resourceVersion });
        core.info(`Released lock ${namespace}/${name}`);
      } catch (error) {
        if (!isConflict(error)) throw error;
        core.warning(`Lock ${namespace}/${name} had been taken over by another run; left it to them`);
      }
    },
  };
}

export interface GuardOptions {
  objects: KubeObjects;
  namespace: string;
  app: string;
  run: RunContext;
  lockWaitMs?: number;
  signal?: AbortSignal;
  log: (text: string) => void;
  /** Mirror the run to a GitHub deployment (when a token and an environment are given). */
  github?: { token?: string; environment?: string; description: string; inProgress: string };
}

/**
 * Runs a deploy or rollback under the app's lock, mirrored to a GitHub deployment: in_progress,
 * then success / failure from the outcome, or error when the work throws. The lock is released
 * whatever happens; failing to release it is logged, never raised over the outcome.
 */
export async function underAppLock<T extends { ok: boolean; message: string }>(
  o: GuardOptions,
  work: () => Promise<T>,
): Promise<T> {
  const lock = await acquireLock({
    objects: o.objects,
    namespace: o.namespace,
    app: o.app,
    run: o.run,
    waitMs: o.lockWaitMs ?? 0,
    signal: o.signal,
  });
  let github: GitHubDeployment | undefined;
  try {
    if (o.github?.token && o.github.environment) {
      github = await startDeployment({
        token: o.github.token,
        environment: o.github.environment,
        description: o.github.description,
        run: o.run,
      });
      await github?.setStatus('in_progress', o.github.inProgress);
    }
    const outcome = await work();
    await github?.setStatus(outcome.ok ? 'success' : 'failure', outcome.message);
    return outcome;
  } catch (error) {
    await github?.setStatus('error', error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    await lock.release().catch((error: unknown) => {
      o.log(`could not release lock ${lock.name}: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}
