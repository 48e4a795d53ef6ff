import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../manifests/manifests.js';
import { httpRouteCodec } from './gateway-api.js';
import { virtualServiceCodec } from './istio.js';
import { describeWeights, forReplace, sameWeights, soleTarget } from './router.js';
import { readySlicePods, serviceWeights } from './service.js';

const vs = (http: unknown[]): KubeObject => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'web', resourceVersion: '7' },
  spec: { hosts: ['web'], http },
});

describe('router weights', () => {
  it('finds the sole target of 0/100 weights and nothing for a split', () => {
    expect(soleTarget({ blue: 100, green: 0 })).toBe('blue');
    expect(soleTarget({ blue: 90, green: 10 })).toBeUndefined();
    expect(soleTarget({})).toBeUndefined();
    expect(sameWeights({ blue: 100 }, { blue: 100, green: 0 })).toBe(true);
    expect(sameWeights({ blue: 100 }, { green: 100 })).toBe(false);
    expect(describeWeights({ blue: 100, green: 0 })).toBe('blue 100%, green 0%');
  });

  it('keeps the resourceVersion precondition and drops server fields for a PUT', () => {
    const body = forReplace(
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', managedFields: [] }, status: {} },
      '42',
    );
    expect(body.metadata).toEqual({ name: 'web', resourceVersion: '42' });
    expect(body).not.toHaveProperty('status');
  });

  it('reads the colour from a Service selector and the ready pods from an EndpointSlice', () => {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web', version: 'green' } },
    };
    expect(serviceWeights(svc, 'version')).toEqual({ green: 100 });
    expect(serviceWeights(svc, 'color')).toEqual({});
    expect(
      readySlicePods({
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'web-x1' },
        endpoints: [
          { conditions: { ready: true }, targetRef: { name: 'a' } },
          { targetRef: { name: 'b' } }, // no conditions: ready, per the API
          { conditions: { ready: false }, targetRef: { name: 'terminating' } },
        ],
      }),
    ).toEqual(['a', 'b']);
  });

  it('reads and writes VirtualService subset weights, adding a missing subset', () => {
    const object = vs([{ route: [{ destination: { host: 'web', subset: 'blue' } }] }]);
    expect(virtualServiceCodec.read(object)).toEqual({ blue: 100 });
    const written = virtualServiceCodec.write(structuredClone(object), { green: 100, blue: 0 });
    expect(virtualServiceCodec.read(written)).toEqual({ blue: 0, green: 100 });
    expect((written.spec as { http: { route: unknown[] }[] }).http[0]!.route).toContainEqual({
      destination: { host: 'web', subset: 'green' },
      weight: 100,
    });
    expect(() => virtualServiceCodec.write(vs([]), { green: 100 })).toThrow(/no http route to subsets/);
  });

  it('reads and writes HTTPRoute backendRef weights of the per-colour Services', () => {
    const codec = httpRouteCodec('web');
    const route: KubeObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'web' },
      spec: { rules: [{ backendRefs: [{ name: 'web-blue', port: 80 }] }] },
    };
    expect(codec.read(route)).toEqual({ blue: 100 });
    const written = codec.write(structuredClone(route), { blue: 0, green: 100 });
    expect(codec.read(written)).toEqual({ blue: 0, green: 100 });
    expect((written.spec as { rules: { backendRefs: unknown[] }[] }).rules[0]!.backendRefs).toContainEqual({
      name: 'web-green',
      port: 80,
      weight: 100,
    });
  });
});
