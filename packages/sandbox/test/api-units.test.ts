/** Pure pieces of the API server, tested without a network. */
import { describe, expect, it } from 'vitest';
import { strategicMerge, mergePatch, type Json } from '../src/api/patch.js';
import { parseLabelSelector, parseFieldSelector } from '../src/api/selectors.js';
import { fromFieldsV1, leafPaths, toFieldsV1, displayPath } from '../src/api/managed-fields.js';
import { parseRequestInfo } from '../src/api/request-info.js';
import { humanDuration } from '../src/api/table.js';
import { applyDefaults } from '../src/api/defaults.js';
import type { KubeObject } from '../src/store.js';
import type { Untyped } from './api-helpers.js';

describe('strategic merge patch', () => {
  const live = {
    metadata: { finalizers: ['a', 'b'], labels: { x: '1', y: '2' } },
    spec: {
      containers: [
        { name: 'one', image: 'i1', volumeMounts: [{ name: 'v', mountPath: '/data' }] },
        { name: 'two', image: 'i2' },
      ],
      tolerations: [{ key: 'k1' }],
    },
  } as Json;

  it('merges keyed lists, replaces unkeyed ones and honours the directives', () => {
    const result = strategicMerge(
      live,
      {
        metadata: { finalizers: ['c'], labels: { y: null } },
        spec: {
          containers: [
            { name: 'two', image: 'i2b' },
            { name: 'three', image: 'i3' },
          ],
          tolerations: [{ key: 'k2' }],
        },
      },
      [],
      'Pod',
    ) as Untyped;
    expect(result.metadata).toEqual({ finalizers: ['a', 'b', 'c'], labels: { x: '1' } });
    expect(result.spec.containers.map((c: Untyped) => `${c.name}=${c.image}`)).toEqual([
      'one=i1',
      'two=i2b',
      'three=i3',
    ]);
    expect(result.spec.tolerations).toEqual([{ key: 'k2' }]);

    const ordered = strategicMerge(
      live,
      {
        metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] },
        spec: {
          '$setElementOrder/containers': [{ name: 'two' }, { name: 'one' }],
          containers: [{ name: 'one', image: 'x' }],
        },
      },
      [],
      'Pod',
    ) as Untyped;
    expect(ordered.metadata.finalizers).toEqual(['b']);
    expect(ordered.spec.containers.map((c: Untyped) => c.name)).toEqual(['two', 'one']);
    expect(ordered.spec.containers[1].volumeMounts).toEqual([{ name: 'v', mountPath: '/data' }]);

    const retained = strategicMerge(
      { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      {
        spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } },
      },
      [],
      'Deployment',
    ) as Untyped;
    expect(retained.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('keeps merge patch to RFC 7386', () => {
    expect(mergePatch({ a: [1, 2], b: { c: 1, d: 2 } }, { a: [3], b: { c: null } })).toEqual({
      a: [3],
      b: { d: 2 },
    });
  });
});

describe('selectors', () => {
  it('parses set-based label selectors and field selectors', () => {
    const select = parseLabelSelector('env in (prod,staging),tier!=db,!legacy,app')!;
    expect(select({ env: 'prod', app: 'x' })).toBe(true);
    expect(select({ env: 'prod', app: 'x', tier: 'db' })).toBe(false);
    expect(select({ env: 'dev', app: 'x' })).toBe(false);
    expect(select({ env: 'prod', app: 'x', legacy: '' })).toBe(false);
    expect(() => parseLabelSelector('a in b')).toThrow(/unable to parse/);
    const fields = parseFieldSelector('metadata.name!=a,status.phase=Running', 'Pod')!;
    expect(
      fields({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b' }, status: { phase: 'Running' } }),
    ).toBe(true);
    expect(() => parseFieldSelector('spec.replicas=1', 'Deployment')).toThrow(/not a known field selector/);
  });
});

describe('managed fields', () => {
  it('round-trips FieldsV1 and keys container lists by name', () => {
    const obj: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x', labels: { a: 'b' } },
      spec: { template: { spec: { containers: [{ name: 'web', image: 'i' }] } } },
      status: { replicas: 1 },
    };
    const paths = [...leafPaths(obj, 'Deployment').keys()];
    expect(paths.map(displayPath).sort()).toEqual([
      '.metadata.labels.a',
      '.spec.template.spec.containers[name="web"].image',
      '.spec.template.spec.containers[name="web"].name',
    ]);
    const fields = toFieldsV1(paths);
    expect(fields).toMatchObject({
      'f:spec': {
        'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {} } } } },
      },
    });
    expect([...fromFieldsV1(fields)].sort()).toEqual([...paths].sort());
  });
});

describe('request info', () => {
  it('tells namespaces from namespaced resources and finds verbs', () => {
    const q = new URLSearchParams();
    expect(parseRequestInfo('GET', '/api/v1/namespaces/prod', q)).toMatchObject({
      verb: 'get',
      name: 'prod',
      namespace: 'prod',
    });
    expect(parseRequestInfo('GET', '/api/v1/namespaces/prod/pods', q)).toMatchObject({
      verb: 'list',
      namespace: 'prod',
    });
    expect(parseRequestInfo('PUT', '/api/v1/namespaces/prod/status', q)).toMatchObject({
      verb: 'update',
      subresource: 'status',
    });
    expect(parseRequestInfo('GET', '/apis/apps/v1/watch/namespaces/prod/deployments/web', q)).toMatchObject({
      verb: 'watch',
      name: 'web',
    });
    expect(parseRequestInfo('DELETE', '/api/v1/namespaces/prod/configmaps', q)).toMatchObject({
      verb: 'deletecollection',
    });
    expect(parseRequestInfo('GET', '/api/v1/namespaces/p/services/web:http/proxy/a/b/', q)).toMatchObject({
      subresource: 'proxy',
      name: 'web:http',
      proxyPath: '/a/b/',
    });
    expect(parseRequestInfo('GET', '/apis/example.com/v1/things', q)).toMatchObject({ kind: 'unknown' });
  });
});

describe('defaults and printing', () => {
  it('folds Secret stringData into data and prints ages as kubectl does', () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's' },
      stringData: { token: 'abc' },
    };
    applyDefaults(secret);
    expect(secret).toMatchObject({ data: { token: 'YWJj' }, type: 'Opaque' });
    expect(secret.stringData).toBeUndefined();
    expect([5_000, 150_000, 3_600_000, 90_000_000].map(humanDuration)).toEqual(['5s', '2m30s', '60m', '25h']);
  });
});
