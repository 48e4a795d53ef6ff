import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { describeTarget, isAlreadyExists, isNotFound, KubeApiError, parseStatusBody } from './kube-errors.js';
import { RetryDeadlineError } from './retry.js';

const target = { verb: 'patch', kind: 'deployments.apps', namespace: 'shop', name: 'web' };

function apiException(code: number, body: unknown): Error {
  return Object.assign(new Error(`HTTP-Code: ${code}`), { code, body, headers: {} });
}

describe('KubeApiError', () => {
  it('reads the Status body whether client-node hands it over as a JSON string or an object', () => {
    const status = {
      kind: 'Status',
      code: 409,
      reason: 'AlreadyExists',
      message: 'leases "lock" already exists',
    };
    for (const body of [JSON.stringify(status), status]) {
      const err = new KubeApiError({ ...target, verb: 'create' }, apiException(409, body));
      expect(err.message).toBe(
        'create deployments.apps shop/web failed: 409 AlreadyExists: leases "lock" already exists',
      );
      expect(isAlreadyExists(err)).toBe(true);
    }
  });

  it('falls back to the HTTP status text when the body is empty (client-node drops 401 bodies)', () => {
    const err = new KubeApiError(
      { verb: 'list', kind: 'pods', namespace: 'shop' },
      apiException(401, undefined),
    );
    expect(err.message).toBe(
      'list pods shop/* failed: 401 Unauthorized. Next: the cluster rejected the credentials; check the kubeconfig user (token or client certificate)',
    );
    expect(err.status).toBe(401);
    expect(err.reason).toBeUndefined();
  });

  it('keeps a non-JSON body as the message', () => {
    const err = new KubeApiError(target, apiException(502, 'upstream connect error\n'));
    expect(err.message).toBe(
      'patch deployments.apps shop/web failed: 502 Bad Gateway: upstream connect error',
    );
  });

  it('names the last failure when the retry deadline ended the call', () => {
    const last = apiException(503, { reason: 'ServiceUnavailable', message: 'etcd timeout' });
    const err = new KubeApiError(
      target,
      new RetryDeadlineError('gave up after 4 attempt(s)', 4, { cause: last }),
    );
    expect(err.message).toBe(
      'patch deployments.apps shop/web failed: 503 ServiceUnavailable: etcd timeout: (gave up after 4 attempt(s))',
    );
    expect(err.status).toBe(503);
  });

  it('names cluster-scoped objects without a namespace', () => {
    expect(describeTarget({ verb: 'get', kind: 'namespaces', name: 'shop' })).toBe('get namespaces shop');
    expect(isNotFound(apiException(404, ''))).toBe(true);
  });

  it('parses Status bodies defensively', () => {
    expect(parseStatusBody('')).toBeUndefined();
    expect(parseStatusBody('null')).toBeUndefined();
    expect(parseStatusBody({ reason: 'Invalid', code: 422 })).toEqual({ reason: 'Invalid', code: 422 });
  });
});

describe('start-up cost', () => {
  // Actions import core modules before validating inputs; client-node (~130 ms) and axios must only
  // be loaded on demand, with `await import()`. Type-only imports are erased and fine.
  it.each(['kube.ts', 'kube-errors.ts', 'watch.ts', 'retry.ts', 'http.ts', 'report.ts'])(
    '%s has no value import of client-node or axios',
    async (file) => {
      const source = await readFile(new URL(`./${file}`, import.meta.url), 'utf8');
      const valueImports = source.match(
        /^import\s+(?!type\b)[^;]*?from\s+'(@kubernetes\/client-node|axios)'/gm,
      );
      expect(valueImports).toBeNull();
    },
  );
});
