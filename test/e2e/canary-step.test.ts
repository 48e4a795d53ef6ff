/**
 * canary-step end to end, the committed bundle against the sandbox under live traffic (100 rps)
 * with a real Prometheus: every router ramps a healthy canary to promotion; a bad canary is
 * aborted at its first step; a header route reaches the canary alone; a step already passed is a
 * no-op; one step per job, paused, then promoted; abort of a paused canary, and of a step in
 * progress, from another run; a data plane that
 * ignores the route is caught by the split confirmation. No request fails because of a routing
 * change in any run (the only failed requests are the bad canary's own).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import {
  CANARY_ROLE,
  deploymentManifest,
  historyOf,
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

beforeAll(async () => {
  sandbox = await startTestSandbox({ rps: 100, prometheus: true });
  kubeconfig = sandbox.kubeconfigFor(CANARY_ROLE);
});
afterAll(async () => sandbox?.stop());
// Each test's apps stop taking traffic when it ends, so the load stays that of one test.
afterEach(() => {
  for (const kindName of ['VirtualService', 'HTTPRoute', 'Ingress', 'Service'])
    for (const object of sandbox.store.list(kind(kindName), NS).items)
      sandbox.store.delete(kind(kindName), NS, object.metadata.name!);
});

const NS = 'shop';
const OLD = (app: string): string => `ghcr.io/acme/${app}:1.0.0`;
const NEW = (app: string): string => `ghcr.io/acme/${app}:2.0.0`;

function create(kindName: string, object: Record<string, unknown>): void {
  sandbox.store.create(kind(kindName), object as KubeObject);
}

/** The stable Deployment (3 replicas of 1.0.0) and its Service, as an earlier deploy left them. */
async function seedStable(app: string, labels: Record<string, string> = {}): Promise<void> {
  const d = parse(
    deploymentManifest({ name: app, namespace: NS, image: OLD(app), replicas: 3 }),
  ) as KubeObject & {
    spec: { template: { metadata: { labels: Record<string, string> } } };
  };
  Object.assign(d.spec.template.metadata.labels, labels);
  sandbox.store.create(kind('Deployment'), d);
  create('Service', { ...(parse(serviceManifest(app)) as object), metadata: { name: app, namespace: NS } });
  const deadline = Date.now() + 15_000;
  while (readyPodImages(sandbox, NS, app).length < 3) {
    if (Date.now() > deadline) throw new Error(`${app} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until the load generator has sent the app a second of traffic, so the first step has a baseline. */
async function trafficOn(app: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  const seen = (): number =>
    Object.values(sandbox.cluster.traffic.stats(NS, app)).reduce((n, s) => n + s.requests, 0);
  while (seen() < 100) {
    if (Date.now() > deadline) throw new Error(`no traffic on ${app}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function hostVirtualService(app: string, http: unknown[] = []): void {
  create('VirtualService', {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: app, namespace: NS },
    spec: { hosts: [app], http: [...http, { route: [{ destination: { host: app }, weight: 100 }] }] },
  });
}

async function canary(
  app: string,
  inputs: Record<string, string>,
  /** env: the canary's own environment; runEnv: the runner's (another run: GITHUB_RUN_ID); onOutput: the log as it comes. */
  options: {
    env?: Record<string, string>;
    manifests?: boolean;
    runEnv?: Record<string, string>;
    onOutput?: (text: string) => void;
  } = {},
): Promise<ActionResult> {
  const withManifests = options.manifests ?? true;
  return runAction({
    action: 'canary-step',
    cwd: await workspace(
      withManifests
        ? {
            'k8s/app.yaml': deploymentManifest({
              name: app,
              image: NEW(app),
              replicas: 3,
              ...(options.env ? { env: options.env } : {}),
            }),
          }
        : {},
    ),
    inputs: {
      kubeconfig,
      namespace: NS,
      ...(withManifests ? { manifests: 'k8s/app.yaml' } : { app }),
      'prometheus-url': sandbox.prometheus!,
      'step-duration': '10s',
      'check-interval': '1s',
      'analysis-window': '10s',
      'scale-down-delay': '1s',
      timeout: '30s',
      ...inputs,
    },
    env: { GITHUB_API_URL: sandbox.github.url, ...options.runEnv },
    ...(options.onOutput ? { onOutput: options.onOutput } : {}),
    timeoutMs: 180_000,
  });
}

/** Requests that failed for a reason other than the version answering them: no route, nothing ready. */
function routingFailures(...services: string[]): number {
  return services
    .flatMap((s) => Object.entries(sandbox.cluster.traffic.stats(NS, s)))
    .reduce((n, [version, s]) => n + (version === 'none' ? s.requests : 0), 0);
}

/** Failed requests answered by any version but the canary. */
function stableErrors(...services: string[]): number {
  return services
    .flatMap((s) => Object.entries(sandbox.cluster.traffic.stats(NS, s)))
    .reduce((n, [version, s]) => n + (version === 'canary' ? 0 : s.errors), 0);
}

function canaryRecord(app: string): Record<string, unknown> | undefined {
  const raw = live(sandbox, 'Deployment', NS, `${app}-canary`)?.metadata.annotations?.[
    'cd-actions.dev/record'
  ];
  return raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
}

/** The stable took the new version, the canary is gone, and no route points at it. */
function expectPromoted(app: string): void {
  expect(imageOf(live(sandbox, 'Deployment', NS, app))).toBe(NEW(app));
  expect(readyPodImages(sandbox, NS, app)).toEqual([NEW(app), NEW(app), NEW(app)]);
  expect(live(sandbox, 'Deployment', NS, `${app}-canary`)).toBeUndefined();
  const record = JSON.parse(
    live(sandbox, 'Deployment', NS, app)?.metadata.annotations?.['cd-actions.dev/record'] ?? '{}',
  ) as { strategy?: string; phase?: string; canary?: { state?: string } };
  expect(record).toMatchObject({ strategy: 'canary', phase: 'succeeded', canary: { state: 'promoted' } });
  expect(historyOf(sandbox, NS, app).at(-1)).toMatchObject({ strategy: 'canary', outcome: 'succeeded' });
}

/** The stable never changed and takes everything; the canary has no pods. */
function expectStableOnly(app: string): void {
  expect(imageOf(live(sandbox, 'Deployment', NS, app))).toBe(OLD(app));
  expect(readyPodImages(sandbox, NS, app)).toEqual([OLD(app), OLD(app), OLD(app)]);
  const canaryDeployment = live(sandbox, 'Deployment', NS, `${app}-canary`) as
    (KubeObject & { spec: { replicas: number } }) | undefined;
  expect(canaryDeployment?.spec.replicas ?? 0).toBe(0);
}

type Http = { name?: string; match?: unknown; route: { destination: { host: string }; weight?: number }[] }[];
const http = (app: string): Http => (live(sandbox, 'VirtualService', NS, app)?.spec as { http: Http }).http;

/**
 * Starts a ramp 10 → 50 → 100 of 5-minute steps (only another run can end one) with a header
 * route, and answers it still running (wrapped: an async function would wait for a promise it
 * returns) once the route holds 10% for the canary.
 */
async function rampAt10(
  app: string,
  inputs: Record<string, string> = {},
): Promise<{ ramp: Promise<ActionResult> }> {
  sandbox.cluster.traffic.reset();
  const ramp = canary(app, {
    route: 'istio',
    steps: '10,50,100',
    'header-route': 'canary=true',
    'step-duration': '5m',
    ...inputs,
  });
  const canaryWeight = (): number | undefined =>
    http(app)
      .at(-1)
      ?.route.find((d) => d.destination.host === `${app}-canary`)?.weight;
  const deadline = Date.now() + 120_000;
  while (canaryWeight() !== 10) {
    if (Date.now() > deadline) throw new Error(`the ramp never reached 10%:\n${(await ramp).log}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { ramp };
}

describe('canary-step through every router: a healthy canary ramps to promotion', () => {
  // Whole ramps of 10 s steps: a minute on an idle machine, more on a loaded one.
  it('Istio by host, 5 → 25 → 50 → 100 with a header route, then promoted', async () => {
    await seedStable('cart');
    hostVirtualService('cart');
    await trafficOn('cart');
    sandbox.cluster.traffic.reset();
    const result = await canary('cart', {
      route: 'istio',
      steps: '5,25,50,100',
      'header-route': 'canary=true',
      environment: 'production',
      'github-token': sandbox.github.token,
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(sandbox.github.deployments.at(-1)?.statuses.map((s) => s.state)).toEqual([
      'in_progress',
      'success',
    ]);
    expect(result.log).not.toContain(sandbox.github.token);
    expect(result.outputs).toMatchObject({ phase: 'promoted', weight: '0', verdict: 'pass' });
    // Every step written, read back and confirmed from Prometheus; the header route adds to the canary's share.
    for (const weight of [5, 25, 50])
      expect(result.log).toMatch(
        new RegExp(
          `stable ${100 - weight}%, canary ${weight}%, header route canary=true → canary in one write`,
        ),
      );
    expect(result.log).toMatch(
      /observed split: canary answered [\d.]+% of \d+ requests after the change \(target 5% or more/,
    );
    expectPromoted('cart');
    // Traffic is back on the stable host alone: no canary destination, no header rule.
    expect(http('cart')).toEqual([{ route: [{ destination: { host: 'cart' }, weight: 100 }] }]);
    expect(sandbox.cluster.traffic.stats(NS, 'cart-canary').canary?.requests ?? 0).toBeGreaterThan(0);
    expect(routingFailures('cart', 'cart-canary')).toBe(0);
    expect(stableErrors('cart', 'cart-canary')).toBe(0);
    expect(result.summary).toContain('✅ Canary promoted');
    expect(result.summary).toContain('xychart-beta');
  }, 240_000);

  it('Istio by subset (DestinationRule stable/canary), Gateway API, NGINX and replicas, each to promotion', async () => {
    await seedStable('hats', { track: 'stable' });
    create('DestinationRule', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      metadata: { name: 'hats', namespace: NS },
      spec: {
        host: 'hats',
        subsets: [
          { name: 'stable', labels: { track: 'stable' } },
          { name: 'canary', labels: { version: 'canary' } },
        ],
      },
    });
    create('VirtualService', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'hats', namespace: NS },
      spec: {
        hosts: ['hats'],
        http: [{ route: [{ destination: { host: 'hats', subset: 'stable' }, weight: 100 }] }],
      },
    });
    await seedStable('shoes');
    create('HTTPRoute', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'shoes', namespace: NS },
      spec: { rules: [{ backendRefs: [{ name: 'shoes', port: 80 }] }] },
    });
    await seedStable('socks');
    create('Ingress', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'socks', namespace: NS },
      spec: {
        rules: [
          {
            host: 'socks.example.com',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'socks', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    });
    await seedStable('gloves');
    sandbox.cluster.traffic.reset();
    // Four canaries at once in one sandbox process on two cores: a slow answer is the machine's,
    // not the version's, and a p95 of the canary's hundred requests catches every pause of the
    // event loop, so latency is not judged here (the comparison itself is unit-tested, and the
    // Istio-by-host ramp above judges it).
    const loaded = { 'max-latency-increase': '100' };
    const results = await Promise.all([
      canary('hats', { ...loaded, route: 'istio', steps: '10,50,100', 'header-route': 'canary=true' }),
      canary('shoes', {
        ...loaded,
        route: 'gateway-api',
        steps: '10,50,100',
        'cookie-route': 'canary=always',
      }),
      canary('socks', { ...loaded, route: 'nginx', steps: '10,50,100', 'header-route': 'canary=always' }),
      canary('gloves', { ...loaded, route: 'replicas', steps: '25,50,100' }),
    ]);
    for (const [app, result] of [
      ['hats', results[0]],
      ['shoes', results[1]],
      ['socks', results[2]],
      ['gloves', results[3]],
    ] as const) {
      expect(result.exitCode, `${app}: ${result.log}`).toBe(0);
      expect(result.outputs.phase).toBe('promoted');
      expectPromoted(app);
    }
    // Istio by subset: the promoted stable keeps the label its subset selects on.
    const hats = live(sandbox, 'Deployment', NS, 'hats') as KubeObject & {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    expect(hats.spec.template.metadata.labels.track).toBe('stable');
    expect((live(sandbox, 'VirtualService', NS, 'hats')?.spec as { http: Http }).http).toEqual([
      { route: [{ destination: { host: 'hats', subset: 'stable' }, weight: 100 }] },
    ]);
    // Gateway API: the canary backend and the managed header rule are gone with the canary Service.
    expect(live(sandbox, 'HTTPRoute', NS, 'shoes')?.spec).toEqual({
      rules: [{ backendRefs: [{ name: 'shoes', port: 80, weight: 100 }] }],
    });
    expect(live(sandbox, 'Service', NS, 'shoes-canary')).toBeUndefined();
    // NGINX: the primary Ingress was never edited and the canary Ingress is gone.
    expect(live(sandbox, 'Ingress', NS, 'socks')?.metadata.annotations ?? {}).toEqual({});
    expect(live(sandbox, 'Ingress', NS, 'socks-canary')).toBeUndefined();
    // Replicas: the summary says the weights were approximated by pod counts.
    expect(results[3].summary).toContain('approximated by the replica counts');
    for (const app of ['hats', 'shoes', 'socks', 'gloves']) {
      expect(routingFailures(app, `${app}-canary`), app).toBe(0);
      expect(stableErrors(app, `${app}-canary`), app).toBe(0);
    }
  }, 240_000);
});

describe('canary-step aborts a bad canary and edits only what it owns', () => {
  it('a canary answering 20% errors is aborted at its first step: all traffic on stable, header rule gone, canary at 0', async () => {
    await seedStable('bags');
    // The team's own test route: never edited by the canary.
    const testers = {
      name: 'qa',
      match: [{ headers: { 'x-qa': { exact: '1' } } }],
      route: [{ destination: { host: 'bags' }, weight: 100 }],
    };
    hostVirtualService('bags', [testers]);
    sandbox.cluster.traffic.reset();
    const result = await canary(
      'bags',
      {
        route: 'istio',
        steps: '5,25,50,100',
        'header-route': 'canary=true',
        'step-duration': '1m',
        environment: 'production',
        'github-token': sandbox.github.token,
      },
      { env: { SANDBOX_ERROR_RATE: '0.2' } },
    );
    expect(result.exitCode).toBe(1);
    expect(sandbox.github.deployments.at(-1)?.statuses.map((s) => s.state)).toEqual([
      'in_progress',
      'failure',
    ]);
    expect(result.outputs).toMatchObject({
      phase: 'aborted',
      weight: '0',
      verdict: 'fail',
      'failed-phase': 'step 5',
    });
    expect(result.errors.join('\n')).toMatch(/Canary of bags failed in phase step 5: .*error-rate-vs-stable/);
    expect(result.errors.join('\n')).toContain(
      'Traffic: bags (stable, ghcr.io/acme/bags:1.0.0) serves all traffic',
    );
    expectStableOnly('bags');
    expect(http('bags')).toEqual([testers, { route: [{ destination: { host: 'bags' }, weight: 100 }] }]);
    expect(canaryRecord('bags')).toMatchObject({ phase: 'rolled-back', canary: { state: 'aborted' } });
    expect(historyOf(sandbox, NS, 'bags').at(-1)).toMatchObject({
      strategy: 'canary',
      outcome: 'rolled-back',
    });
    // The only failed requests are the canary's own, a handful before the abort; routing failed none.
    expect(routingFailures('bags', 'bags-canary')).toBe(0);
    expect(stableErrors('bags', 'bags-canary')).toBe(0);
    expect(sandbox.cluster.traffic.stats(NS, 'bags-canary').canary?.errors ?? 0).toBeGreaterThan(0);
  });

  it('a route written back by another writer during a step (a GitOps re-apply) fails the step, not a green one', async () => {
    await seedStable('scarves');
    hostVirtualService('scarves');
    const original = structuredClone(live(sandbox, 'VirtualService', NS, 'scarves')!.spec);
    let output = '';
    let flipped = false;
    const result = await canary(
      'scarves',
      { route: 'istio', steps: '10,50,100', 'step-duration': '2m' },
      {
        // Once the split is confirmed, the route goes back to what the Git repository holds.
        onOutput: (text) => {
          output += text;
          if (flipped || !output.includes('observed split: canary answered')) return;
          flipped = true;
          const route = live(sandbox, 'VirtualService', NS, 'scarves')!;
          sandbox.store.update(kind('VirtualService'), { ...route, spec: structuredClone(original) });
        },
      },
    );
    expect(flipped, result.log).toBe(true);
    expect(result.exitCode, result.log).toBe(1);
    expect(result.outputs).toMatchObject({ phase: 'aborted', 'failed-phase': 'step 10' });
    expect(result.errors.join('\n')).toMatch(
      /failed in phase step 10: VirtualService shop\/scarves was changed by another writer during the step: it holds stable 100%, not stable 90%, canary 10%\. A GitOps tool re-applying it\?/,
    );
    expect(result.log).not.toMatch(/10%: pass:/);
    expectStableOnly('scarves');
    expect(routingFailures('scarves', 'scarves-canary')).toBe(0);
  });

  it('a data plane that ignores the route is caught by the split confirmation, not a green step', async () => {
    await seedStable('belts');
    hostVirtualService('belts');
    // Another VirtualService for the same host, first by name: the mesh serves it and ignores ours.
    create('VirtualService', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'a-belts-shadow', namespace: NS },
      spec: { hosts: ['belts'], http: [{ route: [{ destination: { host: 'belts' }, weight: 100 }] }] },
    });
    const result = await canary('belts', { route: 'istio', steps: '10,50,100' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.phase).toBe('aborted');
    expect(result.errors.join('\n')).toMatch(
      // Judged twice: the first window after a change may still hold requests routed the old way.
      /failed in phase step 10: the traffic does not show 10% on the canary: off in the first window \(canary answered [\d.]+% of \d+ requests.*\), judged again on a fresh one: canary answered [\d.]+% of \d+ requests/,
    );
    expectStableOnly('belts');
  });
});

describe('canary-step one step per job: paused, resumed, a passed step a no-op, promoted or aborted later', () => {
  it('weight 10, again 10 (nothing happens), status, weight 50, then action promote', async () => {
    await seedStable('caps');
    hostVirtualService('caps');
    sandbox.cluster.traffic.reset();
    const inputs = { route: 'istio', steps: '10,50,100', 'header-route': 'canary=true' };
    const first = await canary('caps', { ...inputs, weight: '10' });
    expect(first.exitCode, first.log).toBe(0);
    expect(first.outputs).toMatchObject({ phase: 'paused', weight: '10', verdict: 'pass' });
    expect(canaryRecord('caps')).toMatchObject({
      phase: 'progressing',
      weight: 10,
      canary: { state: 'paused' },
    });

    // The same step again (a re-run, or the next job asking for the same weight): nothing written.
    const routeVersion = live(sandbox, 'VirtualService', NS, 'caps')?.metadata.resourceVersion;
    const again = await canary('caps', { ...inputs, weight: '10' });
    expect(again.exitCode, again.log).toBe(0);
    expect(again.log).toContain('the canary already passed 10%');
    expect(again.log).not.toContain('Holding lock');
    expect(live(sandbox, 'VirtualService', NS, 'caps')?.metadata.resourceVersion).toBe(routeVersion);

    // From any workflow, with no routing inputs: the record holds them.
    const status = await canary('caps', { action: 'status' }, { manifests: false });
    expect(status.exitCode, status.log).toBe(0);
    expect(status.outputs).toMatchObject({ phase: 'paused', weight: '10', 'canary-version': NEW('caps') });

    const second = await canary('caps', { ...inputs, weight: '50' });
    expect(second.exitCode, second.log).toBe(0);
    expect(second.outputs).toMatchObject({ phase: 'paused', weight: '50' });
    expect(second.log).not.toMatch(/canary 10% .*in one write/);
    expect(http('caps')[0]).toMatchObject({ name: 'cd-actions-header-route' });

    const promote = await canary('caps', { action: 'promote' }, { manifests: false });
    expect(promote.exitCode, promote.log).toBe(0);
    expect(promote.outputs.phase).toBe('promoted');
    expectPromoted('caps');
    expect(http('caps')).toEqual([{ route: [{ destination: { host: 'caps' }, weight: 100 }] }]);
    expect(routingFailures('caps', 'caps-canary')).toBe(0);
    expect(stableErrors('caps', 'caps-canary')).toBe(0);
  });

  it('a paused canary aborted from another workflow: traffic back on stable, exit non-zero', async () => {
    await seedStable('ties');
    hostVirtualService('ties');
    const paused = await canary('ties', {
      route: 'istio',
      steps: '10,50,100',
      weight: '10',
      'header-route': 'canary=true',
    });
    expect(paused.exitCode, paused.log).toBe(0);
    const abort = await canary('ties', { action: 'abort' }, { manifests: false });
    expect(abort.exitCode).toBe(1);
    expect(abort.outputs.phase).toBe('aborted');
    expect(abort.errors.join('\n')).toContain('Canary of ties aborted as asked');
    expectStableOnly('ties');
    expect(http('ties')).toEqual([{ route: [{ destination: { host: 'ties' }, weight: 100 }] }]);
    // A second abort has nothing left to abort, and says so.
    const again = await canary('ties', { action: 'abort' }, { manifests: false });
    expect(again.exitCode).toBe(1);
    expect(again.errors.join('\n')).toContain(
      'No canary of ties is in progress in shop (the last one was aborted)',
    );
  });

  it('an abort while a step runs: the running step is asked, puts all traffic back on stable, and both runs end red', async () => {
    await seedStable('jackets');
    hostVirtualService('jackets');
    // A step long enough that only the abort can end it.
    const { ramp } = await rampAt10('jackets');
    const abort = await canary(
      'jackets',
      { action: 'abort' },
      { manifests: false, runEnv: { GITHUB_RUN_ID: '5151' } },
    );
    const ran = await ramp;

    expect(abort.exitCode, abort.log).toBe(1);
    expect(abort.outputs.phase).toBe('aborted');
    expect(abort.log).toContain(
      'Asked acme/shop run 4242 attempt 1 (https://github.com/acme/shop/actions/runs/4242), which holds lock shop/cd-actions-lock-jackets, to abort the canary',
    );
    expect(abort.errors.join('\n')).toContain(
      'Canary of jackets aborted as asked, by acme/shop run 4242, which was running a step: it sent all traffic back to the stable and ended red (https://github.com/acme/shop/actions/runs/4242)',
    );
    expect(ran.exitCode, ran.log).toBe(1);
    expect(ran.outputs).toMatchObject({ phase: 'aborted', weight: '0', 'failed-phase': 'step 10' });
    expect(ran.errors.join('\n')).toContain(
      'acme/shop run 5151 (https://github.com/acme/shop/actions/runs/5151) asked this run to abort the canary and send all traffic back to the stable (action: abort)',
    );
    // Stopped inside the step: its gate never reached a verdict.
    expect(ran.log).not.toMatch(/10%: pass:/);
    expectStableOnly('jackets');
    expect(http('jackets')).toEqual([{ route: [{ destination: { host: 'jackets' }, weight: 100 }] }]);
    expect(canaryRecord('jackets')).toMatchObject({ canary: { state: 'aborted' } });
    expect(live(sandbox, 'Lease', NS, 'cd-actions-lock-jackets')).toBeUndefined();
    expect(routingFailures('jackets', 'jackets-canary')).toBe(0);
    expect(stableErrors('jackets', 'jackets-canary')).toBe(0);
  });

  // A step long enough that only the promote can end it; `weight` chooses a ramp that ends at 100%
  // (it promotes itself) or one that would pause below it (it promotes only because it was asked).
  for (const [app, weight] of [
    ['boots', undefined],
    ['mittens', '50'],
  ] as const) {
    it(`a promote while a step runs${weight ? ` of a ramp that pauses at ${weight}%` : ''}: the running step is cut short, that run promotes, both end green`, async () => {
      await seedStable(app);
      hostVirtualService(app);
      const { ramp } = await rampAt10(app, weight ? { weight } : {});
      const promote = await canary(
        app,
        { action: 'promote' },
        { manifests: false, runEnv: { GITHUB_RUN_ID: '5151' } },
      );
      const ran = await ramp;

      expect(promote.exitCode, promote.log).toBe(0);
      expect(promote.outputs.phase).toBe('promoted');
      expect(promote.log).toContain(
        `Asked acme/shop run 4242 attempt 1 (https://github.com/acme/shop/actions/runs/4242), which holds lock shop/cd-actions-lock-${app}, to promote the canary now`,
      );
      expect(promote.log).toContain(
        `Canary of ${app} promoted as asked, by acme/shop run 4242, which was running a step: it promoted the canary (https://github.com/acme/shop/actions/runs/4242)`,
      );
      expect(ran.exitCode, ran.log).toBe(0);
      expect(ran.outputs).toMatchObject({ phase: 'promoted', weight: '0' });
      expect(ran.log).toContain(
        'acme/shop run 5151 (https://github.com/acme/shop/actions/runs/5151) asked this run to promote the canary now, cutting its remaining steps short (action: promote)',
      );
      expect(ran.log).toContain('10%: judging cut short: acme/shop run 5151');
      expect(ran.log).toContain('50%: skipped, promoting as asked');
      // Cut short inside the step: its gate reached no verdict, and the history keeps none.
      expect(ran.log).not.toMatch(/10%: pass:/);
      expect(canaryRecord(app)).toBeUndefined();
      expectPromoted(app);
      expect(http(app)).toEqual([{ route: [{ destination: { host: app }, weight: 100 }] }]);
      expect(live(sandbox, 'Lease', NS, `cd-actions-lock-${app}`)).toBeUndefined();
      expect(routingFailures(app, `${app}-canary`)).toBe(0);
      expect(stableErrors(app, `${app}-canary`)).toBe(0);
    }, 240_000);
  }

  it('routing inputs that contradict the canary in progress are refused before any write', async () => {
    await seedStable('vests');
    hostVirtualService('vests');
    // About routing, not latency: a p95 over a new pod's first requests is noise on a loaded machine.
    const paused = await canary('vests', {
      route: 'istio',
      steps: '10,50,100',
      weight: '10',
      'max-latency-increase': '100',
    });
    expect(paused.exitCode, paused.log).toBe(0);
    const routeVersion = live(sandbox, 'VirtualService', NS, 'vests')?.metadata.resourceVersion;
    const wrong = await canary('vests', { route: 'replicas', steps: '10,50,100', weight: '50' });
    expect(wrong.exitCode).toBe(1);
    expect(wrong.errors.join('\n')).toContain(
      'was started with route "istio"; this run says route "replicas"',
    );
    expect(live(sandbox, 'VirtualService', NS, 'vests')?.metadata.resourceVersion).toBe(routeVersion);
  });
});

describe('canary-step first deploy', () => {
  it('an app with no stable version goes straight to full size and says so', async () => {
    const result = await canary('coats', { route: 'replicas' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.phase).toBe('promoted');
    expect(result.log).toContain('nothing stable to compare with, so it goes straight to full size');
    expect(readyPodImages(sandbox, NS, 'coats')).toEqual([NEW('coats'), NEW('coats'), NEW('coats')]);
    expect(live(sandbox, 'Deployment', NS, 'coats-canary')).toBeUndefined();
  });
});
