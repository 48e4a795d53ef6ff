/**
 * canary-step with dynamic-stable-scale, the committed bundle against the sandbox under live
 * traffic (100 rps) through an Istio host route, with a real Prometheus: the stable shrinks with
 * the weight (never before the route has moved the traffic off it) and is whole again after the
 * promotion; a bad canary aborted at 50% is sent back in steps, as fast as the stable's pods
 * become ready (here one at a time, as on a busy node); the option is refused before any write
 * with route replicas and with an autoscaled stable. No request fails because of a routing change.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import { applyDefaults } from '../../packages/sandbox/src/api/defaults.js';
import {
  CANARY_DYNAMIC_ROLE,
  CANARY_ROLE,
  deploymentManifest,
  imageOf,
  kind,
  live,
  readyPodImages,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;
const stops: (() => void)[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox({ rps: 100, prometheus: true });
  kubeconfig = sandbox.kubeconfigFor(CANARY_DYNAMIC_ROLE);
});
afterAll(async () => sandbox?.stop());
// Each test's apps stop taking traffic when it ends, so the load stays that of one test.
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  for (const kindName of ['VirtualService', 'Service'])
    for (const object of sandbox.store.list(kind(kindName), NS).items)
      sandbox.store.delete(kind(kindName), NS, object.metadata.name!);
});

const NS = 'shop';
/** The stable's full size. */
const FULL = 4;
const OLD = (app: string): string => `ghcr.io/acme/${app}:1.0.0`;
const NEW = (app: string): string => `ghcr.io/acme/${app}:2.0.0`;

type DeploymentView = KubeObject & { spec: { replicas?: number } };

/** The stable Deployment (4 replicas of 1.0.0), its Service and an Istio host route to it. */
async function seedStable(app: string): Promise<void> {
  const stable = parse(
    deploymentManifest({ name: app, namespace: NS, image: OLD(app), replicas: FULL }),
  ) as KubeObject;
  // As the API server stores it: the action's replica writes then change no template (no rollout).
  applyDefaults(stable);
  sandbox.store.create(kind('Deployment'), stable);
  sandbox.store.create(kind('Service'), {
    ...(parse(serviceManifest(app)) as KubeObject),
    metadata: { name: app, namespace: NS },
  });
  sandbox.store.create(kind('VirtualService'), {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: app, namespace: NS },
    spec: { hosts: [app], http: [{ route: [{ destination: { host: app }, weight: 100 }] }] },
  });
  const deadline = Date.now() + 15_000;
  while (readyPodImages(sandbox, NS, app).length < FULL) {
    if (Date.now() > deadline) throw new Error(`${app} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function canary(
  app: string,
  inputs: Record<string, string>,
  options: { env?: Record<string, string>; kubeconfig?: string } = {},
): Promise<ActionResult> {
  return runAction({
    action: 'canary-step',
    cwd: await workspace({
      'k8s/app.yaml': deploymentManifest({
        name: app,
        image: NEW(app),
        replicas: FULL,
        ...(options.env ? { env: options.env } : {}),
      }),
    }),
    inputs: {
      kubeconfig: options.kubeconfig ?? kubeconfig,
      namespace: NS,
      manifests: 'k8s/app.yaml',
      'prometheus-url': sandbox.prometheus!,
      'step-duration': '10s',
      'check-interval': '1s',
      'analysis-window': '10s',
      'scale-down-delay': '1s',
      timeout: '30s',
      ...inputs,
    },
    env: { GITHUB_API_URL: sandbox.github.url },
    timeoutMs: 240_000,
  });
}

/** One event of the cluster's history as the test saw it: the route's canary weight, or the stable's size. */
type Seen =
  | { what: 'weight'; canary: number; header: boolean }
  | { what: 'stable'; replicas: number; image: string | undefined };

/** Every change of the route's canary weight and of the stable's replicas, in the order the store made them. */
function watchHistory(app: string): Seen[] {
  const seen: Seen[] = [];
  const http = (
    vs: KubeObject,
  ): { name?: string; route?: { destination: { host: string }; weight?: number }[] }[] =>
    (vs.spec as { http?: [] } | undefined)?.http ?? [];
  stops.push(
    sandbox.store.watch(kind('VirtualService'), NS, undefined, (e) => {
      if (e.object.metadata.name !== app || e.type === 'DELETED') return;
      const rules = http(e.object);
      const weighted = rules.find((r) => r.name !== 'cd-actions-header-route');
      const canaryWeight = weighted?.route?.find((d) => d.destination.host === `${app}-canary`)?.weight ?? 0;
      const header = rules.some((r) => r.name === 'cd-actions-header-route');
      const last = seen.filter((s) => s.what === 'weight').at(-1);
      if (!last || last.canary !== canaryWeight || last.header !== header)
        seen.push({ what: 'weight', canary: canaryWeight, header });
    }),
    sandbox.store.watch(kind('Deployment'), NS, undefined, (e) => {
      if (e.object.metadata.name !== app || e.type === 'DELETED') return;
      const replicas = (e.object as DeploymentView).spec.replicas ?? 1;
      const image = imageOf(e.object);
      const last = seen.filter((s) => s.what === 'stable').at(-1);
      if (!last || last.replicas !== replicas || last.image !== image)
        seen.push({ what: 'stable', replicas, image });
    }),
  );
  return seen;
}

/**
 * The stable's next pods come ready one at a time, `delays` apart after they start (a busy node),
 * instead of all at once: each new pod of the app gets its own readiness delay before the kubelet
 * admits it (store listeners run inside the write; the kubelet acts on a later turn).
 */
function staggerReadiness(app: string, delays: string[]): void {
  const next = [...delays];
  stops.push(
    sandbox.store.watch(kind('Pod'), NS, undefined, (e) => {
      if (e.type !== 'ADDED' || e.object.metadata.labels?.app !== app) return;
      const delay = next.shift();
      if (!delay) return;
      const pod = structuredClone(e.object) as KubeObject & {
        spec: { containers: { env?: { name: string; value: string }[] }[] };
      };
      const main = pod.spec.containers[0]!;
      main.env = [...(main.env ?? []), { name: 'SANDBOX_READY_AFTER', value: delay }];
      sandbox.store.update(kind('Pod'), pod);
    }),
  );
}

/** Requests that failed for a reason other than the version answering them: no route, nothing ready. */
function routingFailures(app: string): number {
  return [app, `${app}-canary`]
    .flatMap((s) => Object.entries(sandbox.cluster.traffic.stats(NS, s)))
    .reduce((n, [version, s]) => n + (version === 'none' ? s.requests : 0), 0);
}

/** Failed requests answered by any version but the canary. */
function stableErrors(app: string): number {
  return [app, `${app}-canary`]
    .flatMap((s) => Object.entries(sandbox.cluster.traffic.stats(NS, s)))
    .reduce((n, [version, s]) => n + (version === 'canary' ? 0 : s.errors), 0);
}

type Http = { name?: string; match?: unknown; route: { destination: { host: string }; weight?: number }[] }[];
const http = (app: string): Http => (live(sandbox, 'VirtualService', NS, app)?.spec as { http: Http }).http;

/** The stable's pods the route weight leaves it: its full size's share of the rest, at least one. */
const share = (weight: number): number => Math.max(1, Math.ceil((FULL * (100 - weight)) / 100));

describe('canary-step with dynamic-stable-scale', () => {
  it('a healthy ramp 25, 50, 100: the stable shrinks with the weight, then is promoted at its full size with all traffic', async () => {
    await seedStable('cart');
    const history = watchHistory('cart');
    sandbox.cluster.traffic.reset();
    const result = await canary('cart', {
      route: 'istio',
      steps: '25,50,100',
      'dynamic-stable-scale': 'true',
      // About the stable's size, not latency: a p95 over a new pod's first requests is noise on a loaded machine.
      'max-latency-increase': '100',
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({ phase: 'promoted', weight: '0', verdict: 'pass' });
    for (const [weight, replicas] of [
      [25, 3],
      [50, 2],
      [100, 1],
    ])
      expect(result.log).toContain(`cart: stable scaled to ${replicas} of ${FULL} for ${weight}%`);
    expect(result.log).toContain(`and its full ${FULL} replicas (it had 1) by a rolling update`);

    // The stable's size as the store held it: down with every step, whole again with the new version.
    const sizes = history.filter((h) => h.what === 'stable');
    expect(
      [FULL, ...sizes.map((h) => h.replicas)].filter((r, i, all) => i === 0 || r !== all[i - 1]),
    ).toEqual([FULL, 3, 2, 1, FULL]);
    expect(sizes.filter((h) => h.replicas < FULL).every((h) => h.image === OLD('cart'))).toBe(true);
    // Back to full size in the promotion's own write: the same event carries the new image.
    const smallest = sizes.findIndex((h) => h.replicas === 1);
    expect(sizes.slice(smallest).find((h) => h.replicas === FULL)?.image).toBe(NEW('cart'));
    // Never smaller than the share the route leaves it, at any moment: the weight moved first.
    let weight = 0;
    for (const h of history) {
      if (h.what === 'weight') weight = h.canary;
      else expect(h.replicas, JSON.stringify(history)).toBeGreaterThanOrEqual(share(weight));
    }

    expect(live(sandbox, 'Deployment', NS, 'cart')).toMatchObject({ spec: { replicas: FULL } });
    expect(readyPodImages(sandbox, NS, 'cart')).toEqual(Array(FULL).fill(NEW('cart')));
    expect(live(sandbox, 'Deployment', NS, 'cart-canary')).toBeUndefined();
    expect(http('cart')).toEqual([{ route: [{ destination: { host: 'cart' }, weight: 100 }] }]);
    expect(routingFailures('cart')).toBe(0);
    expect(stableErrors('cart')).toBe(0);
    expect(result.summary).toContain(`cart took the new version and its full ${FULL} replicas`);
  }, 300_000);

  it('a bad canary aborted at 50%: the stable back to full size, the weight stepped down as its pods came', async () => {
    await seedStable('bags');
    const history = watchHistory('bags');
    // The two pods the abort adds come ready 1.5 s and 4 s after they start.
    staggerReadiness('bags', ['1500ms', '4s']);
    sandbox.cluster.traffic.reset();
    const result = await canary(
      'bags',
      {
        route: 'istio',
        steps: '50,100',
        'header-route': 'canary=true',
        'dynamic-stable-scale': 'true',
        'step-duration': '1m',
      },
      { env: { SANDBOX_ERROR_RATE: '0.2' } },
    );
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({
      phase: 'aborted',
      weight: '0',
      verdict: 'fail',
      'failed-phase': 'step 50',
    });
    expect(result.log).toContain(`bags: stable scaled to 2 of ${FULL} for 50%`);
    expect(result.log).toMatch(
      /abort: canary 50% → 25% → 0% as bags became ready \(header route removed at the first write\)/,
    );
    // From the route's own history: after 50%, the canary's weight came down in more than one write.
    const weights = history.filter((h) => h.what === 'weight');
    const top = weights.findIndex((h) => h.canary === 50);
    const down = weights
      .slice(top)
      .map((h) => h.canary)
      .filter((w, i, all) => i === 0 || w !== all[i - 1]);
    expect(down, JSON.stringify(weights)).toEqual([50, 25, 0]);
    // The header route went with the first write, before the weight moved.
    expect(weights.slice(top).find((h) => !h.header)?.canary).toBe(50);
    // The stable was scaled back up before the traffic came back to it.
    const shrunk = history.findIndex((h) => h.what === 'stable' && h.replicas === 2);
    const grown = history.findIndex((h, i) => i > shrunk && h.what === 'stable' && h.replicas === FULL);
    const firstDown = history.findIndex((h) => h.what === 'weight' && h.canary === 25);
    expect(shrunk).toBeGreaterThan(-1);
    expect(grown).toBeGreaterThan(shrunk);
    expect(grown).toBeLessThan(firstDown);

    // The stable is whole, untouched otherwise, and serves everything; the canary has no pods.
    expect(live(sandbox, 'Deployment', NS, 'bags')).toMatchObject({ spec: { replicas: FULL } });
    expect(imageOf(live(sandbox, 'Deployment', NS, 'bags'))).toBe(OLD('bags'));
    expect(readyPodImages(sandbox, NS, 'bags')).toEqual(Array(FULL).fill(OLD('bags')));
    expect((live(sandbox, 'Deployment', NS, 'bags-canary') as DeploymentView).spec.replicas).toBe(0);
    expect(http('bags')).toEqual([{ route: [{ destination: { host: 'bags' }, weight: 100 }] }]);
    expect(result.summary).toContain('abort: canary 50% → 25% → 0% as bags became ready');
    // The only failed requests are the canary's own; routing failed none, the stable none.
    expect(routingFailures('bags')).toBe(0);
    expect(stableErrors('bags')).toBe(0);
    expect(sandbox.cluster.traffic.stats(NS, 'bags-canary').canary?.errors ?? 0).toBeGreaterThan(0);
  }, 300_000);
});

describe('canary-step refuses dynamic-stable-scale before any write', () => {
  /** What a refused run must leave as it was: the stable, its route, and no canary, no lock. */
  function snapshot(app: string): unknown {
    return {
      writes: sandbox.audit.writes({ succeededOnly: true }).length,
      stable: live(sandbox, 'Deployment', NS, app)?.metadata.resourceVersion,
      route: live(sandbox, 'VirtualService', NS, app)?.metadata.resourceVersion,
      canary: live(sandbox, 'Deployment', NS, `${app}-canary`),
      lock: live(sandbox, 'Lease', NS, `cd-actions-lock-${app}`),
    };
  }

  it.each<[string, Record<string, string>, { hpa?: boolean; role?: typeof CANARY_ROLE }, RegExp]>([
    [
      'with route replicas',
      { route: 'replicas' },
      {},
      /Input "dynamic-stable-scale" has value "true", but route "replicas" splits traffic by replica counts already/,
    ],
    [
      'with no route given (replicas, the default)',
      {},
      {},
      /Input "dynamic-stable-scale" has value "true", but the route is "replicas" \(the default\)/,
    ],
    [
      'with a HorizontalPodAutoscaler on the stable',
      { route: 'istio' },
      { hpa: true },
      /Input "dynamic-stable-scale" is true, but HorizontalPodAutoscaler hats-hpa scales shop\/hats: it would fight/,
    ],
    [
      'when autoscalers cannot be listed',
      { route: 'istio' },
      { role: CANARY_ROLE },
      /Input "dynamic-stable-scale" is true, but whether a HorizontalPodAutoscaler scales shop\/hats cannot be seen/,
    ],
  ])(
    '%s',
    async (_title, inputs, o, message) => {
      if (!live(sandbox, 'Deployment', NS, 'hats')) await seedStable('hats');
      else
        sandbox.store.create(kind('VirtualService'), {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'hats', namespace: NS },
          spec: { hosts: ['hats'], http: [{ route: [{ destination: { host: 'hats' }, weight: 100 }] }] },
        });
      if (!live(sandbox, 'Service', NS, 'hats'))
        sandbox.store.create(kind('Service'), {
          ...(parse(serviceManifest('hats')) as KubeObject),
          metadata: { name: 'hats', namespace: NS },
        });
      if (o.hpa) {
        sandbox.store.create(kind('HorizontalPodAutoscaler'), {
          apiVersion: 'autoscaling/v2',
          kind: 'HorizontalPodAutoscaler',
          metadata: { name: 'hats-hpa', namespace: NS },
          spec: {
            scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hats' },
            minReplicas: 2,
            maxReplicas: 10,
          },
        });
        stops.push(() => sandbox.store.delete(kind('HorizontalPodAutoscaler'), NS, 'hats-hpa'));
      }
      const before = snapshot('hats');
      const result = await canary(
        'hats',
        { ...inputs, 'dynamic-stable-scale': 'true' },
        o.role ? { kubeconfig: sandbox.kubeconfigFor(o.role) } : {},
      );
      expect(result.exitCode, result.log).toBe(1);
      expect(result.errors.join('\n')).toMatch(message);
      expect(snapshot('hats')).toEqual(before);
    },
    120_000,
  );
});
