/**
 * The fault API as a fault matrix uses it, proved against the real servers through plain
 * HTTP(S): answers instead of serving on every verb, connections dropped before and after a
 * write is stored, stalls released by the client or by stopping the sandbox, the nth request
 * and rules armed by an earlier one, and the audit a test replays a run from.
 */
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPrometheus, type RunningPrometheus } from '../src/cluster/prometheus.js';
import { AuditLog, Faults, type FaultRule } from '../src/faults.js';
import { RESOURCE_TYPES } from '../src/resources.js';
import { startGitHub, type GitHubStandIn } from '../src/standins/github.js';
import { startSlack, type SlackStandIn } from '../src/standins/slack.js';
import { configMap, startTestApi, type TestApi, type Untyped } from './api-helpers.js';

/** What a client saw: an answer, or the code of the connection error it got instead. */
type Outcome = { status: number; json: Untyped } | { error: string };

interface Call {
  method: string;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * One request on a fresh connection (no keep-alive, so a dropped connection belongs to this
 * request only). Resolves with the answer or the error code; never rejects.
 */
function attempt(url: URL, call: Call, tls?: { ca: Buffer; token: string }): Promise<Outcome> {
  const body =
    call.body === undefined
      ? undefined
      : typeof call.body === 'string'
        ? call.body
        : JSON.stringify(call.body);
  const headers: Record<string, string> = { Accept: 'application/json', ...call.headers };
  if (tls) headers.Authorization = `Bearer ${tls.token}`;
  if (body !== undefined) headers['Content-Type'] = call.contentType ?? 'application/json';
  return new Promise((done) => {
    const options = { method: call.method, headers, agent: false as const, signal: call.signal };
    const onAnswer = (res: import('node:http').IncomingMessage): void => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        done({ status: res.statusCode ?? 0, json });
      });
      res.on('error', (error: NodeJS.ErrnoException) => done({ error: error.code ?? error.message }));
    };
    const req = tls
      ? httpsRequest(url, { ...options, ca: tls.ca }, onAnswer)
      : httpRequest(url, options, onAnswer);
    req.on('error', (error: NodeJS.ErrnoException) =>
      done({ error: error.name === 'AbortError' ? error.name : (error.code ?? error.message) }),
    );
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A connection that went away without an answer, as Node's client reports it. */
const CONNECTION_LOST = { error: 'ECONNRESET' };

describe('Faults rules', () => {
  it('hits only the nth matching request, then counts times from there', () => {
    const faults = new Faults();
    faults.add({ target: 'api', match: { verb: 'patch' }, nth: 2, status: 500 });
    faults.add({ target: 'api', match: { verb: 'get' }, nth: 2, times: 2, status: 503 });
    const patches = [1, 2, 3, 4].map(() => faults.take('api', { verb: 'patch' })?.status);
    expect(patches).toEqual([undefined, 500, undefined, undefined]);
    const gets = [1, 2, 3, 4, 5].map(() => faults.take('api', { verb: 'get' })?.status);
    expect(gets).toEqual([undefined, 503, 503, undefined, undefined]);
    expect(faults.hits.map((h) => [h.request.verb, h.kind])).toEqual([
      ['patch', 'status'],
      ['get', 'status'],
      ['get', 'status'],
    ]);
  });

  it('arms an `after` rule only once a matching request was served with a 2xx, on any target', () => {
    const faults = new Faults();
    faults.add({
      target: 'prometheus',
      match: { verb: 'query' },
      after: { target: 'api', verb: 'update', path: '/services/web', dryRun: false },
      status: 503,
      times: 1,
    });
    const query = () => faults.take('prometheus', { verb: 'query' })?.status;
    expect(query()).toBeUndefined();
    faults.served('api', { verb: 'update', path: '/api/v1/namespaces/prod/services/web' }, 409);
    faults.served('api', { verb: 'update', path: '/api/v1/namespaces/prod/services/web', dryRun: true }, 200);
    faults.served('api', { verb: 'update', path: '/api/v1/namespaces/prod/services/api' }, 200);
    expect(query()).toBeUndefined();
    faults.served('api', { verb: 'update', path: '/api/v1/namespaces/prod/services/web' }, 200);
    expect([query(), query()]).toEqual([503, undefined]);
  });

  it('counts a request towards nth even when another rule hit it', () => {
    const faults = new Faults();
    faults.add({ target: 'api', match: { verb: 'list' }, status: 500, times: 1, name: 'first' });
    faults.add({ target: 'api', match: { verb: 'list' }, status: 403, nth: 2, name: 'second' });
    const statuses = [1, 2, 3].map(() => faults.take('api', { verb: 'list' })?.status);
    expect(statuses).toEqual([500, 403, undefined]);
    expect(faults.hits.map((h) => h.name)).toEqual(['first', 'second']);
  });

  it('refuses an nth or times that is not a whole number from 1', () => {
    const faults = new Faults();
    const bad: FaultRule[] = [
      { target: 'api', nth: 0 },
      { target: 'api', nth: 1.5 },
      { target: 'api', times: 0 },
    ];
    for (const rule of bad) expect(() => faults.add(rule)).toThrow(/must be a whole number from 1/);
  });
});

describe('API server', () => {
  let t: TestApi;
  const configmaps = '/api/v1/namespaces/prod/configmaps';
  const stored = (name: string) =>
    t.store.get(
      RESOURCE_TYPES.find((r) => r.kind === 'ConfigMap')!,
      'prod',
      name,
    );
  const api = (path: string, call: Call): Promise<Outcome> =>
    attempt(new URL(path, t.api.url), call, {
      ca: Buffer.from(t.api.caData, 'base64'),
      token: t.api.adminToken,
    });

  beforeAll(async () => {
    t = await startTestApi();
    await t.core.createNamespace({ body: { metadata: { name: 'prod' } } });
  });
  afterAll(async () => t?.stop());
  afterEach(() => {
    t.faults.clear();
    t.audit.clear();
  });

  it('answers an injected status on every verb, watches and dry-run writes included', async () => {
    await t.core.createNamespacedConfigMap({
      namespace: 'prod',
      body: configMap('base', 'prod', { a: '1' }),
    });
    const before = stored('base')?.metadata.resourceVersion;
    t.audit.clear();
    const cases: { verb: string; dryRun?: boolean; path: string; call: Call }[] = [
      { verb: 'get', path: `${configmaps}/base`, call: { method: 'GET' } },
      { verb: 'list', path: configmaps, call: { method: 'GET' } },
      { verb: 'watch', path: `${configmaps}?watch=true`, call: { method: 'GET' } },
      {
        verb: 'create',
        path: configmaps,
        call: { method: 'POST', body: configMap('new', 'prod', {}) },
      },
      {
        verb: 'create',
        dryRun: true,
        path: `${configmaps}?dryRun=All`,
        call: { method: 'POST', body: configMap('new', 'prod', {}) },
      },
      {
        verb: 'update',
        path: `${configmaps}/base`,
        call: { method: 'PUT', body: configMap('base', 'prod', { a: '2' }) },
      },
      {
        verb: 'patch',
        dryRun: true,
        path: `${configmaps}/base?dryRun=All&fieldManager=ci`,
        call: {
          method: 'PATCH',
          body: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: base }\ndata: { a: "3" }\n',
          contentType: 'application/apply-patch+yaml',
        },
      },
      {
        verb: 'patch',
        path: `${configmaps}/base`,
        call: {
          method: 'PATCH',
          body: { data: { a: '4' } },
          contentType: 'application/merge-patch+json',
        },
      },
      { verb: 'delete', path: `${configmaps}/base`, call: { method: 'DELETE' } },
      { verb: 'deletecollection', path: configmaps, call: { method: 'DELETE' } },
    ];
    for (const [index, { verb, dryRun, path, call }] of cases.entries()) {
      const status = index % 2 === 0 ? 500 : 403;
      t.faults.add({ target: 'api', match: { verb, dryRun: dryRun ?? false }, status, times: 1 });
      const outcome = await api(path, call);
      expect(outcome, `${verb}${dryRun ? ' (dry run)' : ''}`).toMatchObject({
        status,
        json: { kind: 'Status', code: status, reason: status === 500 ? 'InternalError' : 'Forbidden' },
      });
    }
    expect(stored('base')?.metadata.resourceVersion).toBe(before);
    expect(stored('new')).toBeUndefined();
    expect(t.audit.entries.map((e) => [e.verb, e.dryRun ?? false, e.status, e.fault?.kind])).toEqual(
      cases.map(({ verb, dryRun }, index) => [verb, dryRun ?? false, index % 2 === 0 ? 500 : 403, 'status']),
    );
  });

  it('tells a dry-run write from the real one with match.dryRun', async () => {
    t.faults.add({ target: 'api', match: { verb: 'create', dryRun: true }, status: 500 });
    const body = configMap('dry-or-real', 'prod', {});
    expect(await api(`${configmaps}?dryRun=All`, { method: 'POST', body })).toMatchObject({ status: 500 });
    expect(await api(configmaps, { method: 'POST', body })).toMatchObject({ status: 201 });
    expect(stored('dry-or-real')).toBeDefined();
  });

  it('dropAfterServe stores each write, then drops the connection without an answer', async () => {
    await t.core.createNamespacedConfigMap({
      namespace: 'prod',
      body: configMap('kept', 'prod', { a: '1' }),
    });
    await t.core.createNamespacedConfigMap({ namespace: 'prod', body: configMap('gone', 'prod', {}) });
    t.audit.clear();
    const writes: { verb: string; path: string; call: Call }[] = [
      { verb: 'create', path: configmaps, call: { method: 'POST', body: configMap('made', 'prod', {}) } },
      {
        verb: 'update',
        path: `${configmaps}/kept`,
        call: { method: 'PUT', body: configMap('kept', 'prod', { a: '2' }) },
      },
      {
        verb: 'patch',
        path: `${configmaps}/kept`,
        call: { method: 'PATCH', body: { data: { b: '3' } }, contentType: 'application/merge-patch+json' },
      },
      { verb: 'delete', path: `${configmaps}/gone`, call: { method: 'DELETE' } },
    ];
    for (const { verb, path, call } of writes) {
      t.faults.add({ target: 'api', match: { verb }, dropAfterServe: true, times: 1, name: `drop ${verb}` });
      expect(await api(path, call), verb).toEqual(CONNECTION_LOST);
    }
    expect(stored('made')).toBeDefined();
    expect(stored('kept')?.data).toEqual({ a: '2', b: '3' });
    expect(stored('gone')).toBeUndefined();
    // The audit says what the server did and that the answer was lost, so a succeeded-writes
    // check counts these writes.
    expect(t.audit.entries.map((e) => [e.verb, e.status, e.fault])).toEqual([
      ['create', 201, { rule: expect.any(Number), kind: 'dropAfterServe', name: 'drop create' }],
      ['update', 200, { rule: expect.any(Number), kind: 'dropAfterServe', name: 'drop update' }],
      ['patch', 200, { rule: expect.any(Number), kind: 'dropAfterServe', name: 'drop patch' }],
      ['delete', 200, { rule: expect.any(Number), kind: 'dropAfterServe', name: 'drop delete' }],
    ]);
    expect(t.audit.writes({ succeededOnly: true })).toHaveLength(4);
    // The server goes on serving.
    expect(await api(`${configmaps}/kept`, { method: 'GET' })).toMatchObject({ status: 200 });
  });

  it('dropAfterServe on reads and watches: served, then the connection drops', async () => {
    t.faults.add({ target: 'api', match: { verb: 'watch' }, dropAfterServe: true, times: 1 });
    t.faults.add({ target: 'api', match: { verb: 'list' }, dropAfterServe: true, times: 1 });
    expect(await api(`${configmaps}?watch=true`, { method: 'GET' })).toEqual(CONNECTION_LOST);
    expect(await api(configmaps, { method: 'GET' })).toEqual(CONNECTION_LOST);
    expect(t.audit.entries.map((e) => [e.verb, e.status, e.fault?.kind])).toEqual([
      ['watch', 200, 'dropAfterServe'],
      ['list', 200, 'dropAfterServe'],
    ]);
  });

  it('dropBeforeServe drops the connection and stores nothing, dry run or not', async () => {
    t.faults.add({ target: 'api', match: { verb: 'create' }, dropBeforeServe: true, times: 2 });
    const body = configMap('never', 'prod', {});
    expect(await api(configmaps, { method: 'POST', body })).toEqual(CONNECTION_LOST);
    expect(await api(`${configmaps}?dryRun=All`, { method: 'POST', body })).toEqual(CONNECTION_LOST);
    expect(stored('never')).toBeUndefined();
    expect(t.audit.entries.map((e) => [e.verb, e.dryRun ?? false, e.status, e.fault?.kind])).toEqual([
      ['create', false, 0, 'dropBeforeServe'],
      ['create', true, 0, 'dropBeforeServe'],
    ]);
    expect(t.audit.writes({ succeededOnly: true })).toEqual([]);
    expect(await api(configmaps, { method: 'POST', body })).toMatchObject({ status: 201 });
  });

  it('nth hits only the k-th matching request, and times counts from there', async () => {
    await t.core.createNamespacedConfigMap({ namespace: 'prod', body: configMap('counter', 'prod', {}) });
    const patch = (n: number) =>
      api(`${configmaps}/counter`, {
        method: 'PATCH',
        body: { data: { [`n${n}`]: 'x' } },
        contentType: 'application/merge-patch+json',
      });
    t.faults.add({
      target: 'api',
      match: { verb: 'patch', path: '/configmaps/counter' },
      nth: 3,
      status: 500,
    });
    const first = [];
    for (const n of [1, 2, 3, 4]) first.push(((await patch(n)) as { status: number }).status);
    expect(first).toEqual([200, 200, 500, 200]);
    expect(Object.keys(stored('counter')?.data ?? {}).sort()).toEqual(['n1', 'n2', 'n4']);

    t.faults.add({ target: 'api', match: { verb: 'patch' }, nth: 2, times: 2, dropBeforeServe: true });
    const second = [];
    for (const n of [5, 6, 7, 8]) {
      const outcome = await patch(n);
      second.push('status' in outcome ? outcome.status : outcome.error);
    }
    expect(second).toEqual([200, 'ECONNRESET', 'ECONNRESET', 200]);
    expect(Object.keys(stored('counter')?.data ?? {}).sort()).toEqual(['n1', 'n2', 'n4', 'n5', 'n8']);
  });

  it('after arms a rule once the given request was served: "the first list of endpointslices after the PUT"', async () => {
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: 'prod' },
      spec: { selector: { app: 'web', colour: 'blue' }, ports: [{ port: 80 }] },
    };
    expect(await api('/api/v1/namespaces/prod/services', { method: 'POST', body: service })).toMatchObject({
      status: 201,
    });
    const slices =
      '/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb';
    const listSlices = async () => ((await api(slices, { method: 'GET' })) as { status: number }).status;
    t.faults.add({
      target: 'api',
      name: 'slices after switch',
      match: { verb: 'list', path: '/endpointslices' },
      after: { verb: 'update', path: '/services/web', dryRun: false },
      status: 403,
      times: 1,
    });
    const put = async (colour: string, query = '') => {
      const current = (await api('/api/v1/namespaces/prod/services/web', { method: 'GET' })) as Untyped;
      const next = { ...current.json, spec: { ...current.json.spec, selector: { app: 'web', colour } } };
      return (
        (await api(`/api/v1/namespaces/prod/services/web${query}`, { method: 'PUT', body: next })) as Untyped
      ).status;
    };
    expect(await listSlices()).toBe(200);
    // A dry run and a refused write do not arm it.
    expect(await put('green', '?dryRun=All')).toBe(200);
    t.faults.add({ target: 'api', match: { verb: 'update' }, status: 409, times: 1 });
    expect(await put('green')).toBe(409);
    expect(await listSlices()).toBe(200);
    expect(await put('green')).toBe(200);
    expect([await listSlices(), await listSlices()]).toEqual([403, 200]);
    const hit = t.audit.entries.find((e) => e.fault?.name === 'slices after switch');
    expect(hit).toMatchObject({
      verb: 'list',
      method: 'GET',
      path: '/apis/discovery.k8s.io/v1/namespaces/prod/endpointslices',
      labelSelector: 'kubernetes.io/service-name=web',
      status: 403,
      fault: { kind: 'status' },
    });
  });

  it('nth and after together: the 2nd get of a ConfigMap after it was created', async () => {
    t.faults.add({
      target: 'api',
      match: { verb: 'get', path: '/configmaps/late' },
      after: { verb: 'create', path: '/configmaps' },
      nth: 2,
      status: 500,
    });
    const get = async () =>
      ((await api(`${configmaps}/late`, { method: 'GET' })) as { status: number }).status;
    expect([await get(), await get()]).toEqual([404, 404]);
    await api(configmaps, { method: 'POST', body: configMap('late', 'prod', {}) });
    expect([await get(), await get(), await get()]).toEqual([200, 500, 200]);
  });

  it('audits verb, method, path without query, dryRun and selectors for a replay', async () => {
    await api(`${configmaps}?labelSelector=app%3Dweb&fieldSelector=metadata.name%3Dbase&limit=5`, {
      method: 'GET',
    });
    await api(`${configmaps}?dryRun=All&fieldManager=ci`, {
      method: 'POST',
      body: configMap('dry', 'prod', {}),
    });
    expect(t.audit.entries.map(({ time: _time, ...rest }) => rest)).toEqual([
      {
        target: 'api',
        user: 'admin',
        verb: 'list',
        method: 'GET',
        path: configmaps,
        status: 200,
        labelSelector: 'app=web',
        fieldSelector: 'metadata.name=base',
      },
      {
        target: 'api',
        user: 'admin',
        verb: 'create',
        method: 'POST',
        path: configmaps,
        status: 201,
        dryRun: true,
      },
    ]);
  });

  it('a stall holds the request until the client leaves, and serves nothing', async () => {
    await t.core.createNamespacedConfigMap({ namespace: 'prod', body: configMap('slowly', 'prod', {}) });
    t.faults.add({ target: 'api', match: { verb: 'create' }, stall: true, times: 1, name: 'stall' });
    t.faults.add({ target: 'api', match: { verb: 'update' }, latencyMs: 600_000, times: 1, name: 'slow' });
    const client = new AbortController();
    const create = api(configmaps, {
      method: 'POST',
      body: configMap('held', 'prod', {}),
      signal: client.signal,
    });
    const update = api(`${configmaps}/slowly`, {
      method: 'PUT',
      body: configMap('slowly', 'prod', { late: 'yes' }),
      signal: client.signal,
    });
    await vi.waitFor(() => expect(t.faults.hits.map((h) => h.name).sort()).toEqual(['slow', 'stall']));
    client.abort();
    expect(await create).toEqual({ error: 'AbortError' });
    expect(await update).toEqual({ error: 'AbortError' });
    await vi.waitFor(() =>
      expect(
        t.audit.entries
          .filter((e) => e.fault)
          .map((e) => [e.fault?.name, e.status])
          .sort(),
      ).toEqual([
        ['slow', 0],
        ['stall', 0],
      ]),
    );
    expect(stored('held')).toBeUndefined();
    expect(stored('slowly')?.data).toEqual({});
  });

  it('stallAfterServe stores the write and never answers it', async () => {
    t.faults.add({ target: 'api', match: { verb: 'create' }, stallAfterServe: true, times: 1 });
    const client = new AbortController();
    const create = api(configmaps, {
      method: 'POST',
      body: configMap('unanswered', 'prod', {}),
      signal: client.signal,
    });
    await vi.waitFor(() => expect(t.audit.entries.map((e) => [e.verb, e.status])).toEqual([['create', 201]]));
    expect(stored('unanswered')).toBeDefined();
    client.abort();
    expect(await create).toEqual({ error: 'AbortError' });
  });

  it('refuses annotations over 256 KiB in total, as kube-apiserver does', async () => {
    const limit = 256 * 1024;
    const withAnnotations = (name: string, value: string) => ({
      ...configMap(name, 'prod', {}),
      metadata: { name, namespace: 'prod', annotations: { a: value } },
    });
    // Keys count: "a" plus a value one byte short of the limit fits exactly.
    expect(
      await api(configmaps, { method: 'POST', body: withAnnotations('at-limit', 'x'.repeat(limit - 1)) }),
    ).toMatchObject({ status: 201 });
    const over = await api(configmaps, { method: 'POST', body: withAnnotations('over', 'x'.repeat(limit)) });
    expect(over).toMatchObject({
      status: 422,
      json: {
        kind: 'Status',
        reason: 'Invalid',
        code: 422,
        message:
          'ConfigMap "over" is invalid: metadata.annotations: Too long: must have at most 262144 bytes',
        details: {
          causes: [
            {
              reason: 'FieldValueTooLong',
              message: 'Too long: must have at most 262144 bytes',
              field: 'metadata.annotations',
            },
          ],
        },
      },
    });
    expect(stored('over')).toBeUndefined();
    // Multi-byte characters count in bytes; a patch that grows past the limit is refused too.
    const grow = await api(`${configmaps}/at-limit`, {
      method: 'PATCH',
      body: { metadata: { annotations: { b: 'é' } } },
      contentType: 'application/merge-patch+json',
    });
    expect(grow).toMatchObject({ status: 422, json: { reason: 'Invalid' } });
    expect(Object.keys(stored('at-limit')?.metadata.annotations ?? {})).toEqual(['a']);
  });
});

describe('Slack and GitHub stand-ins', () => {
  const faults = new Faults();
  const audit = new AuditLog();
  let slack: SlackStandIn;
  let github: GitHubStandIn;

  beforeAll(async () => {
    [slack, github] = await Promise.all([
      startSlack({ faults, audit }),
      startGitHub({ faults, audit, repository: 'acme/shop' }),
    ]);
  });
  afterAll(async () => Promise.all([slack?.stop(), github?.stop()]));
  afterEach(() => faults.clear());

  const post = (text: string) =>
    attempt(new URL('/api/chat.postMessage', slack.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${slack.token}` },
      body: { channel: '#deploys', text },
    });

  it('dropAfterServe records the Slack message, then drops the connection', async () => {
    faults.add({ target: 'slack', match: { verb: 'chat.postMessage' }, dropAfterServe: true, times: 1 });
    faults.add({ target: 'slack', match: { verb: 'webhook' }, dropAfterServe: true, times: 1 });
    expect(await post('posted once')).toEqual(CONNECTION_LOST);
    const hook = await attempt(new URL(slack.webhookUrl), { method: 'POST', body: { text: 'hooked once' } });
    expect(hook).toEqual(CONNECTION_LOST);
    expect(slack.messages.filter((m) => m.text === 'posted once')).toHaveLength(1);
    expect(slack.messages.filter((m) => m.text === 'hooked once')).toHaveLength(1);
    expect(audit.entries.slice(-2).map((e) => [e.verb, e.status, e.fault?.kind])).toEqual([
      ['chat.postMessage', 200, 'dropAfterServe'],
      ['webhook', 200, 'dropAfterServe'],
    ]);
  });

  it('dropBeforeServe and stall post nothing', async () => {
    faults.add({ target: 'slack', match: { verb: 'chat.postMessage' }, dropBeforeServe: true, times: 1 });
    expect(await post('never posted')).toEqual(CONNECTION_LOST);
    faults.add({ target: 'slack', match: { verb: 'chat.postMessage' }, stall: true, times: 1 });
    const client = new AbortController();
    const stalled = attempt(new URL('/api/chat.postMessage', slack.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${slack.token}` },
      body: { channel: '#deploys', text: 'never posted' },
      signal: client.signal,
    });
    await vi.waitFor(() => expect(faults.hits.at(-1)?.kind).toBe('stall'));
    client.abort();
    expect(await stalled).toEqual({ error: 'AbortError' });
    await vi.waitFor(() =>
      expect(audit.entries.at(-1)).toMatchObject({ status: 0, fault: { kind: 'stall' } }),
    );
    expect(slack.messages.filter((m) => m.text === 'never posted')).toEqual([]);
    expect(await post('after the faults')).toMatchObject({ status: 200, json: { ok: true } });
  });

  it('dropAfterServe records the GitHub deployment status; armed only after the deployment was created', async () => {
    const call = (path: string, body: unknown) =>
      attempt(new URL(path, github.url), {
        method: 'POST',
        headers: { Authorization: `token ${github.token}` },
        body,
      });
    faults.add({
      target: 'github',
      match: { verb: 'repos/create-deployment-status' },
      after: { verb: 'repos/create-deployment' },
      dropAfterServe: true,
      times: 1,
    });
    const created = (await call('/repos/acme/shop/deployments', {
      ref: 'main',
      environment: 'staging',
      required_contexts: [],
    })) as Untyped;
    expect(created.status).toBe(201);
    const statuses = `/repos/acme/shop/deployments/${created.json.id}/statuses`;
    expect(await call(statuses, { state: 'in_progress' })).toEqual(CONNECTION_LOST);
    expect(await call(statuses, { state: 'success' })).toMatchObject({ status: 201 });
    const recorded = github.requests.filter((r) => r.operationId === 'repos/create-deployment-status');
    expect(recorded.map((r) => [(r.body as Untyped).state, r.status])).toEqual([
      ['in_progress', 201],
      ['success', 201],
    ]);
    expect(audit.entries.filter((e) => e.target === 'github').map((e) => e.fault?.kind)).toEqual([
      undefined,
      'dropAfterServe',
      undefined,
    ]);
  });
});

describe('Prometheus fault proxy', () => {
  const faults = new Faults();
  const audit = new AuditLog();
  let prometheus: RunningPrometheus;

  beforeAll(async () => {
    prometheus = await startPrometheus({ targets: ['127.0.0.1:9'], faults, audit });
  });
  afterAll(async () => prometheus?.stop());
  afterEach(() => faults.clear());

  const query = (signal?: AbortSignal) =>
    attempt(new URL('/api/v1/query?query=vector(1)&token=not-for-the-audit', prometheus.url), {
      method: 'GET',
      ...(signal ? { signal } : {}),
    });

  it('drops before or after answering, and stalls until the client leaves', async () => {
    faults.add({ target: 'prometheus', match: { verb: 'query' }, dropBeforeServe: true, times: 1 });
    faults.add({ target: 'prometheus', match: { verb: 'query' }, nth: 2, dropAfterServe: true });
    expect(await query()).toEqual(CONNECTION_LOST);
    expect(await query()).toEqual(CONNECTION_LOST);
    faults.add({ target: 'prometheus', stall: true, times: 1 });
    const client = new AbortController();
    const stalled = query(client.signal);
    await vi.waitFor(() => expect(faults.hits.at(-1)?.kind).toBe('stall'));
    client.abort();
    expect(await stalled).toEqual({ error: 'AbortError' });
    expect(await query()).toMatchObject({ status: 200, json: { status: 'success' } });
    await vi.waitFor(() => expect(audit.entries).toHaveLength(4));
    expect(audit.entries.map((e) => [e.path, e.status, e.fault?.kind])).toEqual([
      ['/api/v1/query', 0, 'dropBeforeServe'],
      ['/api/v1/query', 200, 'dropAfterServe'],
      ['/api/v1/query', 0, 'stall'],
      ['/api/v1/query', 200, undefined],
    ]);
  });
});

describe('stopping the sandbox', () => {
  it('releases every stall and long latency at once, and nothing keeps the process alive', async () => {
    const root = resolve(import.meta.dirname, '../../..');
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/sandbox/test/stall-child.ts'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // The child's stalls last 10 minutes; exiting well inside the test's timeout proves they
    // were released, timers included.
    const code = await new Promise<number | null>((done) => child.on('exit', (exit) => done(exit)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
    expect(report).toEqual({
      outcomes: {
        stalledCreate: 'ECONNRESET',
        slowCreateAbortedByClient: 'AbortError',
        unansweredCreate: 'ECONNRESET',
        stalledWatch: 'ECONNRESET',
        stalledSlack: 'ECONNRESET',
        slowGitHub: 'ECONNRESET',
      },
      storedConfigMaps: ['unanswered'],
      slackMessages: 0,
    });
  });
});
