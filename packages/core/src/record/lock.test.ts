import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunContext } from '../github/github.js';
import { createKube, type Kube } from '../kube/kube.js';
import { KubeObjects } from '../kube/objects.js';
import {
  acquireLock,
  LockHeldError,
  LockLostError,
  requestStop,
  StopRequestedError,
  type AppLock,
  type LockHolder,
} from './lock.js';
import {
  buildKubeconfig,
  sendJson,
  sendStatus,
  startFakeKubeApi,
  startWatch,
  type FakeKubeApi,
  type RecordedRequest,
  type WatchStream,
} from '../testing/fake-kube-api.js';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/shop/leases';
const NAME = 'cd-actions-lock-web';
const ANNOTATION = 'cd-actions.dev/lock-holder';

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
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

/**
 * What the fake answers a request with instead of the store's answer: a status, a connection cut
 * before the store sees the request ('drop'), or one cut after the store applied it ('store-then-drop').
 */
type Fault = number | 'drop' | 'store-then-drop';

/** One Lease, stored as an API server stores it: resourceVersion preconditions, watch events. */
class LeaseStore {
  lease: Lease | undefined;
  private version = 100;
  private faults: { method: string; fault: Fault; times: number }[] = [];
  private streams: WatchStream[] = [];
  /** Called once a watch on the leases is open. */
  onWatch: (() => void) | undefined;

  /** Answers the next `times` requests of `method` with `fault`. */
  inject(method: string, fault: Fault, times = 1): void {
    this.faults.push({ method, fault, times });
  }

  /** Puts a lease in place as another writer (a kubectl, another run) would. */
  put(lease: Lease | undefined): void {
    const type = !lease ? 'DELETED' : this.lease ? 'MODIFIED' : 'ADDED';
    const before = this.lease;
    this.lease = lease && this.stamp(lease);
    this.notify(type, this.lease ?? before);
  }

  close(): void {
    for (const stream of this.streams.splice(0)) stream.end();
  }

  handle(req: RecordedRequest, res: ServerResponse): void {
    if (!req.path.startsWith(LEASES)) return sendStatus(res, 404, 'NotFound', `no ${req.path}`);
    const planned = this.faults.find((f) => f.method === req.method && f.times > 0);
    if (planned) planned.times -= 1;
    const fault = planned?.fault;
    if (fault === 'drop') return void res.destroy();
    if (typeof fault === 'number') return sendStatus(res, fault, 'Injected', `injected ${fault}`);
    if (req.method === 'GET' && req.query.get('watch') === 'true') {
      this.streams.push(startWatch(res));
      setImmediate(() => this.onWatch?.());
      return;
    }
    const [status, body] = this.answer(req);
    if (fault === 'store-then-drop') return void res.destroy();
    sendJson(res, status, body);
  }

  private answer(req: RecordedRequest): [number, unknown] {
    const named = req.path !== LEASES;
    const conflict = (message: string): [number, unknown] => [409, status(409, 'Conflict', message)];
    const notFound: [number, unknown] = [404, status(404, 'NotFound', `leases "${NAME}" not found`)];
    switch (req.method) {
      case 'GET':
        if (!named) {
          return [
            200,
            {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'LeaseList',
              metadata: { resourceVersion: String(this.version) },
              items: this.lease ? [this.lease] : [],
            },
          ];
        }
        return this.lease ? [200, this.lease] : notFound;
      case 'POST': {
        if (this.lease) return [409, status(409, 'AlreadyExists', `leases "${NAME}" already exists`)];
        this.put(JSON.parse(req.body) as Lease);
        return [201, this.lease];
      }
      case 'PUT': {
        const body = JSON.parse(req.body) as Lease;
        if (!this.lease) return notFound;
        if (body.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
          return conflict('the object has been modified; please apply your changes to the latest version');
        }
        this.put(body);
        return [200, this.lease];
      }
      case 'DELETE': {
        if (!this.lease) return notFound;
        const wanted = (JSON.parse(req.body || '{}') as { preconditions?: { resourceVersion?: string } })
          .preconditions?.resourceVersion;
        if (wanted !== undefined && wanted !== this.lease.metadata.resourceVersion) {
          return conflict('Precondition failed: ResourceVersion in precondition does not match');
        }
        this.put(undefined);
        return [200, status(200, '', '')];
      }
      default:
        return [405, status(405, 'MethodNotAllowed', req.method)];
    }
  }

  private stamp(lease: Lease): Lease {
    this.version += 1;
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      ...lease,
      metadata: { ...lease.metadata, namespace: 'shop', resourceVersion: String(this.version) },
    };
  }

  private notify(type: string, lease: Lease | undefined): void {
    for (const stream of this.streams) stream.send(type, lease);
  }
}

function status(code: number, reason: string, message: string): unknown {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    status: code < 300 ? 'Success' : 'Failure',
    code,
    reason,
    message,
  };
}

function run(attempt = '1', runId = '4242'): RunContext {
  return {
    repository: 'acme/shop',
    sha: '3f786850e387550fdab836ed7e6dc881de23001b',
    ref: 'refs/heads/main',
    runId,
    runAttempt: attempt,
    serverUrl: 'https://github.com',
    apiUrl: 'https://api.github.com',
    actor: 'octocat',
    workflow: 'deploy',
  };
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');

/** A lease as this module writes it, held by `runId` at `attempt`, renewed `renewedAgoMs` ago. */
function heldBy(runId: string, attempt: string, renewedAgoMs = 0, durationSeconds = 600): Lease {
  const identity = `acme/shop#${runId}`;
  const holder: LockHolder = {
    identity,
    repository: 'acme/shop',
    runId,
    attempt,
    runUrl: `https://github.com/acme/shop/actions/runs/${runId}`,
    since: '2026-11-27T01:00:00.000Z',
  };
  const renewed = Date.now() - renewedAgoMs;
  return {
    metadata: { name: NAME, annotations: { [ANNOTATION]: JSON.stringify(holder) } },
    spec: {
      holderIdentity: identity,
      leaseDurationSeconds: durationSeconds,
      acquireTime: microTime(renewed),
      renewTime: microTime(renewed),
      leaseTransitions: 3,
    },
  };
}

function holderOf(lease: Lease | undefined): LockHolder | undefined {
  const text = lease?.metadata.annotations?.[ANNOTATION];
  return text ? (JSON.parse(text) as LockHolder) : undefined;
}

/** Polls until `check` holds; fails the test if it never does (a loose bound, not a timing). */
async function until(check: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const lostReason = (lock: AppLock): LockLostError => {
  expect(lock.lost.reason).toBeInstanceOf(LockLostError);
  return lock.lost.reason as LockLostError;
};

let api: FakeKubeApi;
let kube: Kube;
let objects: KubeObjects;
let store: LeaseStore;
let logs: string[];
const held: AppLock[] = [];

beforeAll(async () => {
  api = await startFakeKubeApi();
  kube = await createKube(
    { kubeconfig: buildKubeconfig(api.url) },
    { env: {}, homeDir: '/nonexistent', setSecret: () => undefined },
  );
  objects = new KubeObjects(kube);
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => {
  store = new LeaseStore();
  api.handler = (req, res) => store.handle(req, res);
  api.requests = [];
  logs = [];
});
afterEach(async () => {
  for (const lock of held.splice(0)) await lock.release();
  store.close();
});

async function acquire(
  options: {
    attempt?: string;
    runId?: string;
    waitMs?: number;
    leaseSeconds?: number;
    stoppable?: boolean;
  } = {},
): Promise<AppLock> {
  const lock = await acquireLock({
    objects,
    namespace: 'shop',
    app: 'web',
    run: run(options.attempt, options.runId),
    waitMs: options.waitMs ?? 0,
    leaseSeconds: options.leaseSeconds ?? 60,
    ...(options.stoppable ? { stoppable: true } : {}),
    log: (text) => logs.push(text),
  });
  held.push(lock);
  return lock;
}

const writes = (): string[] =>
  api.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path.slice(LEASES.length)}`);

describe('acquireLock', () => {
  it('creates the lease for this run, with the attempt beside it, and deletes it on release', async () => {
    const lock = await acquire();
    expect(lock.name).toBe(NAME);
    expect(lock.lost.aborted).toBe(false);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'acme/shop#4242', leaseDurationSeconds: 60 });
    expect(holderOf(store.lease)).toMatchObject({ runId: '4242', attempt: '1' });

    const version = store.lease?.metadata.resourceVersion;
    expect(await lock.release()).toEqual({});
    expect(store.lease).toBeUndefined();
    const deletion = api.requests.find((r) => r.method === 'DELETE');
    expect(JSON.parse(deletion?.body ?? '{}')).toMatchObject({ preconditions: { resourceVersion: version } });
    expect(writes()).toEqual(['POST ', `DELETE /${NAME}`]);
    // A second release writes nothing more.
    expect(await lock.release()).toEqual({});
    expect(writes()).toHaveLength(2);
  });

  it("takes over at once the lease its own run's earlier attempt left, and says so", async () => {
    store.put(heldBy('4242', '1'));
    const lock = await acquire({ attempt: '2' });
    expect(logs.join('\n')).toContain(`Taking over lease shop/${NAME} held by attempt 1 of this run`);
    expect(holderOf(store.lease)).toMatchObject({ runId: '4242', attempt: '2' });
    expect(store.lease?.spec?.leaseTransitions).toBe(4);
    expect(lock.lost.aborted).toBe(false);
    expect(writes()).toEqual([`PUT /${NAME}`]);
  });

  it('refuses a lease another run holds, naming it, and writes nothing', async () => {
    store.put(heldBy('999', '1'));
    const error = await acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldError);
    expect((error as LockHeldError).holder.runId).toBe('999');
    expect((error as Error).message).toContain(
      'Another run is deploying web in shop: acme/shop run 999 attempt 1 (https://github.com/acme/shop/actions/runs/999)',
    );
    expect(writes()).toEqual([]);
    expect(holderOf(store.lease)?.runId).toBe('999');
  });

  it('refuses a lease the same attempt of this run holds: that is another job running now', async () => {
    store.put(heldBy('4242', '2'));
    const error = await acquire({ attempt: '2' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldError);
    expect((error as Error).message).toContain('Another job of this run is deploying web');
    expect(writes()).toEqual([]);
  });

  it('takes over a lease its holder stopped renewing', async () => {
    store.put(heldBy('999', '1', 120_000, 60));
    const lock = await acquire();
    expect(logs.join('\n')).toContain(`Taking over lease shop/${NAME} from acme/shop run 999 attempt 1`);
    expect(holderOf(store.lease)).toMatchObject({ runId: '4242', attempt: '1' });
    expect(lock.lost.aborted).toBe(false);
  });

  it('queues behind a holder when waitMs allows, and takes the lease once it is released', async () => {
    store.put(heldBy('999', '1'));
    store.onWatch = () => store.put(undefined);
    const lock = await acquire({ waitMs: 10_000 });
    expect(logs[0]).toContain('Waiting up to 10 s for acme/shop run 999 to release');
    expect(holderOf(store.lease)?.runId).toBe('4242');
    expect(lock.lost.aborted).toBe(false);
  });
});

describe('writes whose answer was lost', () => {
  it('a create the server stored before the connection dropped is ours, read back', async () => {
    store.inject('POST', 'store-then-drop');
    const lock = await acquire();
    expect(logs.join('\n')).toMatch(
      /answer to our create of lease shop\/cd-actions-lock-web was lost .*; read back, the lease is ours/,
    );
    expect(writes()).toEqual(['POST ']);
    expect(await lock.release()).toEqual({});
    expect(store.lease).toBeUndefined();
  });

  it('a create that never reached the store fails, and leaves no lease', async () => {
    store.inject('POST', 'drop');
    const error = await acquire().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`create leases.coordination.k8s.io shop/${NAME} failed`);
    expect(store.lease).toBeUndefined();
  });

  it('a takeover the server stored before the connection dropped is ours, read back', async () => {
    store.put(heldBy('4242', '1'));
    store.inject('PUT', 'store-then-drop');
    const lock = await acquire({ attempt: '2' });
    expect(logs.join('\n')).toContain('answer to our take over of lease');
    expect(holderOf(store.lease)?.attempt).toBe('2');
    expect(await lock.release()).toEqual({});
    expect(store.lease).toBeUndefined();
  });
});

describe('holding the lease', () => {
  it('renews it every third of its duration, keeping acquireTime, and releases the latest version', async () => {
    const lock = await acquire({ leaseSeconds: 2 });
    const acquired = store.lease!;
    await until(() => api.requests.filter((r) => r.method === 'PUT').length >= 2, 'two renewals');
    expect(lock.lost.aborted).toBe(false);
    expect(store.lease?.spec?.acquireTime).toBe(acquired.spec?.acquireTime);
    expect(Date.parse(store.lease!.spec!.renewTime!)).toBeGreaterThan(Date.parse(acquired.spec!.renewTime!));
    expect(await lock.release()).toEqual({});
    expect(store.lease).toBeUndefined();
  });

  it('a renewal stored though its answer was lost counts, read back', async () => {
    const lock = await acquire({ leaseSeconds: 2 });
    store.inject('PUT', 'store-then-drop');
    await until(() => api.requests.filter((r) => r.method === 'PUT').length >= 3, 'renewals after the drop');
    expect(lock.lost.aborted).toBe(false);
    expect(await lock.release()).toEqual({});
    expect(store.lease).toBeUndefined();
  });

  it('renewals failing up to the lease deadline lose it: lost aborts, and nothing is written after', async () => {
    const lock = await acquire({ leaseSeconds: 1 });
    const acquired = store.lease!;
    store.inject('PUT', 500, Infinity);
    await until(() => lock.lost.aborted, 'the lease to be lost');
    const reason = lostReason(lock);
    expect(reason.lease).toBe(`shop/${NAME}`);
    expect(reason.holder).toBeUndefined();
    expect(reason.message).toMatch(
      /^Lost lock shop\/cd-actions-lock-web: could not renew it before its deadline/,
    );
    expect(reason.message).toContain('500');
    // Retried first, by the one retry policy, and said so.
    expect(api.requests.filter((r) => r.method === 'PUT').length).toBeGreaterThanOrEqual(2);
    expect(logs.join('\n')).toContain(`Could not renew lock shop/${NAME}`);

    const writesWhenLost = writes().length;
    const { warning } = await lock.release();
    // Three renewal periods later: still no write, and the lease left as it was.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(writes()).toHaveLength(writesWhenLost);
    expect(writes().some((w) => w.startsWith('DELETE'))).toBe(false);
    expect(store.lease?.metadata.resourceVersion).toBe(acquired.metadata.resourceVersion);
    // It still names us until it expires; the warning says until when and how to free it.
    const expiry = new Date(Date.parse(acquired.spec!.renewTime!) + 1000).toISOString();
    expect(warning).toContain(`web stays locked until ${expiry}`);
    expect(warning).toContain(`kubectl delete lease ${NAME} -n shop`);
  });

  it('another holder on the lease loses it at the next renewal; release leaves theirs alone', async () => {
    const lock = await acquire({ leaseSeconds: 1 });
    store.put(heldBy('5000', '1'));
    await until(() => lock.lost.aborted, 'the lease to be lost');
    const reason = lostReason(lock);
    expect(reason.holder?.runId).toBe('5000');
    expect(reason.message).toContain(
      `Lost lock shop/${NAME}: acme/shop run 5000 attempt 1 (https://github.com/acme/shop/actions/runs/5000) holds it now`,
    );
    const putsWhenLost = api.requests.filter((r) => r.method === 'PUT').length;
    expect(await lock.release()).toEqual({});
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(api.requests.filter((r) => r.method === 'PUT')).toHaveLength(putsWhenLost);
    expect(writes().some((w) => w.startsWith('DELETE'))).toBe(false);
    expect(holderOf(store.lease)?.runId).toBe('5000');
  });
});

describe('stop requests', () => {
  const ask = (
    waitMs: number,
    runId = '999',
    intent: 'abort' | 'promote' = 'abort',
  ): Promise<LockHolder | undefined> =>
    requestStop({
      objects,
      namespace: 'shop',
      app: 'web',
      run: run('1', runId),
      intent,
      why: intent === 'abort' ? 'abort the canary' : 'promote the canary now',
      waitMs,
      log: (text) => logs.push(text),
    });

  it('a promote request aborts promoteRequested alone; an abort asked after it still stops the holder', async () => {
    const watching = new Promise<void>((resolve) => (store.onWatch = resolve));
    const lock = await acquire({ stoppable: true });
    await watching;
    // The holder does not release when asked to promote, as a run still promoting: the asker waits on.
    const promoting = ask(60_000, '777', 'promote');
    await until(() => lock.promoteRequested.aborted, 'the promote request to be seen');
    expect((lock.promoteRequested.reason as Error).message).toBe(
      'acme/shop run 777 (https://github.com/acme/shop/actions/runs/777) asked this run to promote the canary now',
    );
    expect(lock.stopRequested.aborted).toBe(false);
    expect(store.lease?.metadata.annotations?.['cd-actions.dev/stop-request']).toBeUndefined();
    // An abort asked later is its own annotation: the promote request stays, and the holder is stopped.
    lock.stopRequested.addEventListener('abort', () => void lock.release());
    const aborting = ask(60_000, '888');
    await until(() => lock.stopRequested.aborted, 'the abort request to be seen');
    expect((lock.stopRequested.reason as StopRequestedError).request.runId).toBe('888');
    expect((await promoting)?.runId).toBe('4242');
    expect((await aborting)?.runId).toBe('4242');
    expect(store.lease).toBeUndefined();
  });

  it('a holder that releases between the read and the request leaves nothing to ask (404 read again)', async () => {
    store.put(heldBy('4242', '1'));
    const handle = api.handler;
    api.handler = (req, res) => {
      // The holder releases just before the request reaches the server.
      if (req.method === 'PUT') store.put(undefined);
      return handle(req, res);
    };
    expect(await ask(10_000)).toBeUndefined();
    expect(store.lease).toBeUndefined();
  });

  it('a stoppable holder is asked at once through its watch, and the asker waits for its release', async () => {
    // The fake replays no events from before a watch opened, as a real API server would: ask once it is open.
    const watching = new Promise<void>((resolve) => (store.onWatch = resolve));
    const lock = await acquire({ stoppable: true });
    // The holder stops as the engine would: it puts things back, then releases.
    lock.stopRequested.addEventListener('abort', () => void lock.release());
    await watching;
    const holder = await ask(10_000);
    expect(holder?.runId).toBe('4242');
    expect(lock.stopRequested.reason).toBeInstanceOf(StopRequestedError);
    expect((lock.stopRequested.reason as Error).message).toBe(
      'acme/shop run 999 (https://github.com/acme/shop/actions/runs/999) asked this run to abort the canary',
    );
    expect(lock.lost.aborted).toBe(false);
    expect(store.lease).toBeUndefined();
    expect(logs.join('\n')).toContain(
      `Asked acme/shop run 4242 attempt 1 (https://github.com/acme/shop/actions/runs/4242), which holds lock shop/${NAME}, to abort the canary`,
    );
    expect(logs.join('\n')).toContain(`released lock shop/${NAME}`);
  });

  it('a request addressed to another claim of the lease is not obeyed; one addressed to this claim is', async () => {
    const watching = new Promise<void>((resolve) => (store.onWatch = resolve));
    const lock = await acquire({ stoppable: true });
    await watching;
    const lease = store.lease!;
    const request = (acquireTime: string, runId: string): Record<string, string> => ({
      ...lease.metadata.annotations,
      'cd-actions.dev/stop-request': JSON.stringify({
        repository: 'acme/shop',
        runId,
        runUrl: `https://github.com/acme/shop/actions/runs/${runId}`,
        at: new Date().toISOString(),
        why: 'abort the canary',
        holder: { identity: 'acme/shop#4242', acquireTime },
      }),
    });
    store.put({
      ...lease,
      metadata: { ...lease.metadata, annotations: request('2020-01-01T00:00:00.000000Z', '1') },
    });
    store.put({
      ...lease,
      metadata: { ...lease.metadata, annotations: request(lease.spec!.acquireTime!, '2') },
    });
    await until(() => lock.stopRequested.aborted, 'the stop request to be seen');
    // Events arrive in order: the first request was judged, and ignored, before the second.
    expect((lock.stopRequested.reason as StopRequestedError).request.runId).toBe('2');
  });

  it('nobody holding the lock: nothing to ask, nothing written', async () => {
    expect(await ask(1000)).toBeUndefined();
    store.put(heldBy('4242', '1', 120_000, 60));
    expect(await ask(1000)).toBeUndefined();
    expect(writes()).toEqual([]);
  });

  it('a holder that died (no renewals) frees the asker at its lease expiry, not at the deadline', async () => {
    store.put(heldBy('999', '1', 0, 2));
    const holder = await ask(60_000, '5151');
    expect(holder?.runId).toBe('999');
    expect(logs.join('\n')).toContain(
      `acme/shop run 999 attempt 1 (https://github.com/acme/shop/actions/runs/999) stopped renewing lock shop/${NAME}: it expired`,
    );
    // The request was written, addressed to that holder's claim.
    expect(JSON.parse(store.lease!.metadata.annotations!['cd-actions.dev/stop-request']!)).toMatchObject({
      runId: '5151',
      holder: { identity: 'acme/shop#999', acquireTime: store.lease!.spec!.acquireTime },
    });
  });

  it('a holder that does not listen keeps the lock: the asker fails at its deadline, naming it', async () => {
    const lock = await acquire();
    const error = await ask(1500).catch((e: unknown) => e);
    expect((error as Error).message).toContain(
      `acme/shop run 4242 attempt 1 (https://github.com/acme/shop/actions/runs/4242) still holds lock shop/${NAME} 2 s after it was asked to abort the canary`,
    );
    expect(lock.stopRequested.aborted).toBe(false);
    expect(store.lease?.spec?.holderIdentity).toBe('acme/shop#4242');
  });
});

describe('release', () => {
  it('a lease already gone (404) is released', async () => {
    const lock = await acquire();
    store.inject('DELETE', 404);
    expect(await lock.release()).toEqual({});
    expect(logs.join('\n')).toContain(`Lock shop/${NAME} was already gone`);
  });

  it('a lease another run took over (409) is left to them', async () => {
    const lock = await acquire();
    store.put(heldBy('5000', '1'));
    expect(await lock.release()).toEqual({});
    expect(logs.join('\n')).toContain(`Left lock shop/${NAME} to acme/shop run 5000`);
    expect(holderOf(store.lease)?.runId).toBe('5000');
  });

  it('a 409 from our own renewal whose answer we missed is read back, and the lease deleted', async () => {
    const lock = await acquire();
    store.put(store.lease); // same content, a newer resourceVersion: our renewal, stored unseen
    expect(await lock.release()).toEqual({});
    expect(store.lease).toBeUndefined();
    expect(writes().filter((w) => w.startsWith('DELETE'))).toHaveLength(2);
  });

  it('a delete the API keeps refusing (403) frees the lease by clearing its holder, as client-go does', async () => {
    const lock = await acquire();
    store.inject('DELETE', 403, Infinity);
    const { warning } = await lock.release();
    expect(warning).toBeUndefined();
    expect(api.requests.filter((r) => r.method === 'DELETE').length).toBeGreaterThan(1);
    expect(store.lease).toBeDefined();
    expect(store.lease!.spec!.holderIdentity).toBeUndefined();
    // The next run takes a lease with no holder at once.
    const next = await acquire({ runId: '99' });
    expect(store.lease!.spec!.holderIdentity).toBe('acme/shop#99');
    await next.release();
  });

  it('a release the API keeps refusing (500, delete and update alike) is a warning saying until when the app stays locked', async () => {
    const lock = await acquire();
    const renewTime = store.lease!.spec!.renewTime!;
    store.inject('DELETE', 500, Infinity);
    store.inject('PUT', 500, Infinity);
    const { warning } = await lock.release();
    expect(warning).toContain(`Could not release lock shop/${NAME}`);
    expect(warning, warning).toMatch(/500|gave up/);
    expect(warning).toContain(
      `web stays locked until ${new Date(Date.parse(renewTime) + 60_000).toISOString()}`,
    );
    expect(warning).toMatch(/\((5\d|60) s from now\)/);
    expect(warning).toContain(`to free it sooner: kubectl delete lease ${NAME} -n shop`);
    expect(api.requests.filter((r) => r.method === 'DELETE').length).toBeGreaterThan(1);
    expect(store.lease).toBeDefined();
  });

  it('a held lock keeps no timer that would hold the process open', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    await acquire({ leaseSeconds: 60 });
    expect(timers()).toBe(before);
  });
});
