import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../manifests/manifests.js';
import { HEADER_ROUTE_ANNOTATION, httpRouteCodec } from './gateway-api.js';
import { HEADER_RULE, virtualServiceCodec } from './istio.js';
import {
  describeHeaderRoute,
  describeWeights,
  forReplace,
  sameWeights,
  soleTarget,
  type HeaderRoute,
  type Weights,
} from './router.js';
import type { WeightCodec } from './weighted.js';
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

  it('describes a header route in the form the header-route input takes', () => {
    expect(describeHeaderRoute({ header: 'canary', match: 'exact', value: 'true', to: 'canary' })).toBe(
      'canary=true → canary',
    );
    expect(describeHeaderRoute({ header: 'x-user', match: 'prefix', value: 'beta-', to: 'canary' })).toBe(
      'x-user^=beta- → canary',
    );
    expect(
      describeHeaderRoute({ header: 'x-user', match: 'regex', value: '^(alice|bob)$', to: 'canary' }),
    ).toBe('x-user=~^(alice|bob)$ → canary');
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
    expect(virtualServiceCodec().read(object)).toEqual({ blue: 100 });
    const written = virtualServiceCodec().write(structuredClone(object), { green: 100, blue: 0 });
    expect(virtualServiceCodec().read(written)).toEqual({ blue: 0, green: 100 });
    expect((written.spec as { http: { route: unknown[] }[] }).http[0]!.route).toContainEqual({
      destination: { host: 'web', subset: 'green' },
      weight: 100,
    });
    expect(() => virtualServiceCodec().write(vs([]), { green: 100 })).toThrow(
      /no http route without a match that sends to DestinationRule subsets/,
    );
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

type Rule = Record<string, unknown>;

const httpRoute = (rules: Rule[], annotations?: Record<string, string>): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', resourceVersion: '7', ...(annotations ? { annotations } : {}) },
  spec: { parentRefs: [{ name: 'gateway' }], rules },
});

/**
 * One way a route object splits traffic, with the rules a test needs: the user's own
 * header-matched test rule, the weighted rule (all on `from`), and the rule cd-actions adds for
 * the header route `canary: true` → `to`.
 */
interface Plane {
  name: string;
  codec: () => WeightCodec;
  object: (rules: Rule[]) => KubeObject;
  rules: (object: KubeObject) => Rule[];
  from: string;
  to: string;
  testers: Rule;
  weighted: Rule;
  managed: Rule;
}

const istioRules = (object: KubeObject): Rule[] => (object.spec as { http: Rule[] }).http;
const gatewayRules = (object: KubeObject): Rule[] => (object.spec as { rules: Rule[] }).rules;

const PLANES: Plane[] = [
  {
    name: 'Istio subsets',
    codec: () => virtualServiceCodec(),
    object: vs,
    rules: istioRules,
    from: 'blue',
    to: 'green',
    testers: {
      name: 'testers',
      match: [{ headers: { 'x-test': { exact: '1' } } }],
      route: [{ destination: { host: 'web', subset: 'green' } }],
    },
    weighted: {
      route: [{ destination: { host: 'web', subset: 'blue', port: { number: 80 } }, weight: 100 }],
    },
    managed: {
      name: HEADER_RULE,
      match: [{ headers: { canary: { exact: 'true' } } }],
      route: [{ destination: { host: 'web', subset: 'green', port: { number: 80 } }, weight: 100 }],
    },
  },
  {
    name: 'Istio hosts',
    codec: () => virtualServiceCodec({ hostVersions: { web: 'stable', 'web-canary': 'canary' } }),
    object: vs,
    rules: istioRules,
    from: 'stable',
    to: 'canary',
    testers: {
      match: [{ headers: { 'x-test': { exact: '1' } } }],
      route: [{ destination: { host: 'web-canary.shop.svc.cluster.local' } }],
    },
    weighted: { route: [{ destination: { host: 'web.shop.svc.cluster.local' }, weight: 100 }] },
    managed: {
      name: HEADER_RULE,
      match: [{ headers: { canary: { exact: 'true' } } }],
      route: [{ destination: { host: 'web-canary.shop.svc.cluster.local' }, weight: 100 }],
    },
  },
  {
    name: 'HTTPRoute canary Services',
    codec: () => httpRouteCodec('web', { web: 'stable', 'web-canary': 'canary' }),
    object: (rules) => httpRoute(rules),
    rules: gatewayRules,
    from: 'stable',
    to: 'canary',
    testers: {
      matches: [{ headers: [{ type: 'Exact', name: 'x-test', value: '1' }] }],
      backendRefs: [{ name: 'web-canary', port: 80 }],
    },
    weighted: {
      matches: [{ path: { type: 'PathPrefix', value: '/' } }],
      backendRefs: [{ name: 'web', port: 80, weight: 100 }],
    },
    managed: {
      matches: [
        {
          path: { type: 'PathPrefix', value: '/' },
          headers: [{ type: 'Exact', name: 'canary', value: 'true' }],
        },
      ],
      backendRefs: [{ name: 'web-canary', port: 80, weight: 1 }],
    },
  },
  {
    name: 'HTTPRoute colour Services',
    codec: () => httpRouteCodec('web'),
    object: (rules) => httpRoute(rules),
    rules: gatewayRules,
    from: 'blue',
    to: 'green',
    testers: {
      matches: [{ headers: [{ type: 'Exact', name: 'x-test', value: '1' }] }],
      backendRefs: [{ name: 'web-green', port: 8080 }],
    },
    weighted: { backendRefs: [{ name: 'web-blue', port: 8080, weight: 100 }] },
    managed: {
      matches: [{ headers: [{ type: 'Exact', name: 'canary', value: 'true' }] }],
      backendRefs: [{ name: 'web-green', port: 8080, weight: 1 }],
    },
  },
];

/**
 * A custom resource as the API server answers it: stored as unstructured JSON and encoded by Go's
 * encoding/json, so every object's keys come back in sorted order, whatever order they were sent in.
 */
function asServerStores(object: KubeObject): KubeObject {
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
          )
        : value;
  return sorted(object) as KubeObject;
}

function write(plane: Plane, object: KubeObject, weights: Weights, header?: HeaderRoute | null): KubeObject {
  return plane.codec().write(structuredClone(object), weights, header);
}

describe.each(PLANES)('$name codec: rules that are not cd-actions’ own', (plane) => {
  const header: HeaderRoute = { header: 'canary', match: 'exact', value: 'true', to: plane.to };
  const start = (): KubeObject => plane.object([plane.testers, plane.weighted]);

  it.each([
    ['a switch', { [plane.from]: 0, [plane.to]: 100 }],
    ['a split', { [plane.from]: 90, [plane.to]: 10 }],
    ['all back', { [plane.from]: 100, [plane.to]: 0 }],
  ])('leaves the user’s header-matched test rule byte for byte on %s', (_what, weights) => {
    const before = JSON.stringify(plane.testers);
    const object = write(plane, start(), weights);
    expect(plane.codec().read(object)).toEqual(weights);
    expect(JSON.stringify(plane.rules(object)[0])).toBe(before);
    // Adding and removing the managed header route on the way does not touch it either.
    const withHeader = write(plane, object, weights, header);
    expect(JSON.stringify(plane.rules(withHeader)[0])).toBe(before);
    const without = write(plane, withHeader, weights, null);
    expect(JSON.stringify(plane.rules(without)[0])).toBe(before);
    expect(plane.rules(without)).toHaveLength(2);
    // The test rule is not a header route cd-actions manages.
    expect(plane.codec().readHeader(object)).toBeUndefined();
  });

  it('adds the header route just above the weighted rule, leaves it on undefined, removes it on null', () => {
    const split = { [plane.from]: 90, [plane.to]: 10 };
    const added = write(plane, start(), split, header);
    expect(plane.rules(added)).toEqual([plane.testers, plane.managed, expect.any(Object)]);
    expect(plane.codec().readHeader(added)).toEqual(header);

    const kept = write(plane, added, { [plane.from]: 75, [plane.to]: 25 });
    expect(plane.rules(kept).slice(0, 2)).toEqual([plane.testers, plane.managed]);
    expect(plane.codec().read(kept)).toEqual({ [plane.from]: 75, [plane.to]: 25 });
    expect(plane.codec().readHeader(kept)).toEqual(header);

    // Another header route replaces it: there is only ever one managed rule.
    const other: HeaderRoute = { header: 'x-user', match: 'exact', value: 'alice', to: plane.to };
    const replaced = write(plane, kept, { [plane.from]: 75, [plane.to]: 25 }, other);
    expect(plane.rules(replaced)).toHaveLength(3);
    expect(plane.codec().readHeader(replaced)).toEqual(other);

    const removed = write(plane, replaced, { [plane.from]: 100, [plane.to]: 0 }, null);
    expect(plane.rules(removed)).toHaveLength(2);
    expect(plane.rules(removed)[0]).toEqual(plane.testers);
    expect(plane.codec().readHeader(removed)).toBeUndefined();
    expect(plane.codec().read(removed)).toEqual({ [plane.from]: 100, [plane.to]: 0 });
  });

  it.each<HeaderRoute['match']>(['exact', 'prefix', 'regex'])(
    'reads back a %s header route as it was written',
    (match) => {
      const value = match === 'regex' ? '^(alice|bob)$' : match === 'prefix' ? 'beta.1' : 'true';
      const route: HeaderRoute = { header: 'x-user', match, value, to: plane.to };
      const object = write(plane, start(), { [plane.from]: 95, [plane.to]: 5 }, route);
      expect(plane.codec().readHeader(object)).toEqual(route);
      // And as the API server answers it: a custom resource comes back with its keys sorted.
      const answered = asServerStores(object);
      expect(plane.codec().readHeader(answered)).toEqual(route);
      // So that a removal after a read still finds the rule it added.
      expect(plane.rules(write(plane, answered, { [plane.from]: 100, [plane.to]: 0 }, null))).toHaveLength(2);
    },
  );
});

describe('Istio codec: host-level routing and named rules', () => {
  const hosts = { web: 'stable', 'web-canary': 'canary' };

  it.each([
    ['a full name', 'web.shop.svc.cluster.local', 'web-canary.shop.svc.cluster.local'],
    ['a namespaced name', 'web.shop', 'web-canary.shop'],
    ['a short name', 'web', 'web-canary'],
  ])('adds the canary host keeping the neighbour’s domain (%s)', (_what, stableHost, canaryHost) => {
    const codec = virtualServiceCodec({ hostVersions: hosts });
    const object = vs([{ route: [{ destination: { host: stableHost, port: { number: 80 } } }] }]);
    expect(codec.read(object)).toEqual({ stable: 100 });
    const written = codec.write(structuredClone(object), { stable: 90, canary: 10 });
    expect(istioRules(written)[0]!.route).toEqual([
      { destination: { host: stableHost, port: { number: 80 } }, weight: 90 },
      { destination: { host: canaryHost, port: { number: 80 } }, weight: 10 },
    ]);
    expect(codec.read(written)).toEqual({ stable: 90, canary: 10 });
  });

  it('edits the rule named by ruleName, even one with a match, and nothing else', () => {
    const legacy = { name: 'legacy', route: [{ destination: { host: 'web', subset: 'blue' } }] };
    const primary = {
      name: 'primary',
      match: [{ uri: { prefix: '/' } }],
      route: [{ destination: { host: 'web', subset: 'blue' }, weight: 100 }],
    };
    const object = vs([legacy, primary]);
    // Without a name, the first rule without a match is the weighted one.
    expect(istioRules(virtualServiceCodec().write(structuredClone(object), { green: 100 }))[0]).not.toEqual(
      legacy,
    );
    const codec = virtualServiceCodec({ ruleName: 'primary' });
    const written = codec.write(
      structuredClone(object),
      { blue: 80, green: 20 },
      {
        header: 'canary',
        match: 'exact',
        value: 'true',
        to: 'green',
      },
    );
    const rules = istioRules(written);
    expect(rules.map((r) => r.name)).toEqual(['legacy', HEADER_RULE, 'primary']);
    expect(rules[0]).toEqual(legacy);
    expect(rules[2]!.route).toEqual([
      { destination: { host: 'web', subset: 'blue' }, weight: 80 },
      { destination: { host: 'web', subset: 'green' }, weight: 20 },
    ]);
    expect(codec.read(written)).toEqual({ blue: 80, green: 20 });
  });

  it.each([
    [
      'a rule name that no rule has',
      { ruleName: 'main' },
      /VirtualService web has no http route named "main"/,
    ],
    [
      'no rule without a match, by subsets',
      {},
      /VirtualService web has no http route without a match that sends to DestinationRule subsets; add one, or name the one to use/,
    ],
    [
      'no rule without a match, by hosts',
      { hostVersions: hosts },
      /VirtualService web has no http route without a match that sends to the hosts web, web-canary/,
    ],
  ])('names what is missing: %s', (_what, options, message) => {
    // Only a header-matched rule: nothing for the weights to go in.
    const object = vs([
      {
        match: [{ headers: { 'x-test': { exact: '1' } } }],
        route: [{ destination: { host: 'web', subset: 'blue' } }],
      },
    ]);
    expect(() => virtualServiceCodec(options).write(structuredClone(object), { blue: 100 })).toThrow(message);
  });
});

describe('HTTPRoute codec: the managed header rule is known by its annotation alone', () => {
  const codec = httpRouteCodec('web', { web: 'stable', 'web-canary': 'canary' });
  const canaryTrue: HeaderRoute = { header: 'canary', match: 'exact', value: 'true', to: 'canary' };
  const weighted = { backendRefs: [{ name: 'web', port: 80, weight: 100 }] };
  /** The user's own rule for testers: the same header and backend cd-actions would use. */
  const lookalike = {
    matches: [{ headers: [{ type: 'Exact', name: 'canary', value: 'true' }] }],
    backendRefs: [{ name: 'web-canary', port: 80, weight: 1 }],
    timeouts: { request: '10s' },
  };

  it('does not take a user’s identical-looking rule for its own, nor remove it', () => {
    const object = httpRoute([lookalike, weighted]);
    expect(codec.readHeader(object)).toBeUndefined();
    const removed = codec.write(structuredClone(object), { stable: 90, canary: 10 }, null);
    expect(gatewayRules(removed)[0]).toEqual(lookalike);
    expect(gatewayRules(removed)).toHaveLength(2);
  });

  it('removes only the rule it added when the user has one that looks the same', () => {
    const added = codec.write(httpRoute([lookalike, weighted]), { stable: 90, canary: 10 }, canaryTrue);
    expect(gatewayRules(added)).toHaveLength(3);
    expect(JSON.parse(added.metadata.annotations![HEADER_ROUTE_ANNOTATION]!)).toEqual(canaryTrue);
    const removed = codec.write(structuredClone(added), { stable: 100, canary: 0 }, null);
    expect(gatewayRules(removed)).toEqual([
      lookalike,
      {
        backendRefs: [
          { name: 'web', port: 80, weight: 100 },
          { name: 'web-canary', port: 80, weight: 0 },
        ],
      },
    ]);
    expect(removed.metadata.annotations).not.toHaveProperty(HEADER_ROUTE_ANNOTATION);
  });

  it('reads no header route when the annotation is missing, unreadable or its rule is gone', () => {
    const added = codec.write(httpRoute([weighted]), { stable: 90, canary: 10 }, canaryTrue);
    expect(codec.readHeader(added)).toEqual(canaryTrue);

    const unannotated = structuredClone(added);
    delete unannotated.metadata.annotations![HEADER_ROUTE_ANNOTATION];
    expect(codec.readHeader(unannotated)).toBeUndefined();

    const garbled = structuredClone(added);
    garbled.metadata.annotations![HEADER_ROUTE_ANNOTATION] = '{not json';
    expect(codec.readHeader(garbled)).toBeUndefined();
    // Nothing it can own: a removal leaves every rule, and drops the unreadable record.
    const cleared = codec.write(structuredClone(garbled), { stable: 90, canary: 10 }, null);
    expect(gatewayRules(cleared)).toHaveLength(2);
    expect(cleared.metadata.annotations).not.toHaveProperty(HEADER_ROUTE_ANNOTATION);

    const ruleGone = structuredClone(added);
    gatewayRules(ruleGone).splice(0, 1);
    expect(codec.readHeader(ruleGone)).toBeUndefined();
  });

  it('writes a prefix as an escaped regular expression and says what it is missing', () => {
    const prefix: HeaderRoute = { header: 'x-user', match: 'prefix', value: 'beta.1', to: 'canary' };
    const added = codec.write(httpRoute([weighted]), { stable: 95, canary: 5 }, prefix);
    expect(gatewayRules(added)[0]!.matches).toEqual([
      { headers: [{ type: 'RegularExpression', name: 'x-user', value: 'beta\\.1.*' }] },
    ]);
    expect(() => codec.write(httpRoute([lookalike]), { stable: 100 })).toThrow(
      /HTTPRoute web has no rule without header matches sending to web or web-canary/,
    );
    expect(() => httpRouteCodec('web').write(httpRoute([]), { green: 100 })).toThrow(
      /sending to web-<colour> Services; point one at web-green/,
    );
  });
});
