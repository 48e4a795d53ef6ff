import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  describeTarget,
  isAlreadyExists,
  isNotFound,
  KubeApiError,
  KubeConnectionError,
  parseStatusBody,
} from './errors.js';
import { RetryDeadlineError } from '../net/retry.js';

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

/** What undici's fetch throws when no answer came: "fetch failed" with the system error as cause. */
function fetchFailed(code: string): Error {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code}`), { code }) });
}

describe('an API server that gives no answer', () => {
  const list = { verb: 'list', kind: 'horizontalpodautoscalers.autoscaling', namespace: 'shop' };
  const server = 'https://robot:hunter2@api.example.test:6443/?token=abc123';

  it('says the server cannot be reached, at which URL (redacted), why, and what to check', () => {
    const err = new KubeApiError(list, new KubeConnectionError(server, fetchFailed('ENOTFOUND')));
    expect(err.message).toBe(
      'list horizontalpodautoscalers.autoscaling shop/* failed: cannot reach the Kubernetes API server at https://api.example.test:6443/ (ENOTFOUND: the host name does not resolve). Next: check the server URL of the cluster in the kubeconfig input, that the context input selects the right cluster, and that the runner can reach it over the network (VPN, firewall, private endpoint)',
    );
    expect(err.reason).toBe('ENOTFOUND');
    expect(err.status).toBeUndefined();
    expect(err.message).not.toMatch(/hunter2|abc123|fetch failed/);
  });

  it('keeps the last failure of a call the retry deadline ended', () => {
    const last = new KubeConnectionError(server, fetchFailed('ECONNREFUSED'));
    const err = new KubeApiError(
      list,
      new RetryDeadlineError('gave up after 3 attempt(s)', 3, { cause: last }),
    );
    expect(err.message).toMatch(
      /^list horizontalpodautoscalers\.autoscaling shop\/\* failed: cannot reach the Kubernetes API server at https:\/\/api\.example\.test:6443\/ \(ECONNREFUSED: nothing accepts connections there\): \(gave up after 3 attempt\(s\)\)\. Next: check the server URL/,
    );
    expect(err.reason).toBe('ECONNREFUSED');
  });

  it('names a certificate the kubeconfig does not trust', () => {
    const err = new KubeApiError(
      list,
      new KubeConnectionError(server, fetchFailed('SELF_SIGNED_CERT_IN_CHAIN')),
    );
    expect(err.message).toContain(
      "cannot reach the Kubernetes API server at https://api.example.test:6443/ (certificate error SELF_SIGNED_CERT_IN_CHAIN: the server's certificate is not one the kubeconfig trusts). Next: check the cluster's certificate-authority-data",
    );
  });

  it('does not claim the server was never reached when a connection dropped mid-request', () => {
    const err = new KubeApiError(
      { verb: 'patch', kind: 'services', namespace: 'shop', name: 'web' },
      new KubeConnectionError(server, fetchFailed('ECONNRESET')),
    );
    expect(err.message).toBe(
      'patch services shop/web failed: the connection to the Kubernetes API server at https://api.example.test:6443/ failed before it answered (ECONNRESET)',
    );
    expect(err.reason).toBe('ECONNRESET');
  });
});

describe('start-up cost', () => {
  // Actions import core modules before validating inputs; client-node (~130 ms) and axios must only
  // be loaded on demand, with `await import()`. Type-only imports are erased and fine.
  it.each(['kube.ts', 'errors.ts', 'watch.ts', '../net/retry.ts', '../net/http.ts', '../runner/report.ts'])(
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
