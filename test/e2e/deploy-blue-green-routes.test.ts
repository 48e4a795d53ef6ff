/**
 * deploy-blue-green through the Istio and Gateway API routers: the switch and the switch back are
 * weight changes (0/100) on a VirtualService or an HTTPRoute, under steady load.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import {
  BLUE_GREEN_ROLE,
  deploymentManifest,
  FAST_TIMINGS,
  kind,
  live,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;

beforeAll(async () => {
  sandbox = await startTestSandbox({ rps: 50, prometheus: true });
  kubeconfig = sandbox.kubeconfigFor(BLUE_GREEN_ROLE);
});
afterAll(async () => sandbox?.stop());

/** A running blue colour `<name>-blue`, created straight in the store as an earlier deploy would have. */
function seedBlue(name: string): void {
  const d = parse(deploymentManifest({ name, namespace: 'shop', replicas: 2 })) as KubeObject & {
    spec: {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
  };
  d.metadata.name = `${name}-blue`;
  d.spec.selector.matchLabels.version = 'blue';
  d.spec.template.metadata.labels.version = 'blue';
  sandbox.store.create(kind('Deployment'), d);
}

function create(kindName: string, object: Record<string, unknown>): void {
  sandbox.store.create(kind(kindName), object as KubeObject);
}

async function deploy(
  name: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionResult> {
  return runAction({
    action: 'deploy-blue-green',
    cwd: await workspace({
      'k8s/app.yaml': `${deploymentManifest({ name, image: `ghcr.io/acme/${name}:2.0.0`, replicas: 2, env })}---\n${serviceManifest(name)}`,
    }),
    inputs: {
      kubeconfig,
      namespace: 'shop',
      manifests: 'k8s/app.yaml',
      timeout: '30s',
      'verify-duration': '1s',
      'check-interval': '250ms',
      ...inputs,
    },
    timeoutMs: 60_000,
  });
}

async function trafficOn(service: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Object.values(sandbox.cluster.traffic.stats('shop', service)).every((s) => s.requests === 0)) {
    if (Date.now() > deadline) throw new Error(`no traffic on ${service}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits (up to 10 s) until `ready` holds: traffic needs a moment to show up in the stats. */
async function eventually(what: string, ready: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Counts requests only once every node routes by the rules just written (kube-proxy and the
 * mesh lag the API by up to FAST_TIMINGS' delays), then waits for a sample big enough that one
 * tester in ten cannot outnumber everyone else by chance.
 */
async function settledSample(services: string[], testersSeen: () => boolean): Promise<void> {
  const lag = Math.max(FAST_TIMINGS.dataPlane.kubeProxyMs, FAST_TIMINGS.dataPlane.meshPushMs);
  await new Promise((resolve) => setTimeout(resolve, lag + 200));
  sandbox.cluster.traffic.reset();
  const total = (): number =>
    services
      .flatMap((s) => Object.values(sandbox.cluster.traffic.stats('shop', s)))
      .reduce((n, s) => n + s.requests, 0);
  await eventually('testers seen among 60 requests', () => testersSeen() && total() >= 60);
}

function requests(service: string, version: string): number {
  return sandbox.cluster.traffic.stats('shop', service)[version]?.requests ?? 0;
}

function errors(...services: string[]): number {
  return services
    .flatMap((s) => Object.entries(sandbox.cluster.traffic.stats('shop', s)))
    .reduce((n, [version, s]) => n + s.errors + (version === 'none' ? s.requests : 0), 0);
}

async function rollback(app: string): Promise<ActionResult> {
  return runAction({
    action: 'rollback',
    cwd: await workspace({}),
    inputs: { kubeconfig, namespace: 'shop', app, reason: 'bad release' },
    timeoutMs: 60_000,
  });
}

const failingCheck = '- { kind: command, name: smoke, command: [sh, -c, "exit 1"], critical: true }';

describe('deploy-blue-green with route: istio', () => {
  interface IstioRule {
    match?: unknown[];
    route: { destination: { subset: string }; weight: number }[];
  }
  const rules = (): IstioRule[] =>
    (live(sandbox, 'VirtualService', 'shop', 'cart')?.spec as { http: IstioRule[] }).http;
  /** The weights of the default rule (the one without a match): what most users get. */
  const weights = (): Record<string, number> =>
    Object.fromEntries(
      rules()
        .find((r) => !r.match)!
        .route.map((r) => [r.destination.subset, r.weight]),
    );

  beforeAll(async () => {
    seedBlue('cart');
    create('Service', {
      ...(parse(serviceManifest('cart')) as object),
      metadata: { name: 'cart', namespace: 'shop' },
    });
    create('DestinationRule', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'cart', namespace: 'shop' },
      spec: {
        host: 'cart',
        subsets: [
          { name: 'blue', labels: { version: 'blue' } },
          { name: 'green', labels: { version: 'green' } },
        ],
      },
    });
    create('VirtualService', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'cart', namespace: 'shop' },
      spec: {
        hosts: ['cart'],
        http: [
          {
            route: [
              { destination: { host: 'cart', subset: 'blue' }, weight: 100 },
              { destination: { host: 'cart', subset: 'green' }, weight: 0 },
            ],
          },
        ],
      },
    });
    await trafficOn('cart');
  });

  it('switches the VirtualService from blue to green in one write, with no failed request', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy('cart', { route: 'istio', 'prometheus-url': sandbox.prometheus! });
    expect(result.exitCode, result.log).toBe(0);
    // Confirmed from Prometheus: an interval between two post-switch scrapes answered by green alone.
    expect(result.log).toMatch(
      /observed traffic: \d+ request\(s\) between two scrapes, all answered by green/,
    );
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      'previous-color': 'blue',
      switched: 'true',
    });
    expect(weights()).toEqual({ blue: 0, green: 100 });
    expect(sandbox.cluster.traffic.stats('shop', 'cart').green?.requests ?? 0).toBeGreaterThan(0);
    expect(errors('cart')).toBe(0);
  });

  it('switches the weights back when the post-switch checks fail', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy('cart', {
      route: 'istio',
      'post-switch-checks': failingCheck,
      'prometheus-url': sandbox.prometheus!,
    });
    expect(result.exitCode).toBe(1);
    // Both moves confirmed from Prometheus: the switch to blue, then the switch back to green.
    expect(result.log).toMatch(
      /observed traffic: \d+ request\(s\) between two scrapes, all answered by blue/,
    );
    expect(result.log).toMatch(
      /observed traffic: \d+ request\(s\) between two scrapes, all answered by green/,
    );
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      switched: 'true',
      'rolled-back': 'true',
    });
    expect(weights()).toEqual({ blue: 0, green: 100 });
    expect(errors('cart')).toBe(0);
  });

  it('Prometheus answering 503 while the switch is confirmed: not confirmed, so switched back', async () => {
    sandbox.cluster.traffic.reset();
    const stop = sandbox.faults.add({ target: 'prometheus', match: { path: '/api/v1/query' }, status: 503 });
    const result = await deploy('cart', { route: 'istio', 'prometheus-url': sandbox.prometheus! }).finally(
      stop,
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain('failed in phase verify');
    expect(result.errors.join('\n')).toContain('Traffic: green serves all traffic');
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      switched: 'true',
      'rolled-back': 'true',
    });
    expect(weights()).toEqual({ blue: 0, green: 100 });
    expect(errors('cart')).toBe(0);
  });

  it('rollback refuses to switch to the colour whose deploy failed, and leaves the weights', async () => {
    const result = await rollback('cart');
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain(
      'the previous colour blue (cart-blue) holds a version whose deploy ended',
    );
    expect(weights()).toEqual({ blue: 0, green: 100 });
  });

  it('rollback after a healthy deploy switches the weights back to the previous colour', async () => {
    const deployed = await deploy('cart', { route: 'istio' });
    expect(deployed.exitCode, deployed.log).toBe(0);
    expect(weights()).toEqual({ blue: 100, green: 0 });
    sandbox.cluster.traffic.reset();
    const result = await rollback('cart');
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs['active-color']).toBe('green');
    expect(result.log).toContain('is warm: switching at once');
    expect(weights()).toEqual({ blue: 0, green: 100 });
    expect(errors('cart')).toBe(0);
  });

  it('leaves the user’s header-matched test rule exactly as it was and moves the default rule', async () => {
    // The user's own rule, above the default one: testers (x-test: 1) stay on the live colour, green.
    const vs = live(sandbox, 'VirtualService', 'shop', 'cart')!;
    const testers = {
      name: 'testers',
      match: [{ headers: { 'x-test': { exact: '1' } } }],
      route: [{ destination: { host: 'cart', subset: 'green' } }],
    };
    sandbox.store.update(kind('VirtualService'), {
      ...vs,
      spec: { ...(vs.spec as object), http: [testers, ...rules()] },
    });
    const before = structuredClone(rules()[0]);
    expect(weights()).toEqual({ blue: 0, green: 100 });

    const result = await deploy('cart', { route: 'istio' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({
      'active-color': 'blue',
      'previous-color': 'green',
      switched: 'true',
    });
    const after = rules();
    expect(after).toHaveLength(2);
    expect(after[0]).toEqual(before);
    expect(weights()).toEqual({ blue: 100, green: 0 });
    // And the data plane does what the rules say: testers on green, everyone else on blue.
    await settledSample(['cart'], () => requests('cart', 'green') > 0);
    expect(requests('cart', 'blue')).toBeGreaterThan(requests('cart', 'green'));
    expect(errors('cart')).toBe(0);
  });
});

describe('deploy-blue-green with route: gateway-api', () => {
  interface GatewayRule {
    matches?: { headers?: unknown[] }[];
    backendRefs: { name: string; weight: number }[];
  }
  const rules = (): GatewayRule[] =>
    (live(sandbox, 'HTTPRoute', 'shop', 'pay')?.spec as { rules: GatewayRule[] }).rules;
  /** The weights of the rule without header matches: what most users get. */
  const weights = (): Record<string, number> =>
    Object.fromEntries(
      rules()
        .find((r) => !(r.matches ?? []).some((m) => (m.headers ?? []).length > 0))!
        .backendRefs.map((r) => [r.name, r.weight]),
    );

  beforeAll(async () => {
    seedBlue('pay');
    create('Service', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'pay-blue', namespace: 'shop' },
      spec: { selector: { app: 'pay', version: 'blue' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    create('HTTPRoute', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'pay', namespace: 'shop' },
      spec: { rules: [{ backendRefs: [{ name: 'pay-blue', port: 80, weight: 100 }] }] },
    });
    await trafficOn('pay-blue');
  });

  it('creates pay-green and moves the HTTPRoute weights to it, with no failed request', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy('pay', { route: 'gateway-api', service: 'pay' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      'previous-color': 'blue',
      switched: 'true',
    });
    expect(weights()).toEqual({ 'pay-blue': 0, 'pay-green': 100 });
    expect(live(sandbox, 'Service', 'shop', 'pay-green')).toBeDefined();
    expect(sandbox.cluster.traffic.stats('shop', 'pay-green').green?.requests ?? 0).toBeGreaterThan(0);
    expect(errors('pay', 'pay-blue', 'pay-green')).toBe(0);
  });

  it('switches the weights back when the post-switch checks fail', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy('pay', {
      route: 'gateway-api',
      service: 'pay',
      'post-switch-checks': failingCheck,
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({ 'active-color': 'green', 'rolled-back': 'true' });
    expect(weights()).toEqual({ 'pay-blue': 0, 'pay-green': 100 });
    expect(errors('pay', 'pay-blue', 'pay-green')).toBe(0);
  });

  it('rollback after a healthy deploy moves the HTTPRoute weights back to the previous colour', async () => {
    const deployed = await deploy('pay', { route: 'gateway-api', service: 'pay' });
    expect(deployed.exitCode, deployed.log).toBe(0);
    expect(weights()).toEqual({ 'pay-blue': 100, 'pay-green': 0 });
    sandbox.cluster.traffic.reset();
    const result = await rollback('pay');
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs['active-color']).toBe('green');
    expect(weights()).toEqual({ 'pay-blue': 0, 'pay-green': 100 });
    expect(errors('pay', 'pay-blue', 'pay-green')).toBe(0);
  });

  it('leaves the user’s header-matched test rule exactly as it was and moves the default rule', async () => {
    // The user's own rule, above the default one: testers (x-test: 1) stay on the live colour, green.
    const route = live(sandbox, 'HTTPRoute', 'shop', 'pay')!;
    const testers = {
      matches: [{ headers: [{ type: 'Exact', name: 'x-test', value: '1' }] }],
      backendRefs: [{ name: 'pay-green', port: 80 }],
    };
    sandbox.store.update(kind('HTTPRoute'), {
      ...route,
      spec: { ...(route.spec as object), rules: [testers, ...rules()] },
    });
    const before = structuredClone(rules()[0]);
    expect(weights()).toEqual({ 'pay-blue': 0, 'pay-green': 100 });

    const result = await deploy('pay', { route: 'gateway-api', service: 'pay' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({
      'active-color': 'blue',
      'previous-color': 'green',
      switched: 'true',
    });
    const after = rules();
    expect(after).toHaveLength(2);
    expect(after[0]).toEqual(before);
    expect(weights()).toEqual({ 'pay-blue': 100, 'pay-green': 0 });
    // And the data plane does what the rules say: testers on green, everyone else on blue.
    await settledSample(['pay', 'pay-blue', 'pay-green'], () => requests('pay-green', 'green') > 0);
    expect(requests('pay-blue', 'blue')).toBeGreaterThan(requests('pay-green', 'green'));
    expect(errors('pay', 'pay-blue', 'pay-green')).toBe(0);
  });
});
