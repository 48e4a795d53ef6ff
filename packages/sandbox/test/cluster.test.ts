import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreError, type KubeObject } from '../src/store.js';
import {
  condition,
  deployment,
  getDeployment,
  httpGet,
  isReady,
  podsOf,
  replicaSetsOf,
  service,
  rolloutDone,
  setImage,
  startWorld,
  T,
  waitFor,
  waitForRollout,
  type World,
} from './cluster-helpers.js';

let world: World;
beforeEach(async () => {
  world = await startWorld();
});
afterEach(async () => {
  vi.useRealTimers();
  await world.stop();
});

function revision(obj: KubeObject): string | undefined {
  return obj.metadata.annotations?.['deployment.kubernetes.io/revision'];
}

function eventsFor(name: string): { reason: string; message: string; type: string; count: number }[] {
  return world.store
    .list(T.events, 'demo')
    .items.filter((e) => (e.involvedObject as { name: string }).name === name)
    .map((e) => ({
      reason: e.reason as string,
      message: e.message as string,
      type: e.type as string,
      count: e.count as number,
    }));
}

describe('Deployment controller', () => {
  it('creates a ReplicaSet and pods with revision 1, ready pods and a complete status', async () => {
    const { store } = world;
    store.create(
      T.deployments,
      deployment('web', { replicas: 3, annotations: { 'kubernetes.io/change-cause': 'first' } }),
    );
    await waitForRollout(store, 'web');

    const [rs, ...others] = replicaSetsOf(store, 'web');
    expect(others).toHaveLength(0);
    const hash = rs!.metadata.labels?.['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    expect(rs!.metadata.name).toBe(`web-${hash}`);
    expect(revision(rs!)).toBe('1');
    expect(rs!.metadata.annotations?.['kubernetes.io/change-cause']).toBe('first');
    expect(rs!.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Deployment', name: 'web', controller: true }),
    ]);
    expect((rs!.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels).toEqual({
      app: 'web',
      'pod-template-hash': hash,
    });

    const d = getDeployment(store, 'web');
    expect(revision(d)).toBe('1');
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      unavailableReplicas: 0,
    });
    expect(condition(d, 'Available')).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable' });
    expect(condition(d, 'Progressing')).toMatchObject({
      status: 'True',
      reason: 'NewReplicaSetAvailable',
      message: `ReplicaSet "${rs!.metadata.name}" has successfully progressed.`,
    });

    const pods = podsOf(store, { app: 'web' });
    expect(pods).toHaveLength(3);
    for (const pod of pods) {
      expect(pod.metadata.name).toMatch(new RegExp(`^${rs!.metadata.name}-[a-z0-9]{5}$`));
      expect(pod.metadata.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: rs!.metadata.name,
        controller: true,
      });
      expect(pod.status).toMatchObject({ phase: 'Running', podIP: '127.0.0.1', hostIP: '127.0.0.1' });
      const types = (pod.status as { conditions: { type: string; status: string }[] }).conditions.map(
        (c) => `${c.type}=${c.status}`,
      );
      expect(types).toEqual(
        expect.arrayContaining([
          'PodScheduled=True',
          'Initialized=True',
          'ContainersReady=True',
          'Ready=True',
        ]),
      );
      expect((pod.status as { containerStatuses: unknown[] }).containerStatuses[0]).toMatchObject({
        name: 'app',
        image: 'example/app:1',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: {} },
      });
      expect(eventsFor(pod.metadata.name!).map((e) => e.reason)).toEqual(
        expect.arrayContaining(['Scheduled', 'Pulling', 'Pulled', 'Created', 'Started']),
      );
    }
    expect(eventsFor('web')).toContainEqual(
      expect.objectContaining({
        reason: 'ScalingReplicaSet',
        message: `Scaled up replica set ${rs!.metadata.name} from 0 to 3`,
      }),
    );
  });

  it('rolls out a new template within maxSurge/maxUnavailable at every store event', async () => {
    const { store } = world;
    store.create(
      T.deployments,
      deployment('roll', {
        replicas: 4,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      }),
    );
    await waitForRollout(store, 'roll');
    const firstRS = replicaSetsOf(store, 'roll')[0]!;

    const violations: string[] = [];
    const reasons: string[] = [];
    let maxPods = 0;
    let minAvailable = Infinity;
    let maxSpecSum = 0;
    const unwatch = store.watch(undefined, 'demo', undefined, () => {
      const pods = podsOf(store, { app: 'roll' });
      const available = pods.filter(isReady).length;
      const specSum = replicaSetsOf(store, 'roll').reduce(
        (s, rs) => s + ((rs.spec as { replicas: number }).replicas ?? 0),
        0,
      );
      maxPods = Math.max(maxPods, pods.length);
      minAvailable = Math.min(minAvailable, available);
      maxSpecSum = Math.max(maxSpecSum, specSum);
      const reason = condition(getDeployment(store, 'roll'), 'Progressing')?.reason;
      if (reason && reasons.at(-1) !== reason) reasons.push(reason);
      if (pods.length > 5) violations.push(`${pods.length} pods`);
      if (available < 4) violations.push(`${available} available`);
    });
    setImage(store, 'roll', 'example/app:2');
    await waitForRollout(store, 'roll');
    unwatch();

    expect(violations).toEqual([]);
    expect(reasons).toEqual([
      'NewReplicaSetAvailable',
      'NewReplicaSetCreated',
      'ReplicaSetUpdated',
      'NewReplicaSetAvailable',
    ]);
    expect(maxPods).toBe(5); // the surge was used
    expect(minAvailable).toBe(4);
    expect(maxSpecSum).toBe(5);
    const sets = replicaSetsOf(store, 'roll');
    expect(sets).toHaveLength(2);
    const newRS = sets.find((rs) => rs.metadata.uid !== firstRS.metadata.uid)!;
    expect(revision(newRS)).toBe('2');
    expect(revision(getDeployment(store, 'roll'))).toBe('2');
    expect(
      (sets.find((rs) => rs.metadata.uid === firstRS.metadata.uid)!.spec as { replicas: number }).replicas,
    ).toBe(0);
    expect(
      podsOf(store, { app: 'roll' }).every(
        (p) => p.metadata.labels?.['pod-template-hash'] === newRS.metadata.labels?.['pod-template-hash'],
      ),
    ).toBe(true);
  });

  it('uses the default 25%/25% (surge rounded up, unavailable down) and may go below replicas', async () => {
    const { store } = world;
    store.create(T.deployments, deployment('dflt', { replicas: 6 }));
    await waitForRollout(store, 'dflt');
    // 6 replicas: maxSurge ceil(1.5)=2, maxUnavailable floor(1.5)=1.
    let maxPods = 0;
    let minAvailable = Infinity;
    const unwatch = store.watch(undefined, 'demo', undefined, () => {
      const pods = podsOf(store, { app: 'dflt' });
      maxPods = Math.max(maxPods, pods.length);
      minAvailable = Math.min(minAvailable, pods.filter(isReady).length);
    });
    setImage(store, 'dflt', 'example/app:2');
    await waitForRollout(store, 'dflt');
    unwatch();
    expect(maxPods).toBeLessThanOrEqual(8);
    expect(maxPods).toBeGreaterThan(6);
    expect(minAvailable).toBeGreaterThanOrEqual(5);
  });

  it('brings an old template back on its old ReplicaSet with a new revision (rollout undo)', async () => {
    const { store } = world;
    store.create(T.deployments, deployment('undo', { replicas: 2 }));
    await waitForRollout(store, 'undo');
    const v1 = replicaSetsOf(store, 'undo')[0]!;
    setImage(store, 'undo', 'example/app:2');
    await waitForRollout(store, 'undo');
    // As kubectl rollout undo does: the old ReplicaSet's template, without the hash label, after
    // a Go round trip (creationTimestamp: null, resources: {}).
    interface Template {
      metadata: { labels: Record<string, string>; creationTimestamp?: null };
      spec: { containers: { resources?: object }[] };
    }
    const template = structuredClone((v1.spec as { template: Template }).template);
    delete template.metadata.labels['pod-template-hash'];
    template.metadata.creationTimestamp = null;
    template.spec.containers[0]!.resources = {};
    const d = getDeployment(store, 'undo');
    (d.spec as { template: unknown }).template = template;
    store.update(T.deployments, d);
    await waitForRollout(store, 'undo');

    const sets = replicaSetsOf(store, 'undo');
    expect(sets).toHaveLength(2);
    const reused = sets.find((rs) => rs.metadata.uid === v1.metadata.uid)!;
    expect(revision(reused)).toBe('3');
    expect(reused.metadata.annotations?.['deployment.kubernetes.io/revision-history']).toBe('1');
    expect((reused.spec as { replicas: number }).replicas).toBe(2);
    expect(revision(getDeployment(store, 'undo'))).toBe('3');
    expect(revision(sets.find((rs) => rs !== reused)!)).toBe('2');
  });

  it('Recreate removes every old pod before the first new one', async () => {
    const { store } = world;
    store.create(T.deployments, deployment('rec', { replicas: 3, strategy: { type: 'Recreate' } }));
    await waitForRollout(store, 'rec');
    const oldHash = replicaSetsOf(store, 'rec')[0]!.metadata.labels?.['pod-template-hash'];
    let overlap = false;
    let sawZero = false;
    const unwatch = store.watch(T.pods, 'demo', undefined, () => {
      const hashes = new Set(
        // Terminating pods count: Recreate waits until the old ones have stopped.
        podsOf(store, { app: 'rec' }, { terminating: true }).map(
          (p) => p.metadata.labels?.['pod-template-hash'],
        ),
      );
      if (hashes.has(oldHash) && hashes.size > 1) overlap = true;
      if (hashes.size === 0) sawZero = true;
    });
    setImage(store, 'rec', 'example/app:2');
    await waitForRollout(store, 'rec');
    unwatch();
    expect(overlap).toBe(false);
    expect(sawZero).toBe(true);
    expect(podsOf(store, { app: 'rec' })).toHaveLength(3);
  });

  it('makes no progress while paused, and resumes', async () => {
    const { store } = world;
    store.create(T.deployments, deployment('pause', { replicas: 2 }));
    await waitForRollout(store, 'pause');
    const d = getDeployment(store, 'pause');
    (d.spec as { paused?: boolean }).paused = true;
    store.update(T.deployments, d);
    await waitFor(
      store,
      () => condition(getDeployment(store, 'pause'), 'Progressing')?.reason === 'DeploymentPaused',
      'paused',
    );
    expect(condition(getDeployment(store, 'pause'), 'Progressing')?.status).toBe('Unknown');
    setImage(store, 'pause', 'example/app:2');
    await waitFor(
      store,
      () =>
        getDeployment(store, 'pause').status &&
        (getDeployment(store, 'pause').status as { observedGeneration: number }).observedGeneration === 3,
      'observed',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(replicaSetsOf(store, 'pause')).toHaveLength(1);
    expect((getDeployment(store, 'pause').status as { updatedReplicas: number }).updatedReplicas).toBe(0);

    const paused = getDeployment(store, 'pause');
    (paused.spec as { paused?: boolean }).paused = false;
    store.update(T.deployments, paused);
    await waitForRollout(store, 'pause');
    expect(replicaSetsOf(store, 'pause')).toHaveLength(2);
  });

  it('reports ProgressDeadlineExceeded when a crashing image makes no progress', async () => {
    // This cluster runs on a fake clock, so the deadline is judged against time that a busy machine
    // cannot stretch. Its first rollout needs real sockets (pods listen), so the clock is moved in
    // small steps with real turns in between; after that a crash loop is timers and store writes.
    await world.stop();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    world = await startWorld();
    const { store } = world;
    store.create(
      T.deployments,
      deployment('dead', { replicas: 2, extraSpec: { progressDeadlineSeconds: 2 } }),
    );
    for (let step = 0; !rolloutDone(store, 'dead'); step++) {
      if (step === 1000) throw new Error('the first rollout of dead never completed');
      await vi.advanceTimersByTimeAsync(10);
      await new Promise((resolve) => setImmediate(resolve));
    }
    setImage(store, 'dead', 'example/app:broken', { SANDBOX_CRASH: 'true' });
    // Its last progress (the new ReplicaSet's pod counted) comes from the work queue alone: let it
    // happen before the clock moves, so the deadline is due 2 s from now.
    const status = () =>
      getDeployment(store, 'dead').status as { replicas?: number; updatedReplicas?: number };
    for (let turn = 0; status().updatedReplicas !== 1 || status().replicas !== 3; turn++) {
      if (turn === 10_000) throw new Error(`the new ReplicaSet never showed: ${JSON.stringify(status())}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const progressing = () => condition(getDeployment(store, 'dead'), 'Progressing');
    await vi.advanceTimersByTimeAsync(1999);
    expect(progressing()?.reason).toBe('ReplicaSetUpdated');
    // The controller looks again when the deadline is due, not at some later resync.
    await vi.advanceTimersByTimeAsync(100);
    const cond = progressing()!;
    expect(cond.reason).toBe('ProgressDeadlineExceeded');
    expect(cond.status).toBe('False');
    expect(cond.message).toMatch(/^ReplicaSet "dead-[a-z0-9]+" has timed out progressing\.$/);
    // maxUnavailable 25% of 2 rounds down to 0: the old pods keep serving.
    expect(condition(getDeployment(store, 'dead'), 'Available')?.status).toBe('True');
    expect(podsOf(store, { app: 'dead' }).filter(isReady)).toHaveLength(2);
  });

  it('enforces revisionHistoryLimit and honours minReadySeconds', async () => {
    const { store } = world;
    store.create(
      T.deployments,
      deployment('hist', { replicas: 1, extraSpec: { revisionHistoryLimit: 1, minReadySeconds: 1 } }),
    );
    const readyAt = await waitFor(
      store,
      () => (podsOf(store, { app: 'hist' }).some(isReady) ? Date.now() : undefined),
      'ready',
    );
    await waitForRollout(store, 'hist');
    expect(Date.now() - readyAt).toBeGreaterThanOrEqual(900);
    for (const image of ['example/app:2', 'example/app:3']) {
      setImage(store, 'hist', image);
      await waitForRollout(store, 'hist');
    }
    const revisions = replicaSetsOf(store, 'hist').map(revision).sort();
    expect(revisions).toEqual(['2', '3']);
  });

  it('scales a settled deployment directly', async () => {
    const { store } = world;
    store.create(T.deployments, deployment('scale', { replicas: 1 }));
    await waitForRollout(store, 'scale');
    const d = getDeployment(store, 'scale');
    (d.spec as { replicas: number }).replicas = 4;
    store.update(T.deployments, d);
    await waitForRollout(store, 'scale');
    expect(podsOf(store, { app: 'scale' })).toHaveLength(4);
    const down = getDeployment(store, 'scale');
    (down.spec as { replicas: number }).replicas = 2;
    store.update(T.deployments, down);
    await waitForRollout(store, 'scale');
    expect(podsOf(store, { app: 'scale' })).toHaveLength(2);
    expect(replicaSetsOf(store, 'scale')).toHaveLength(1);
  });

  it('scales a stuck rollout proportionally, as Kubernetes does', async () => {
    const { store } = world;
    store.create(
      T.deployments,
      deployment('prop', {
        replicas: 4,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      }),
    );
    await waitForRollout(store, 'prop');
    setImage(store, 'prop', 'example/app:2', { SANDBOX_NEVER_READY: 'true' });
    const sizes = () =>
      replicaSetsOf(store, 'prop')
        .map((rs) => `${revision(rs)}:${(rs.spec as { replicas: number }).replicas}`)
        .sort();
    await waitFor(store, () => sizes().join() === '1:4,2:1', 'stuck at 4 old + 1 new');
    const d = getDeployment(store, 'prop');
    (d.spec as { replicas: number }).replicas = 8;
    store.update(T.deployments, d);
    // Allowed 8 + 1 = 9 over the old max of 5: old 4*9/5 = 7.2 → 7, new 1*9/5 = 1.8 → 2.
    await waitFor(store, () => sizes().join() === '1:7,2:2', 'proportional sizes');
    await waitFor(store, () => podsOf(store, { app: 'prop' }).length === 9, 'nine pods');
  });

  it('re-reads and retries after a 409 Conflict on its writes', async () => {
    const { store } = world;
    const original = store.update.bind(store);
    let conflicts = 0;
    store.update = (t, obj, options) => {
      if (t === T.deployments && options?.subresource === 'status' && conflicts < 3) {
        conflicts += 1;
        throw new StoreError(409, 'Conflict', 'the object has been modified');
      }
      return original(t, obj, options);
    };
    store.create(T.deployments, deployment('conflict', { replicas: 2 }));
    await waitForRollout(store, 'conflict');
    expect(conflicts).toBe(3);
  });

  it('cascades a Deployment delete to ReplicaSets, pods and their servers', async () => {
    const { store, cluster } = world;
    store.create(T.deployments, deployment('gone', { replicas: 2 }));
    store.create(T.services, service('gone', { app: 'gone' }));
    await waitForRollout(store, 'gone');
    const target = cluster.resolveServiceProxy('demo', 'gone', undefined);
    expect(target).toBeDefined();
    expect((await httpGet(target!.port, '/health')).status).toBe(200);
    const podName = podsOf(store, { app: 'gone' })[0]!.metadata.name!;
    store.delete(T.deployments, 'demo', 'gone');
    expect(store.list(T.replicasets, 'demo').items).toHaveLength(0);
    // The pods terminate gracefully: Terminating at once, gone once they have stopped.
    const terminating = podsOf(store, { app: 'gone' }, { terminating: true });
    expect(terminating.length).toBe(2);
    expect(terminating.every((p) => p.metadata.deletionTimestamp)).toBe(true);
    await waitFor(
      store,
      () => cluster.resolveServiceProxy('demo', 'gone', undefined) === undefined,
      'endpoints emptied',
    );
    await waitFor(
      store,
      () => podsOf(store, { app: 'gone' }, { terminating: true }).length === 0,
      'pods gone',
    );
    await expect(httpGet(target!.port, '/health')).rejects.toThrow();
    await waitFor(store, () => eventsFor(podName).some((e) => e.reason === 'Killing'), 'Killing event');
  });
});

describe('kubelet', () => {
  it('fails an image that does not exist with ErrImagePull, then ImagePullBackOff', async () => {
    const { store } = world;
    store.create(T.deployments, deployment('pull', { image: 'example/does-not-exist:1' }));
    const reasons = new Set<string>();
    const unwatch = store.watch(T.pods, 'demo', undefined, (e) => {
      const state = ((
        e.object.status as { containerStatuses?: { state: { waiting?: { reason: string } } }[] } | undefined
      )?.containerStatuses ?? [])[0]?.state;
      if (state?.waiting) reasons.add(state.waiting.reason);
    });
    const pod = await waitFor(
      store,
      () =>
        podsOf(store, { app: 'pull' }).find(
          (p) =>
            (p.status as { containerStatuses?: { state: { waiting?: { reason: string } } }[] })
              .containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff',
        ),
      'ImagePullBackOff',
    );
    unwatch();
    expect([...reasons]).toEqual(['ContainerCreating', 'ErrImagePull', 'ImagePullBackOff']);
    expect((pod.status as { phase: string }).phase).toBe('Pending');
    expect(isReady(pod)).toBe(false);
    const events = eventsFor(pod.metadata.name!);
    expect(events).toContainEqual(
      expect.objectContaining({ reason: 'Failed', type: 'Warning', message: 'Error: ErrImagePull' }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        reason: 'BackOff',
        message: 'Back-off pulling image "example/does-not-exist:1"',
      }),
    );
    expect(events.map((e) => e.reason)).not.toContain('Started');
    expect(world.cluster.podLog('demo', pod.metadata.name!)).toBeUndefined();
  });

  it('crash-loops with a growing restartCount and BackOff events', async () => {
    const { store, cluster } = world;
    store.create(T.deployments, deployment('crash', { env: { SANDBOX_CRASH: 'true' } }));
    const pod = await waitFor(
      store,
      () =>
        podsOf(store, { app: 'crash' }).find(
          (p) =>
            ((p.status as { containerStatuses?: { restartCount: number }[] }).containerStatuses?.[0]
              ?.restartCount ?? 0) >= 3,
        ),
      'three restarts',
    );
    const status = pod.status as { phase: string; containerStatuses: Record<string, unknown>[] };
    expect(status.phase).toBe('Running');
    expect(status.containerStatuses[0]).toMatchObject({
      ready: false,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, reason: 'Error' } },
    });
    const backOff = eventsFor(pod.metadata.name!).find((e) => e.reason === 'BackOff');
    expect(backOff?.type).toBe('Warning');
    expect(backOff?.count).toBeGreaterThanOrEqual(2);
    expect(cluster.podLog('demo', pod.metadata.name!)).toContain('exiting with code 1');
  });

  it('serves HTTP per the env, applies workload faults, and keeps a log', async () => {
    const { store, cluster, faults } = world;
    store.create(
      T.deployments,
      deployment('srv', { version: 'v7', replicas: 2, env: { SANDBOX_LATENCY_MS: '40' } }),
    );
    store.create(T.services, service('srv', { app: 'srv' }));
    await waitForRollout(store, 'srv');
    const first = cluster.resolveServiceProxy('demo', 'srv', 'http')!;
    const second = cluster.resolveServiceProxy('demo', 'srv', '80')!;
    expect(first.port).not.toBe(second.port); // round-robin over two ready pods
    expect(cluster.resolveServiceProxy('demo', 'srv', 'nope')).toBeUndefined();

    const started = Date.now();
    const ok = await httpGet(first.port, '/');
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body) as { version: string; pod: string };
    expect(body.version).toBe('v7');
    expect(podsOf(store, { app: 'srv' }).map((p) => p.metadata.name)).toContain(body.pod);
    expect((await httpGet(first.port, '/health')).status).toBe(200);
    expect((await httpGet(first.port, '/ready')).status).toBe(200);

    faults.add({ target: 'workload', match: { version: 'v7' }, status: 503, times: 1 });
    expect((await httpGet(first.port, '/')).status).toBe(503);
    expect((await httpGet(first.port, '/')).status).toBe(200);
    expect(cluster.podLog('demo', body.pod)).toMatch(/listening on 127\.0\.0\.1:\d+ \(version v7\)/);
  });

  it('answers 5xx at SANDBOX_ERROR_RATE', async () => {
    const { store, cluster } = world;
    store.create(T.deployments, deployment('err', { env: { SANDBOX_ERROR_RATE: '1' } }));
    store.create(T.services, service('err', { app: 'err' }));
    await waitForRollout(store, 'err');
    const { port } = cluster.resolveServiceProxy('demo', 'err', undefined)!;
    expect((await httpGet(port, '/')).status).toBe(500);
  });
});

describe('Pod Security admission', () => {
  const enforce = (level: string | undefined): void => {
    const ns = world.store.get(T.namespaces, undefined, 'demo')!;
    const labels = { ...ns.metadata.labels };
    if (level) labels['pod-security.kubernetes.io/enforce'] = level;
    else delete labels['pod-security.kubernetes.io/enforce'];
    world.store.update(T.namespaces, { ...ns, metadata: { ...ns.metadata, labels } });
  };
  type Condition = { type: string; status: string; reason: string; message: string };
  const conditionsOf = (obj: KubeObject | undefined): Condition[] =>
    (obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];

  it('refuses the pods of a template that breaks the level: ReplicaFailure on the ReplicaSet and the Deployment, until allowed', async () => {
    const { store } = world;
    enforce('restricted');
    store.create(T.deployments, deployment('locked', { replicas: 2 }));
    const failure = await waitFor(
      store,
      () => conditionsOf(getDeployment(store, 'locked')).find((c) => c.type === 'ReplicaFailure'),
      'ReplicaFailure on the Deployment',
    );
    expect(failure).toMatchObject({ status: 'True', reason: 'FailedCreate' });
    expect(failure.message).toMatch(
      /^pods "locked-[a-z0-9]+-" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false \(container "app" must set securityContext.allowPrivilegeEscalation=false\), unrestricted capabilities/,
    );
    const rs = replicaSetsOf(store, 'locked')[0]!;
    expect(conditionsOf(rs).find((c) => c.type === 'ReplicaFailure')).toMatchObject({ status: 'True' });
    expect(podsOf(store, { app: 'locked' })).toHaveLength(0);
    expect(eventsFor(rs.metadata.name!).find((e) => e.reason === 'FailedCreate')).toMatchObject({
      type: 'Warning',
    });

    enforce(undefined);
    await waitForRollout(store, 'locked');
    expect(conditionsOf(getDeployment(store, 'locked')).map((c) => c.type)).not.toContain('ReplicaFailure');
    expect(conditionsOf(replicaSetsOf(store, 'locked')[0])).toEqual([]);
  });

  it('admits a template that meets the restricted level', async () => {
    const { store } = world;
    enforce('restricted');
    const d = deployment('hardened', { replicas: 1 }) as KubeObject & {
      spec: { template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } };
    };
    d.spec.template.spec.securityContext = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } };
    d.spec.template.spec.containers[0]!.securityContext = {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    };
    store.create(T.deployments, d);
    await waitForRollout(store, 'hardened');
    expect(podsOf(store, { app: 'hardened' })).toHaveLength(1);
  });
});

describe('graceful pod termination', () => {
  type Subset = { addresses?: { targetRef: { name: string } }[]; ports: { port: number }[] };
  const subsets = (name: string): Subset[] =>
    (world.store.get(T.endpoints, 'demo', name)?.subsets ?? []) as Subset[];
  const addressed = (name: string): string[] =>
    subsets(name).flatMap((s) => (s.addresses ?? []).map((a) => a.targetRef.name));

  it('a deleted pod leaves Endpoints at once, answers until it stops, then is removed', async () => {
    const { store } = world;
    store.create(T.services, service('drain', { app: 'drain' }));
    store.create(T.deployments, deployment('drain', { replicas: 2 }));
    await waitForRollout(store, 'drain');
    await waitFor(store, () => addressed('drain').length === 2, 'two addresses');
    const victim = podsOf(store, { app: 'drain' })[0]!;
    const port = subsets('drain').find((s) => s.addresses?.[0]?.targetRef.name === victim.metadata.name)!
      .ports[0]!.port;
    const startedMs = Date.now();

    const deleted = store.delete(T.pods, 'demo', victim.metadata.name!);
    expect(deleted.metadata.deletionTimestamp).toBeDefined();
    expect(deleted.metadata.deletionGracePeriodSeconds).toBe(30);
    await waitFor(store, () => !addressed('drain').includes(victim.metadata.name!), 'out of Endpoints');
    expect(store.get(T.pods, 'demo', victim.metadata.name!)).toBeDefined();
    expect((await httpGet(port, '/health')).status).toBe(200);
    // The ReplicaSet does not count a Terminating pod: a replacement comes at once.
    await waitFor(store, () => podsOf(store, { app: 'drain' }).length === 2, 'replacement pod');

    await waitFor(store, () => store.get(T.pods, 'demo', victim.metadata.name!) === undefined, 'removed');
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
    await expect(httpGet(port, '/health')).rejects.toThrow();
    expect(eventsFor(victim.metadata.name!).filter((e) => e.reason === 'Killing')).toHaveLength(1);
  });

  it('grace period 0 removes a pod at once, also one already Terminating', async () => {
    const { store } = world;
    store.create(T.deployments, deployment('quick', { replicas: 2 }));
    await waitForRollout(store, 'quick');
    const [first, second] = podsOf(store, { app: 'quick' });
    store.delete(T.pods, 'demo', first!.metadata.name!, { gracePeriodSeconds: 0 });
    expect(store.get(T.pods, 'demo', first!.metadata.name!)).toBeUndefined();

    store.delete(T.pods, 'demo', second!.metadata.name!);
    expect(store.get(T.pods, 'demo', second!.metadata.name!)?.metadata.deletionTimestamp).toBeDefined();
    store.delete(T.pods, 'demo', second!.metadata.name!, { gracePeriodSeconds: 0 });
    expect(store.get(T.pods, 'demo', second!.metadata.name!)).toBeUndefined();
  });
});

describe('Endpoints controller', () => {
  it('lists pods as not ready, then ready, on their own ports, and drops deleted pods', async () => {
    const { store } = world;
    store.create(T.services, service('ep', { app: 'ep' }));
    store.create(T.deployments, deployment('ep', { replicas: 2, env: { SANDBOX_READY_AFTER: '500ms' } }));
    type Subset = {
      addresses?: { targetRef: { name: string } }[];
      notReadyAddresses?: { targetRef: { name: string } }[];
      ports: { name: string; port: number }[];
    };
    const subsets = (): Subset[] => (store.get(T.endpoints, 'demo', 'ep')?.subsets ?? []) as Subset[];
    const notReady = await waitFor(
      store,
      () => (subsets().filter((s) => s.notReadyAddresses).length === 2 ? subsets() : undefined),
      'two not-ready',
    );
    expect(notReady.every((s) => !s.addresses)).toBe(true);
    const ready = await waitFor(
      store,
      () => (subsets().filter((s) => s.addresses).length === 2 ? subsets() : undefined),
      'two ready',
    );
    const ports = ready.map((s) => s.ports[0]!.port);
    expect(new Set(ports).size).toBe(2);
    expect(ready[0]!.ports[0]!.name).toBe('http');
    for (const port of ports) expect((await httpGet(port, '/ready')).status).toBe(200);

    const victim = ready[0]!.addresses![0]!.targetRef.name;
    const d = getDeployment(store, 'ep');
    (d.spec as { replicas: number }).replicas = 1;
    store.update(T.deployments, d);
    await waitFor(store, () => subsets().length === 1, 'one subset');
    expect(podsOf(store, { app: 'ep' })).toHaveLength(1);
    expect(victim).toBeTruthy();

    // A never-ready pod stays among notReadyAddresses.
    store.create(T.services, service('never', { app: 'never' }));
    store.create(T.deployments, deployment('never', { env: { SANDBOX_NEVER_READY: 'true' } }));
    await waitFor(
      store,
      () => ((store.get(T.endpoints, 'demo', 'never')?.subsets ?? []) as Subset[])[0]?.notReadyAddresses,
      'never ready listed',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      ((store.get(T.endpoints, 'demo', 'never')?.subsets ?? []) as Subset[])[0]?.addresses,
    ).toBeUndefined();

    store.delete(T.services, 'demo', 'ep');
    await waitFor(
      store,
      () => store.get(T.endpoints, 'demo', 'ep') === undefined,
      'endpoints removed with the service',
    );
  });

  it('writes an EndpointSlice per pod, keeps a Terminating pod as terminating, drops them with the Service', async () => {
    const { store } = world;
    type Slice = KubeObject & {
      endpoints: {
        conditions: { ready: boolean; serving: boolean; terminating: boolean };
        targetRef: { name: string };
      }[];
      ports: { port: number }[];
    };
    const slices = (): Slice[] =>
      store
        .list(T.endpointslices, 'demo')
        .items.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'sl') as Slice[];
    const conditionsOf = (pod: string) =>
      slices().find((s) => s.endpoints[0]?.targetRef.name === pod)?.endpoints[0]?.conditions;
    store.create(T.services, service('sl', { app: 'sl' }));
    store.create(T.deployments, deployment('sl', { replicas: 2 }));
    await waitForRollout(store, 'sl');
    await waitFor(
      store,
      () => slices().filter((s) => s.endpoints[0]?.conditions.ready).length === 2,
      'ready',
    );
    const [one, two] = slices();
    expect(one!.metadata.labels?.['endpointslice.kubernetes.io/managed-by']).toBe(
      'endpointslice-controller.k8s.io',
    );
    expect(one!.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'sl' });
    expect(one!.ports[0]!.port).not.toBe(two!.ports[0]!.port);

    const victim = one!.endpoints[0]!.targetRef.name;
    store.delete(T.pods, 'demo', victim);
    await waitFor(store, () => conditionsOf(victim)?.terminating, 'terminating');
    expect(conditionsOf(victim)).toEqual({ ready: false, serving: true, terminating: true });
    await waitFor(store, () => conditionsOf(victim) === undefined, 'slice of the stopped pod removed');

    store.delete(T.services, 'demo', 'sl');
    await waitFor(store, () => slices().length === 0, 'slices removed with the Service');
  });
});
