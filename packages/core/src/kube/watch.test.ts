import type { ServerResponse } from 'node:http';
import type { V1Deployment } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createKube, type Kube } from './kube.js';
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
import { track, untilReal, useFakeClock } from '../testing/fake-clock.js';
import { WatchFailedError, watchObjects, WatchTimeoutError } from './watch.js';

const PATH = '/apis/apps/v1/namespaces/shop/deployments';
let api: FakeKubeApi;
let kube: Kube;

beforeAll(async () => {
  api = await startFakeKubeApi();
  kube = await createKube(
    { kubeconfig: buildKubeconfig(api.url) },
    { env: {}, homeDir: '/nonexistent', setSecret: () => undefined },
  );
});
afterAll(async () => {
  await api.close();
});
beforeEach(() => {
  api.requests = [];
});
afterEach(() => {
  vi.useRealTimers();
});

function deployment(name: string, resourceVersion: string, available: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', resourceVersion },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: {} },
    status: { availableReplicas: available },
  };
}

function list(res: ServerResponse, resourceVersion: string, items: V1Deployment[]): void {
  // Real lists omit apiVersion/kind on items.
  const bare = items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
  sendJson(res, 200, {
    apiVersion: 'apps/v1',
    kind: 'DeploymentList',
    metadata: { resourceVersion },
    items: bare,
  });
}

const isWatch = (req: RecordedRequest): boolean => req.query.get('watch') === 'true';
const watches = (): RecordedRequest[] => api.requests.filter(isWatch);
const lists = (): RecordedRequest[] => api.requests.filter((r) => !isWatch(r));

const available = (d: V1Deployment): 'done' | void =>
  (d.status?.availableReplicas ?? 0) >= 2 ? 'done' : undefined;
const fast = { baseDelayMs: 1, maxDelayMs: 10 };

describe('watchObjects', () => {
  it('lists, then watches from the list resourceVersion with bookmarks, until the handler is done', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '9', 0)]);
      const stream = startWatch(res);
      stream.send('MODIFIED', deployment('web', '11', 1));
      stream.send('MODIFIED', deployment('web', '12', 2));
    };
    const seen: string[] = [];
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      fieldSelector: 'metadata.name=web',
      deadline: Date.now() + 5000,
      onEvent: (type, d) => {
        seen.push(`${type} ${d.kind} ${d.metadata?.resourceVersion}`);
        return available(d);
      },
    });
    expect(seen).toEqual(['ADDED Deployment 9', 'MODIFIED Deployment 11', 'MODIFIED Deployment 12']);
    expect(outcome).toMatchObject({ events: 3, relists: 0, resumes: 0 });
    const watch = watches()[0];
    expect(watch?.path).toBe(PATH);
    expect(watch?.query.get('resourceVersion')).toBe('10');
    expect(watch?.query.get('allowWatchBookmarks')).toBe('true');
    expect(watch?.query.get('fieldSelector')).toBe('metadata.name=web');
    expect(lists()[0]?.query.get('fieldSelector')).toBe('metadata.name=web');
  });

  it('ends at once when the listed state already satisfies the handler', async () => {
    api.handler = (req, res) => list(res, '5', [deployment('web', '5', 2)]);
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 5000,
      onEvent: (_t, d) => available(d),
    });
    expect(outcome.events).toBe(1);
    expect(watches()).toHaveLength(0);
  });

  it('judges a condition on the whole set only after a complete list, then after each event', async () => {
    // "every deployment available": the first listed one alone would pass; the second does not yet.
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '20', [deployment('a', '18', 2), deployment('b', '19', 0)]);
      const stream = startWatch(res);
      stream.send('MODIFIED', deployment('b', '21', 2));
    };
    const judged: string[][] = [];
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 5000,
      judge: (all) => {
        judged.push(all.map((d) => `${d.metadata?.name}:${d.status?.availableReplicas}`).sort());
        return all.length > 0 && all.every((d) => available(d) === 'done') ? 'done' : undefined;
      },
    });
    expect(judged).toEqual([
      ['a:2', 'b:0'],
      ['a:2', 'b:2'],
    ]);
    expect(outcome.events).toBe(3);
    expect(watches()).toHaveLength(1);
  });

  it('resumes from the last resourceVersion seen when the stream drops', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      const stream = startWatch(res);
      if (watches().length === 1) {
        stream.send('MODIFIED', deployment('web', '11', 1));
        setTimeout(() => stream.destroy(), 20);
      } else {
        stream.send('MODIFIED', deployment('web', '12', 2));
      }
    };
    const progress: string[] = [];
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 5000,
      retry: fast,
      onEvent: (_t, d) => available(d),
      onProgress: (m) => progress.push(m),
    });
    expect(outcome).toMatchObject({ resumes: 1, relists: 0 });
    expect(lists()).toHaveLength(1);
    expect(watches().map((w) => w.query.get('resourceVersion'))).toEqual(['10', '11']);
    expect(progress.join('\n')).toMatch(/retrying in \d+ ms from resourceVersion 11/);
  });

  it('resumes after a clean end of the stream, from the last bookmark', async () => {
    let stream: WatchStream | undefined;
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      stream = startWatch(res);
      if (watches().length === 1) {
        stream.send('BOOKMARK', { kind: 'Deployment', metadata: { resourceVersion: '50' } });
        setTimeout(() => stream?.end(), 1100); // past the "closed at once" guard
      } else {
        stream.send('MODIFIED', deployment('web', '51', 2));
      }
    };
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 5000,
      retry: fast,
      onEvent: (_t, d) => available(d),
    });
    expect(outcome.resumes).toBe(1);
    expect(watches().map((w) => w.query.get('resourceVersion'))).toEqual(['10', '50']);
  });

  it('lists again after 410 Gone on the watch request', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) {
        return lists().length === 1
          ? list(res, '10', [deployment('web', '10', 0), deployment('old', '3', 2)])
          : list(res, '40', [deployment('web', '39', 1)]);
      }
      if (watches().length === 1) return sendStatus(res, 410, 'Expired', 'too old resource version: 10 (30)');
      startWatch(res).send('MODIFIED', deployment('web', '41', 2));
    };
    const seen: string[] = [];
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 5000,
      retry: fast,
      onEvent: (type, d) => {
        seen.push(`${type} ${d.metadata?.name} ${d.metadata?.resourceVersion}`);
        return d.metadata?.name === 'web' ? available(d) : undefined;
      },
    });
    expect(outcome.relists).toBe(1);
    expect(seen).toEqual(['ADDED web 10', 'ADDED old 3', 'ADDED web 39', 'DELETED old 3', 'MODIFIED web 41']);
    expect(watches().map((w) => w.query.get('resourceVersion'))).toEqual(['10', '40']);
  });

  it('lists again when 410 arrives as an ERROR event in the stream', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, lists().length === 1 ? '10' : '60', [deployment('web', '60', 0)]);
      const stream = startWatch(res);
      if (watches().length === 1) {
        stream.send('ERROR', {
          kind: 'Status',
          code: 410,
          reason: 'Expired',
          message: 'too old resource version',
        });
      } else {
        stream.send('MODIFIED', deployment('web', '61', 2));
      }
    };
    const progress: string[] = [];
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 5000,
      retry: fast,
      onEvent: (_t, d) => available(d),
      onProgress: (m) => progress.push(m),
    });
    expect(outcome.relists).toBe(1);
    expect(lists()).toHaveLength(2);
    expect(progress.some((m) => m.includes('expired (410 Gone); listing again'))).toBe(true);
  });

  it('retries a 429 on the watch request, waiting Retry-After', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      if (watches().length === 1)
        return sendStatus(res, 429, 'TooManyRequests', 'slow', { 'retry-after': '0' });
      startWatch(res).send('MODIFIED', deployment('web', '11', 2));
    };
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 5000,
      retry: fast,
      onEvent: (_t, d) => available(d),
    });
    expect(outcome.resumes).toBe(1);
    expect(watches()).toHaveLength(2);
  });

  it('gives up on a watch that keeps answering 500, naming the object, the status and the reason', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      sendStatus(res, 500, 'InternalError', 'etcd is unavailable');
    };
    const progress: string[] = [];
    const err = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      // Far beyond the test's own timeout: only the failure budget can end this wait in time.
      deadline: Date.now() + 600_000,
      what: 'deployment shop/web to finish its rollout',
      retry: fast,
      onEvent: (_t, d) => available(d),
      onProgress: (m) => progress.push(m),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchFailedError);
    expect(err).toMatchObject({
      status: 500,
      verb: 'watch',
      what: 'deployment shop/web to finish its rollout',
    });
    expect((err as Error).message).toMatch(
      /^Could not watch deployment shop\/web to finish its rollout \(gave up after 5 attempts in \d+s\): watch deployments shop\/\* failed: 500 Internal Server Error$/,
    );
    expect(watches()).toHaveLength(5);
    expect(lists()).toHaveLength(1);
    expect(progress.filter((m) => m.includes('failed (HTTP 500)'))).toHaveLength(4);
  });

  it("gives up on a list that keeps failing, with the server's reason and message", async () => {
    api.handler = (_req, res) => sendStatus(res, 503, 'ServiceUnavailable', 'the apiserver is shutting down');
    const err = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 600_000,
      what: 'deployment shop/web to finish its rollout',
      retry: fast,
      onEvent: (_t, d) => available(d),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchFailedError);
    expect((err as Error).message).toContain(
      'list deployments shop/* failed: 503 ServiceUnavailable: the apiserver is shutting down',
    );
    expect(lists()).toHaveLength(5);
    expect(watches()).toHaveLength(0);
  });

  it('gives up on ERROR events that keep arriving in the stream', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      startWatch(res).send('ERROR', {
        kind: 'Status',
        code: 500,
        reason: 'InternalError',
        message: 'etcdserver: request timed out',
      });
    };
    const err = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 600_000,
      retry: fast,
      onEvent: (_t, d) => available(d),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchFailedError);
    expect((err as Error).message).toContain('500 InternalError: etcdserver: request timed out');
    expect(watches()).toHaveLength(5);
  });

  it('ends the failure budget on time as well as on attempts', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      sendStatus(res, 502, 'BadGateway', 'proxy error');
    };
    const err = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 600_000,
      retry: { baseDelayMs: 40, maxDelayMs: 40, maxAttempts: 1000, budgetMs: 200 },
      onEvent: (_t, d) => available(d),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchFailedError);
    expect(watches().length).toBeGreaterThan(1);
    expect(watches().length).toBeLessThan(1000);
  });

  it.each([
    [403, 'Forbidden', 'grant the identity RBAC permission to watch deployments in namespace shop'],
    [401, 'Unauthorized', 'the cluster rejected the credentials'],
    [404, 'NotFound', ''],
  ])('fails at once on %i, which retrying cannot cure', async (code, reason, hint) => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      sendStatus(res, code, reason, 'no');
    };
    const err = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 600_000,
      what: 'deployment shop/web to finish its rollout',
      retry: fast,
      onEvent: (_t, d) => available(d),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WatchFailedError);
    expect(err).toMatchObject({ status: code });
    expect((err as Error).message).toMatch(
      new RegExp(
        `^Could not watch deployment shop/web to finish its rollout \\(not retried\\): watch deployments shop/\\* failed: ${code} `,
      ),
    );
    expect((err as Error).message).toContain(hint);
    expect(watches()).toHaveLength(1);
  });

  it('keeps resuming a stream that drops after making progress, beyond the failure budget', async () => {
    let version = 10;
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      const stream = startWatch(res);
      version += 1;
      // Seven drops in a row, each after an event: more than the budget's five failures.
      if (watches().length <= 7) {
        stream.send('MODIFIED', deployment('web', String(version), 1));
        setTimeout(() => stream.destroy(), 10);
      } else {
        stream.send('MODIFIED', deployment('web', String(version), 2));
      }
    };
    const outcome = await watchObjects<V1Deployment>({
      kube,
      path: PATH,
      deadline: Date.now() + 600_000,
      retry: fast,
      onEvent: (_t, d) => available(d),
    });
    expect(outcome).toMatchObject({ resumes: 7, relists: 0 });
    expect(lists()).toHaveLength(1);
  });

  it('says at the deadline that the watch was failing, and how', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      sendStatus(res, 500, 'InternalError', 'etcd is unavailable');
    };
    useFakeClock();
    const progress: string[] = [];
    const wait = track(
      watchObjects<V1Deployment>({
        kube,
        path: PATH,
        deadline: Date.now() + 300,
        retry: { ...fast, maxAttempts: 100_000, budgetMs: 600_000 },
        onEvent: (_t, d) => available(d),
        onProgress: (m) => progress.push(m),
      }),
    );
    await untilReal('a failed watch', () => progress.some((m) => m.includes('failed (HTTP 500)')));
    await vi.advanceTimersByTimeAsync(300);
    expect(wait.settled()).toBe(true);
    const err = await wait.outcome;
    expect(err).toBeInstanceOf(WatchTimeoutError);
    expect((err as Error).message).toMatch(/; the watch request was failing \(HTTP 500, \d+ time\(s\)\)$/);
  });

  it('fails at the deadline, naming what it waited for and the last state seen', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      startWatch(res).send('MODIFIED', deployment('web', '11', 1)); // then silence
    };
    useFakeClock();
    const versions: string[] = [];
    const wait = track(
      watchObjects<V1Deployment>({
        kube,
        path: PATH,
        deadline: Date.now() + 300,
        what: 'deployment shop/web to have 2 available replicas',
        describe: (d) =>
          `${d?.status?.availableReplicas ?? 0}/2 available (resourceVersion ${d?.metadata?.resourceVersion})`,
        onEvent: (_t, d) => {
          versions.push(d.metadata!.resourceVersion!);
          return available(d);
        },
      }),
    );
    await untilReal('the event from the watch', () => versions.includes('11'));
    // The open, silent watch must not hold the wait past its deadline, nor may anything end it early.
    await vi.advanceTimersByTimeAsync(299);
    expect(wait.settled()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(wait.settled()).toBe(true);
    const err = await wait.outcome;
    expect(err).toBeInstanceOf(WatchTimeoutError);
    expect((err as Error).message).toMatch(
      /^Timed out after 0s waiting for deployment shop\/web to have 2 available replicas; last seen: 1\/2 available \(resourceVersion 11\)$/,
    );
  });

  it('stops when the signal aborts', async () => {
    api.handler = (req, res) => {
      if (!isWatch(req)) return list(res, '10', [deployment('web', '10', 0)]);
      startWatch(res);
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('run cancelled')), 100);
    await expect(
      watchObjects<V1Deployment>({
        kube,
        path: PATH,
        signal: controller.signal,
        onEvent: (_t, d) => available(d),
      }),
    ).rejects.toThrow('run cancelled');
  });

  it('does not retry a handler that throws, and passes its error through', async () => {
    api.handler = (req, res) => list(res, '10', [deployment('web', '10', 0)]);
    // Its own path, so a late request from an earlier test cannot be counted here.
    const path = '/apis/apps/v1/namespaces/handler-throws/deployments';
    await expect(
      watchObjects<V1Deployment>({
        kube,
        path,
        deadline: Date.now() + 5000,
        onEvent: () => {
          throw new Error('pods crash-looping: web-1');
        },
      }),
    ).rejects.toThrow('pods crash-looping: web-1');
    expect(api.requests.filter((r) => r.path.startsWith(path))).toHaveLength(1);
  });

  it('refuses an unbounded wait', async () => {
    await expect(watchObjects({ kube, path: PATH, onEvent: () => 'done' })).rejects.toThrow(
      'needs a deadline or a signal',
    );
  });
});
