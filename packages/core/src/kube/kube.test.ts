import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createKube,
  decodeKubeconfigInput,
  kubeCall,
  KubeConfigError,
  kubeconfigSecrets,
  serverWarnings,
  type Kube,
} from './kube.js';
import { isConflict, isNotFound, KubeApiError, KubeConnectionError } from './errors.js';
import {
  buildKubeconfig,
  sendJson,
  sendStatus,
  startFakeKubeApi,
  type FakeKubeApi,
} from '../testing/fake-kube-api.js';

let api: FakeKubeApi;
let scratch: string;
let masked: string[];
const kubes: Kube[] = [];

beforeAll(async () => {
  api = await startFakeKubeApi();
  scratch = await mkdtemp(join(tmpdir(), 'kube-test-'));
});
afterAll(async () => {
  await api.close();
  await rm(scratch, { recursive: true, force: true });
});
beforeEach(() => {
  masked = [];
  api.requests = [];
});
afterEach(async () => {});

/** An HTTPS server whose certificate no CA vouches for, as a wrong server URL would meet. */
async function startTlsServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
  });
  const server = createHttpsServer({ key: pems.private, cert: pems.cert }, (_req, res) => res.end('{}'));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/** No KUBECONFIG, an empty home: only the input counts. */
function deps(env: NodeJS.ProcessEnv = {}) {
  return { env, homeDir: join(scratch, 'no-home'), setSecret: (s: string) => masked.push(s) };
}

async function kube(settings: Parameters<typeof createKube>[0], env: NodeJS.ProcessEnv = {}): Promise<Kube> {
  const k = await createKube(settings, deps(env));
  kubes.push(k);
  return k;
}

async function configError(promise: Promise<unknown>): Promise<KubeConfigError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeConfigError);
  return err as KubeConfigError;
}

describe('kubeconfig input', () => {
  it('loads YAML, selects the current context and its namespace, and masks the token', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    expect(k.context).toBe('test');
    expect(k.namespace).toBe('shop');
    expect(k.server).toBe(api.url);
    expect(masked).toContain('sekret-token-0123456789');
    expect(masked).toContain('token: sekret-token-0123456789');
    // Masking ordinary lines would star them out of every log line that happens to contain them.
    expect(masked).not.toContain('kind: Config');
  });

  it('loads base64 of YAML and masks the encoded input too', async () => {
    const encoded = Buffer.from(buildKubeconfig(api.url)).toString('base64');
    const k = await kube({ kubeconfig: encoded, namespace: 'other' });
    expect(k.context).toBe('test');
    expect(k.namespace).toBe('other');
    expect(masked).toContain(encoded);
    expect(masked).toContain('sekret-token-0123456789');
  });

  it('accepts base64 wrapped over several lines', () => {
    const encoded = Buffer.from(buildKubeconfig(api.url)).toString('base64');
    const wrapped = encoded.replace(/(.{60})/g, '$1\n');
    expect(decodeKubeconfigInput(wrapped)).toBe(buildKubeconfig(api.url).trim());
  });

  it('rejects garbage, naming the input and the accepted form', async () => {
    const err = await configError(createKube({ kubeconfig: 'not a kubeconfig at all' }, deps()));
    expect(err.input).toBe('kubeconfig');
    expect(err.message).toContain('Input `kubeconfig`');
    expect(err.message).toContain('Accepted: a kubeconfig YAML document');
  });

  it('rejects base64 that decodes to binary', async () => {
    const err = await configError(
      createKube({ kubeconfig: Buffer.from([0xff, 0xfe, 0x00, 0x81]).toString('base64') }, deps()),
    );
    expect(err.message).toContain('does not decode to a kubeconfig');
  });

  it('does not echo a broken document (it may hold secrets) in the error', async () => {
    const broken = 'users:\n- name: x\n  user:\n    token: hunter2-hunter2\nclusters: [';
    const err = await configError(createKube({ kubeconfig: broken }, deps()));
    expect(err.message).toContain('is not a valid kubeconfig');
    expect(err.message).not.toContain('hunter2');
    expect(masked).toContain('hunter2-hunter2');
  });

  it('rejects a context the kubeconfig does not define, listing those it does', async () => {
    const yaml = buildKubeconfig(api.url, { contexts: [{ name: 'staging' }, { name: 'dev' }] });
    const err = await configError(createKube({ kubeconfig: yaml, context: 'prod' }, deps()));
    expect(err.input).toBe('context');
    expect(err.message).toContain('Input `context`: "prod" is not a context');
    expect(err.message).toContain('Accepted: one of the contexts it defines: "staging", "dev"');
  });

  it('names an exec credential plugin that is not installed, before any API call', async () => {
    const withExec = (command: string): string =>
      buildKubeconfig(api.url).replace(
        '    token: sekret-token-0123456789',
        `    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: ${command}\n      args: [eks, get-token]`,
      );
    const err = await configError(
      createKube({ kubeconfig: withExec('aws-not-installed') }, deps({ PATH: '/usr/bin:/bin' })),
    );
    expect(err.input).toBe('kubeconfig');
    expect(err.message).toBe(
      'Input `kubeconfig`: user "robot" of context "test" gets its credentials by running "aws-not-installed", which is not installed on this runner (not on PATH). Install it in an earlier step, or give a kubeconfig whose user has a token or a client certificate.',
    );
    expect(api.requests).toHaveLength(0);
    // A plugin that is on PATH passes the check (`sh` stands in for aws).
    await expect(kube({ kubeconfig: withExec('sh') }, { PATH: '/usr/bin:/bin' })).resolves.toBeDefined();
  });

  it('refuses a legacy auth-provider with a cmd-path (client-node would run it through a shell), before any API call', async () => {
    const withProvider = buildKubeconfig(api.url).replace(
      '    token: sekret-token-0123456789',
      "    auth-provider:\n      name: gcp\n      config:\n        cmd-path: 'gcloud; touch /tmp/pwned'\n        cmd-args: config config-helper",
    );
    const err = await configError(createKube({ kubeconfig: withProvider }, deps()));
    expect(err.input).toBe('kubeconfig');
    expect(err.message).toContain('uses the legacy auth-provider "gcp" with a cmd-path');
    expect(err.message).toContain('Accepted: a token, a client certificate, or an exec credential plugin');
    expect(api.requests).toHaveLength(0);
  });

  it('selects the context given and defaults the namespace', async () => {
    const yaml = buildKubeconfig(api.url, {
      contexts: [{ name: 'staging', namespace: 'stg' }, { name: 'dev' }],
    });
    const k = await kube({ kubeconfig: yaml, context: 'dev' });
    expect(k.context).toBe('dev');
    expect(k.namespace).toBe('default');
    expect(k.kc.getCurrentContext()).toBe('dev');
  });

  it('falls back to KUBECONFIG, then fails with what to do when nothing is configured', async () => {
    const path = join(scratch, 'config-from-env');
    await writeFile(path, buildKubeconfig(api.url, { contexts: [{ name: 'from-env' }] }));
    const k = await kube({}, { KUBECONFIG: path });
    expect(k.context).toBe('from-env');

    const err = await configError(createKube({}, deps()));
    expect(err.message).toContain('No kubeconfig found');
    expect(err.message).toContain('Set the `kubeconfig` input');
  });

  it('lists the sensitive lines of a kubeconfig', () => {
    const secrets = kubeconfigSecrets('users:\n- user:\n    client-key-data: QUJDREVG\n    username: me\n');
    expect(secrets).toContain('QUJDREVG');
    expect(secrets).toContain('client-key-data: QUJDREVG');
    expect(secrets).not.toContain('me');
  });
});

describe('serverWarnings', () => {
  it('reads the quoted texts of one or several Warning headers', () => {
    expect(serverWarnings(undefined)).toEqual([]);
    expect(serverWarnings('299 - "a, b"')).toEqual(['a, b']);
    expect(serverWarnings('299 - "one", 299 - "field \\"x\\" dropped"')).toEqual([
      'one',
      'field "x" dropped',
    ]);
  });
});

describe('kubeCall against the API', () => {
  const fast = { baseDelayMs: 1, maxDelayMs: 5 };
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', resourceVersion: '7' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [] } } },
  };

  it('sends the bearer token and reads an object', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    api.handler = (_req, res) => sendJson(res, 200, deployment);
    const got = await kubeCall(
      { verb: 'get', kind: 'deployments.apps', namespace: 'shop', name: 'web' },
      (signal) =>
        k.request<typeof deployment>({
          method: 'GET',
          path: '/apis/apps/v1/namespaces/shop/deployments/web',
          signal,
        }),
    );
    expect(got.metadata?.resourceVersion).toBe('7');
    expect(api.requests[0]?.path).toBe('/apis/apps/v1/namespaces/shop/deployments/web');
    expect(api.requests[0]?.headers.authorization).toBe('Bearer sekret-token-0123456789');
  });

  it('passes each distinct API server warning on once, as kubectl prints them', async () => {
    const warnings: string[] = [];
    const k = await createKube(
      { kubeconfig: buildKubeconfig(api.url) },
      { ...deps(), warn: (m) => warnings.push(m) },
    );
    kubes.push(k);
    api.handler = (_req, res) => {
      res.setHeader('Warning', [
        '299 - "v1 Endpoints is deprecated in v1.33+"',
        '299 - "unknown field \\"spec.replica\\""',
      ]);
      sendJson(res, 200, deployment);
    };
    for (let i = 0; i < 2; i++)
      await k.request({ method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/web' });
    expect(warnings).toEqual([
      'Kubernetes API: v1 Endpoints is deprecated in v1.33+',
      'Kubernetes API: unknown field "spec.replica"',
    ]);
  });

  it('turns a 409 into a KubeApiError naming verb, kind, object, status and reason, without retrying', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    const message =
      'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again';
    api.handler = (_req, res) => sendStatus(res, 409, 'Conflict', message);
    const err = await kubeCall(
      { verb: 'patch', kind: 'deployments.apps', namespace: 'shop', name: 'web' },
      (signal) =>
        k.request({
          method: 'PATCH',
          path: '/apis/apps/v1/namespaces/shop/deployments/web',
          body: { spec: { replicas: 2 } },
          contentType: 'application/merge-patch+json',
          signal,
        }),
      fast,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    const e = err as KubeApiError;
    expect(e.message).toBe(`patch deployments.apps shop/web failed: 409 Conflict: ${message}`);
    expect(e).toMatchObject({ status: 409, reason: 'Conflict', verb: 'patch', kind: 'deployments.apps' });
    expect(e.namespace).toBe('shop');
    expect(e.objectName).toBe('web');
    expect(isConflict(e)).toBe(true);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]?.headers['content-type']).toBe('application/merge-patch+json');
  });

  it('reports a 404 with its Status reason', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    api.handler = (_req, res) => sendStatus(res, 404, 'NotFound', 'deployments.apps "gone" not found');
    const err = await kubeCall(
      { verb: 'get', kind: 'deployments.apps', namespace: 'shop', name: 'gone' },
      (signal) =>
        k.request<typeof deployment>({
          method: 'GET',
          path: '/apis/apps/v1/namespaces/shop/deployments/gone',
          signal,
        }),
    ).catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toBe(
      'get deployments.apps shop/gone failed: 404 NotFound: deployments.apps "gone" not found',
    );
    expect(api.requests).toHaveLength(1);
  });

  it('tells what to do on 403', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    api.handler = (_req, res) => sendStatus(res, 403, 'Forbidden', 'leases is forbidden');
    const err = await kubeCall(
      { verb: 'create', kind: 'leases.coordination.k8s.io', namespace: 'shop' },
      () =>
        k.request({ method: 'POST', path: '/apis/coordination.k8s.io/v1/namespaces/shop/leases', body: {} }),
    ).catch((e: unknown) => e);
    expect((err as Error).message).toContain('403 Forbidden: leases is forbidden');
    expect((err as Error).message).toContain(
      'grant the identity RBAC permission to create leases.coordination.k8s.io in namespace shop',
    );
  });

  it('retries a read on 503 and on 429, honouring Retry-After', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    const answered: number[] = [];
    api.handler = (_req, res) => {
      const n = api.requests.length;
      if (n === 1) return sendStatus(res, 503, 'ServiceUnavailable', 'etcd leader changed');
      if (n === 2) return sendStatus(res, 429, 'TooManyRequests', 'slow down', { 'retry-after': '1' });
      answered.push(Date.now());
      sendJson(res, 200, deployment);
    };
    const started = Date.now();
    const delays: number[] = [];
    const got = await kubeCall(
      { verb: 'get', kind: 'deployments.apps', namespace: 'shop', name: 'web' },
      (signal) =>
        k.request<typeof deployment>({
          method: 'GET',
          path: '/apis/apps/v1/namespaces/shop/deployments/web',
          signal,
        }),
      { ...fast, onRetry: (i) => delays.push(i.delayMs) },
    );
    expect(got.metadata?.name).toBe('web');
    expect(api.requests).toHaveLength(3);
    expect(delays[1]).toBe(1000);
    expect((answered[0] ?? 0) - started).toBeGreaterThanOrEqual(1000);
  });

  it('retries a write on 429 but not on 503 or 422', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    const create = () =>
      kubeCall(
        { verb: 'create', kind: 'configmaps', namespace: 'shop', name: 'h' },
        (signal) =>
          k.request({
            method: 'POST',
            path: '/api/v1/namespaces/shop/configmaps',
            body: { data: {} },
            signal,
          }),
        fast,
      );

    api.handler = (_req, res) =>
      api.requests.length === 1
        ? sendStatus(res, 429, 'TooManyRequests', 'throttled', { 'retry-after': '0' })
        : sendJson(res, 201, { kind: 'ConfigMap' });
    await expect(create()).resolves.toEqual({ kind: 'ConfigMap' });
    expect(api.requests).toHaveLength(2);

    api.requests = [];
    api.handler = (_req, res) => sendStatus(res, 503, 'ServiceUnavailable', 'maybe written');
    await expect(create()).rejects.toMatchObject({ status: 503 });
    expect(api.requests).toHaveLength(1);

    api.requests = [];
    api.handler = (_req, res) =>
      sendStatus(res, 422, 'Invalid', 'ConfigMap "h" is invalid: data[bad key]: Invalid value');
    const err = await create().catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'create configmaps shop/h failed: 422 Invalid: ConfigMap "h" is invalid: data[bad key]: Invalid value',
    );
    expect(api.requests).toHaveLength(1);
  });

  it('names the network failure when the server is gone', async () => {
    const closed = await startFakeKubeApi();
    const url = closed.url;
    await closed.close();
    const k = await kube({ kubeconfig: buildKubeconfig(url) });
    const err = await kubeCall(
      { verb: 'list', kind: 'pods', namespace: 'shop' },
      (signal) => k.request({ method: 'GET', path: '/api/v1/namespaces/shop/pods', signal }),
      { ...fast, maxAttempts: 2 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).reason).toBe('ECONNREFUSED');
    expect((err as Error).message).toBe(
      `list pods shop/* failed: cannot reach the Kubernetes API server at ${url} (ECONNREFUSED: nothing accepts connections there). Next: check the server URL of the cluster in the kubeconfig input, that the context input selects the right cluster, and that the runner can reach it over the network (VPN, firewall, private endpoint)`,
    );
  });

  it('names a certificate the kubeconfig does not trust', async () => {
    const tls = await startTlsServer();
    try {
      const k = await kube({ kubeconfig: buildKubeconfig(tls.url) });
      const err = await kubeCall(
        { verb: 'get', kind: 'deployments.apps', namespace: 'shop', name: 'web' },
        (signal) =>
          k.request({ method: 'GET', path: '/apis/apps/v1/namespaces/shop/deployments/web', signal }),
        { ...fast, maxAttempts: 2 },
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^get deployments\\.apps shop/web failed: cannot reach the Kubernetes API server at ${tls.url.replace(/[.]/g, '\\.')} \\(certificate error [A-Z_]+: the server's certificate is not one the kubeconfig trusts\\)\\. Next: check the cluster's certificate-authority-data`,
        ),
      );
    } finally {
      await tls.close();
    }
  });

  it('leaves a cancelled request a cancel, not an unreachable server', async () => {
    const k = await kube({ kubeconfig: buildKubeconfig(api.url) });
    api.handler = () => undefined; // never answers
    const controller = new AbortController();
    const pending = k.request({ method: 'GET', path: '/api/v1/namespaces', signal: controller.signal });
    controller.abort(new Error('cancelled by SIGINT'));
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(KubeConnectionError);
  });
});
