/**
 * The scenarios of the fault matrix: a starting cluster state, reached by healthy runs (and, for
 * routes an action does not create, objects written straight into the store), plus the one
 * action run under test, and how to tell from the store where traffic is after it.
 */
import { parse } from 'yaml';
import type { ActionResult } from '../../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../../packages/sandbox/src/store.js';
import {
  BLUE_GREEN_ROLE,
  CANARY_DYNAMIC_ROLE,
  CANARY_ROLE,
  DEPLOYER_ROLE,
  deploymentManifest,
  imageOf,
  kind,
  live,
  serviceManifest,
} from '../fixtures.js';
import type { RecordedRequest } from './matrix.js';
import { isReady, matchesSelector, settle, type Pod } from './snapshot.js';
import { isLease } from './stage.js';

export type ActionName = 'deploy-rolling' | 'deploy-blue-green' | 'rollback' | 'canary-step';

/**
 * Where traffic is after a run, judged from the store. new: the goal, all of it confirmed
 * serving; old: the version that served before, all of it; stranded: traffic moved to something
 * that is neither; unrestored: the route is back but a template is not (or pods are mixed).
 */
export interface Traffic {
  on: 'new' | 'old' | 'stranded' | 'unrestored';
  detail: string;
}

export interface Scenario {
  name: string;
  action: ActionName;
  /** The app: its lock is Lease cd-actions-lock-<app>, its history cd-actions-history-<app>. */
  app: string;
  role: typeof DEPLOYER_ROLE;
  /** Brings a fresh sandbox to the starting state. `run` runs the action healthy. */
  setUp(
    sandbox: Sandbox,
    run: (action: ActionName, files: Files, inputs: Inputs) => Promise<void>,
  ): Promise<void>;
  /** The run under test. */
  files: Files;
  inputs: Inputs;
  /** Judged from the store; the run's result for what the action said it left (a warning). */
  traffic(sandbox: Sandbox, result: ActionResult): Traffic;
  /**
   * The phase whose first write hangs (stored, no answer) until the client's own deadline cuts
   * the call, and the first read after it hangs too. Through Istio and the Gateway API the switch
   * of blue-green is the same client call and the same read-back as through a Service, so only
   * the Service route, the rollback (its own switch) and the canary (a step's weight, and the
   * abort: the put-back itself hung) have these cells.
   */
  hangAt?: string;
  /**
   * How a healthy run ends: ok (the default), or back for a run whose goal is the version that
   * served before and that exits non-zero by design (canary-step `action: abort`).
   */
  healthy?: 'ok' | 'back';
  /** Cells already run, as the same test, by another scenario: left out here, and why. */
  prune?: { keep(request: RecordedRequest): boolean; why: string };
}

export type Files = Record<string, string>;
export type Inputs = Record<string, string>;

const NS = 'shop';
const image = (version: string): string => `ghcr.io/acme/web:${version}`;

/** Whether Deployment `name` runs `want` in its template and in every one of its ready pods, all of them up. */
export function serves(sandbox: Sandbox, name: string, want: string): { ok: boolean; detail: string } {
  const d = live(sandbox, 'Deployment', NS, name) as
    | (KubeObject & { spec: { replicas?: number; selector: { matchLabels: Record<string, string> } } })
    | undefined;
  if (!d) return { ok: false, detail: `${name} is gone` };
  const template = imageOf(d);
  const selector = d.spec.selector.matchLabels;
  const ready = (sandbox.store.list(kind('Pod'), NS).items as unknown as Pod[]).filter(
    (p) => matchesSelector(p.metadata.labels, selector) && !p.metadata.deletionTimestamp && isReady(p),
  );
  const images = ready.map((p) => p.spec.containers[0]?.image);
  const replicas = d.spec.replicas ?? 1;
  const ok = template === want && images.length === replicas && images.every((i) => i === want);
  return {
    ok,
    detail: `${name}: template ${template}, ready ${images.length}/${replicas} ${[...new Set(images)].join(' + ') || '-'}`,
  };
}

function rollingTraffic(sandbox: Sandbox, name: string, oldImage: string, newImage: string): Traffic {
  const now = serves(sandbox, name, newImage);
  if (now.ok) return { on: 'new', detail: now.detail };
  const before = serves(sandbox, name, oldImage);
  return { on: before.ok ? 'old' : 'unrestored', detail: before.detail };
}

/**
 * Blue-green: the colour the route sends all traffic to, and what that colour's Deployment
 * serves. Judged by version, not colour: a re-run may bring the new version up in either colour.
 */
function colourTraffic(
  sandbox: Sandbox,
  routed: string | undefined,
  routeDetail: string,
  before: { colour: string; image: string },
  goal: string,
): Traffic {
  if (!routed) return { on: 'stranded', detail: routeDetail };
  const now = serves(sandbox, `web-${routed}`, goal);
  if (now.ok) return { on: 'new', detail: `${routeDetail}; ${now.detail}` };
  const old = serves(sandbox, `web-${routed}`, before.image);
  const detail = `${routeDetail}; ${old.detail}`;
  if (old.ok) return { on: 'old', detail };
  return { on: routed === before.colour ? 'unrestored' : 'stranded', detail };
}

function serviceColour(sandbox: Sandbox, service = 'web'): string | undefined {
  return (
    live(sandbox, 'Service', NS, service) as { spec?: { selector?: Record<string, string> } } | undefined
  )?.spec?.selector?.version;
}

function soleWeight(weights: Record<string, number>): string | undefined {
  const on = Object.entries(weights).filter(([, w]) => w > 0);
  return on.length === 1 && on[0]![1] === 100 ? on[0]![0] : undefined;
}

function istioWeights(sandbox: Sandbox): Record<string, number> {
  const vs = live(sandbox, 'VirtualService', NS, 'web')?.spec as
    { http: { route: { destination: { subset: string }; weight?: number }[] }[] } | undefined;
  return Object.fromEntries((vs?.http[0]?.route ?? []).map((r) => [r.destination.subset, r.weight ?? 0]));
}

/** Gateway API: weights per backend Service, and the colour each backend Service selects. */
function gatewayColour(sandbox: Sandbox): { colour?: string; detail: string } {
  const route = live(sandbox, 'HTTPRoute', NS, 'web')?.spec as
    { rules: { backendRefs: { name: string; weight?: number }[] }[] } | undefined;
  const weights = Object.fromEntries(
    (route?.rules[0]?.backendRefs ?? []).map((r) => [r.name, r.weight ?? 1]),
  );
  const backend = soleWeight(weights);
  const colour = backend === undefined ? undefined : serviceColour(sandbox, backend);
  return {
    ...(colour ? { colour } : {}),
    detail: `HTTPRoute web ${JSON.stringify(weights)} (${backend ?? '-'} selects ${colour ?? '-'})`,
  };
}

/** The app's manifests at a version: Deployment web (2 replicas) and Service web. */
function appFiles(version: string): Files {
  return {
    'k8s/app.yaml': `${deploymentManifest({ image: image(version), replicas: 2 })}---\n${serviceManifest()}`,
  };
}

const blueGreenInputs: Inputs = { manifests: 'k8s/app.yaml', timeout: '30s' };

/** A blue colour running v0, written straight into the store, as an earlier deploy would have left it. */
function seedBlue(sandbox: Sandbox): void {
  const d = parse(deploymentManifest({ namespace: NS, image: image('0.0.0'), replicas: 2 })) as KubeObject & {
    spec: {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
  };
  d.metadata.name = 'web-blue';
  d.spec.selector.matchLabels.version = 'blue';
  d.spec.template.metadata.labels.version = 'blue';
  sandbox.store.create(kind('Deployment'), d);
}

function create(sandbox: Sandbox, kindName: string, object: Record<string, unknown>): void {
  sandbox.store.create(kind(kindName), object as unknown as KubeObject);
}

/** The Deployment-side requests are the same through every route: only route requests and what follows the switch differ. */
const routeOnly = (route: RegExp): Scenario['prune'] => ({
  keep: (r) => route.test(r.path) || ['switch', 'verify', 'post-switch'].includes(r.phase),
  why: 'requests on Deployments, ConfigMaps and the lock before the switch, and the books after it, are the same requests with the same compensation as through the Service route',
});

const rollingInputs: Inputs = { manifests: 'k8s/app.yaml', app: 'web', timeout: '30s' };

/** Blue-green starts with green serving v1 and blue, the previous colour kept warm, on v0: the steady state after two deploys. */
const GREEN_SERVES_V1 = { colour: 'green', image: image('1.0.0') };

/** canary-step: the app cart, v1 on 2 replicas, behind a host-level VirtualService (host cart, 100). */
const CART = 'cart';
const cartImage = (version: string): string => `ghcr.io/acme/cart:${version}`;
/** The header rule canary-step adds to a VirtualService and removes (README, Routers). */
const HEADER_RULE = 'cd-actions-header-route';

/** The stable cart (Deployment and Service) and its VirtualService, written straight into the store, then served. */
async function seedCart(sandbox: Sandbox): Promise<void> {
  create(sandbox, 'Deployment', {
    ...(parse(
      deploymentManifest({ name: CART, namespace: NS, image: cartImage('1.0.0'), replicas: 2 }),
    ) as object),
  });
  create(sandbox, 'Service', {
    ...(parse(serviceManifest(CART)) as object),
    metadata: { name: CART, namespace: NS },
  });
  create(sandbox, 'VirtualService', {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: CART, namespace: NS },
    spec: { hosts: [CART], http: [{ route: [{ destination: { host: CART }, weight: 100 }] }] },
  });
  await settle(sandbox, NS);
}

const canaryFiles: Files = {
  'k8s/app.yaml': deploymentManifest({ name: CART, image: cartImage('2.0.0'), replicas: 2 }),
};
/** A short ramp: the gate is the canary-pods check alone (no Prometheus), one second a step. */
const canaryInputs: Inputs = {
  manifests: 'k8s/app.yaml',
  route: 'istio',
  steps: '50,100',
  'header-route': 'canary=true',
  'step-duration': '1s',
  'check-interval': '250ms',
  'scale-down-delay': '1s',
  timeout: '30s',
};

interface HttpRule {
  name?: string;
  match?: unknown[];
  route?: { destination?: { host?: string }; weight?: number }[];
}

/** The VirtualService cart: weights by short host, and whether the header rule is there. */
function cartRoute(sandbox: Sandbox): { weights: Record<string, number>; header: boolean; detail: string } {
  const http = (live(sandbox, 'VirtualService', NS, CART)?.spec as { http?: HttpRule[] } | undefined)?.http;
  const weighted = (http ?? []).find((r) => r.name !== HEADER_RULE && !r.match?.length);
  const route = weighted?.route ?? [];
  const weights = Object.fromEntries(
    route.map((d) => [
      (d.destination?.host ?? '').split('.')[0]!,
      d.weight ?? (route.length === 1 ? 100 : 0),
    ]),
  );
  const header = (http ?? []).some((r) => r.name === HEADER_RULE);
  const detail = http
    ? `VirtualService cart ${JSON.stringify(weights)}${header ? ` + ${HEADER_RULE}` : ''}`
    : 'VirtualService cart is gone';
  return { weights, header, detail };
}

/**
 * Canary: new when the stable serves the new version on every pod, the route sends 100 to it with
 * no header rule, and the canary is gone: its Deployment, and its destination from the route. A
 * weight-0 destination the run warned it could not remove is accepted (it carries nothing, and
 * promotion's clean-up failures are warnings, README); a canary Deployment left is not: its record
 * still says progressing, so status reports a canary in progress and the next version is refused.
 * Old when the stable is untouched and the route sends everything to it (the canary at weight 0
 * may stay). A canary share or header rule left in the route is stranded traffic.
 */
function canaryTraffic(sandbox: Sandbox, result: ActionResult): Traffic {
  const route = cartRoute(sandbox);
  const canaryWeight = route.weights[`${CART}-canary`];
  if (route.weights[CART] !== 100 || (canaryWeight ?? 0) !== 0 || route.header)
    return { on: 'stranded', detail: route.detail };
  const old = serves(sandbox, CART, cartImage('1.0.0'));
  if (old.ok) return { on: 'old', detail: `${route.detail}; ${old.detail}` };
  const now = serves(sandbox, CART, cartImage('2.0.0'));
  const canary = live(sandbox, 'Deployment', NS, `${CART}-canary`);
  const warned = result.warnings.some((w) => /VirtualService .* could not be removed/.test(w));
  // A canary Deployment the run could not delete is acceptable only if it said so, stopped it, and
  // its record no longer reads as a canary in progress (the next release would be refused).
  const stopped =
    canary &&
    result.warnings.some((w) => new RegExp(`Deployment ${CART}-canary could not be removed`).test(w)) &&
    (canary.spec as { replicas?: number } | undefined)?.replicas === 0 &&
    canaryState(canary) === 'promoted';
  const left = [
    ...(canary && !stopped ? [`${CART}-canary left, its record says ${canaryState(canary)}`] : []),
    ...(canaryWeight !== undefined && !warned ? ['the canary destination left without a warning'] : []),
  ];
  const detail = `${route.detail}; ${now.detail}${left.length ? `; ${left.join('; ')}` : ''}`;
  return { on: now.ok && left.length === 0 ? 'new' : 'unrestored', detail };
}

/** With dynamic-stable-scale the stable was shrunk to its share: back on it means back at its full size too. */
function dynamicCanaryTraffic(sandbox: Sandbox, result: ActionResult): Traffic {
  const traffic = canaryTraffic(sandbox, result);
  const replicas = (live(sandbox, 'Deployment', NS, CART)?.spec as { replicas?: number } | undefined)
    ?.replicas;
  if (traffic.on !== 'old' || replicas === 2) return traffic;
  return {
    on: 'unrestored',
    detail: `${traffic.detail}; ${CART} left at ${replicas ?? '?'} of its 2 replicas`,
  };
}

/** The state the canary's record (annotation cd-actions.dev/record) gives it. */
function canaryState(deployment: KubeObject): string {
  const raw = deployment.metadata.annotations?.['cd-actions.dev/record'];
  return (raw ? (JSON.parse(raw) as { canary?: { state?: string } }).canary?.state : undefined) ?? 'nothing';
}

/** The engine's lock and books: the same requests (Lease, record, history) with the same handling in every scenario. */
const engineOwn = (r: RecordedRequest): boolean => isLease(r) || r.phase === 'books';

/** `action: abort` of a canary the set-up ramped to 50% and paused (with `extra` inputs). */
function pausedCanaryAbort(
  name: string,
  extra: Inputs,
  role: Scenario['role'],
  traffic: Scenario['traffic'],
): Scenario {
  return {
    name,
    action: 'canary-step',
    app: CART,
    role,
    setUp: async (sandbox, run) => {
      await seedCart(sandbox);
      await run('canary-step', canaryFiles, { ...canaryInputs, ...extra, weight: '50' });
    },
    files: {},
    inputs: { app: CART, action: 'abort', 'scale-down-delay': '1s', timeout: '30s' },
    // An abort exits non-zero, as asked or not, so that if: failure() notifications fire (README).
    healthy: 'back',
    hangAt: 'abort',
    prune: {
      keep: (r) => !engineOwn(r),
      why: "the engine's lock and books (Lease, record, history): the same requests with the same handling in every scenario",
    },
    traffic,
  };
}

/** Longest first: the matrix runs them a few at a time, in this order. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'canary-step (istio host, header route) v1 → v2',
    action: 'canary-step',
    app: CART,
    role: CANARY_ROLE,
    setUp: (sandbox) => seedCart(sandbox),
    files: canaryFiles,
    inputs: canaryInputs,
    traffic: canaryTraffic,
    hangAt: 'step 50',
    prune: {
      keep: (r) =>
        !engineOwn(r) &&
        // waitForRollout's lists and watches, as in deploy-rolling's rollout.
        !(['canary', 'step 100', 'promote'].includes(r.phase) && ['list', 'watch'].includes(r.verb)) &&
        // API discovery before an apply.
        r.path.includes('/namespaces/') &&
        // Step 100 reads and writes the route as step 50 does, and the same abort undoes it.
        !(r.phase === 'step 100' && r.path.includes('/virtualservices/')),
      why: "requests the same as elsewhere in the matrix: the engine's lock and books (Lease, record, history), the rollout watch's lists and watches (as in deploy-rolling), API discovery, and step 100's route read and write (step 50's, undone by the same abort)",
    },
  },
  pausedCanaryAbort('canary-step abort of a canary paused at 50%', {}, CANARY_ROLE, canaryTraffic),
  // The stable (2 replicas) is shrunk to 1 for 50%: the abort scales it back, then steps the weight down.
  pausedCanaryAbort(
    'canary-step abort of a canary paused at 50% with dynamic-stable-scale',
    { 'dynamic-stable-scale': 'true' },
    CANARY_DYNAMIC_ROLE,
    dynamicCanaryTraffic,
  ),
  {
    name: 'deploy-blue-green (service) v1 → v2',
    action: 'deploy-blue-green',
    app: 'web',
    role: BLUE_GREEN_ROLE,
    setUp: async (_sandbox, run) => {
      await run('deploy-blue-green', appFiles('0.0.0'), blueGreenInputs);
      await run('deploy-blue-green', appFiles('1.0.0'), blueGreenInputs);
    },
    files: appFiles('2.0.0'),
    inputs: blueGreenInputs,
    traffic: (sandbox) =>
      colourTraffic(
        sandbox,
        serviceColour(sandbox),
        `Service web selects ${serviceColour(sandbox) ?? '-'}`,
        GREEN_SERVES_V1,
        image('2.0.0'),
      ),
    hangAt: 'switch',
  },
  {
    name: 'deploy-rolling v1 → v2',
    action: 'deploy-rolling',
    app: 'web',
    role: DEPLOYER_ROLE,
    setUp: async (_sandbox, run) => {
      await run('deploy-rolling', appFiles('1.0.0'), rollingInputs);
    },
    files: appFiles('2.0.0'),
    inputs: rollingInputs,
    traffic: (sandbox) => rollingTraffic(sandbox, 'web', image('1.0.0'), image('2.0.0')),
  },
  {
    name: 'rollback of a blue-green app green → blue',
    action: 'rollback',
    app: 'web',
    role: BLUE_GREEN_ROLE,
    setUp: async (_sandbox, run) => {
      await run('deploy-blue-green', appFiles('0.0.0'), blueGreenInputs);
      await run('deploy-blue-green', appFiles('1.0.0'), blueGreenInputs);
    },
    files: {},
    inputs: { app: 'web', reason: 'fault matrix', timeout: '30s' },
    traffic: (sandbox) =>
      colourTraffic(
        sandbox,
        serviceColour(sandbox),
        `Service web selects ${serviceColour(sandbox) ?? '-'}`,
        GREEN_SERVES_V1,
        image('0.0.0'),
      ),
    hangAt: 'switch',
  },
  {
    name: 'rollback of a rolling app v2 → v1',
    action: 'rollback',
    app: 'web',
    role: DEPLOYER_ROLE,
    setUp: async (_sandbox, run) => {
      await run('deploy-rolling', appFiles('1.0.0'), rollingInputs);
      await run('deploy-rolling', appFiles('2.0.0'), rollingInputs);
    },
    files: {},
    inputs: { app: 'web', reason: 'fault matrix', timeout: '30s' },
    traffic: (sandbox) => rollingTraffic(sandbox, 'web', image('2.0.0'), image('1.0.0')),
  },
  {
    name: 'deploy-blue-green (gateway-api) v1 → v2',
    action: 'deploy-blue-green',
    app: 'web',
    role: BLUE_GREEN_ROLE,
    setUp: async (sandbox, run) => {
      seedBlue(sandbox);
      create(sandbox, 'Service', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web-blue', namespace: NS },
        spec: { selector: { app: 'web', version: 'blue' }, ports: [{ port: 80, targetPort: 8080 }] },
      });
      create(sandbox, 'HTTPRoute', {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'web', namespace: NS },
        spec: { rules: [{ backendRefs: [{ name: 'web-blue', port: 80, weight: 100 }] }] },
      });
      await run('deploy-blue-green', appFiles('1.0.0'), { ...blueGreenInputs, route: 'gateway-api' });
    },
    files: appFiles('2.0.0'),
    inputs: { ...blueGreenInputs, route: 'gateway-api' },
    traffic: (sandbox) => {
      const route = gatewayColour(sandbox);
      return colourTraffic(sandbox, route.colour, route.detail, GREEN_SERVES_V1, image('2.0.0'));
    },
    prune: routeOnly(/\/httproutes\/|\/services\/web-(blue|green)$/),
  },
  {
    name: 'deploy-blue-green (istio) v1 → v2',
    action: 'deploy-blue-green',
    app: 'web',
    role: BLUE_GREEN_ROLE,
    setUp: async (sandbox, run) => {
      seedBlue(sandbox);
      create(sandbox, 'Service', {
        ...(parse(serviceManifest()) as object),
        metadata: { name: 'web', namespace: NS },
      });
      create(sandbox, 'DestinationRule', {
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: { name: 'web', namespace: NS },
        spec: {
          host: 'web',
          subsets: [
            { name: 'blue', labels: { version: 'blue' } },
            { name: 'green', labels: { version: 'green' } },
          ],
        },
      });
      create(sandbox, 'VirtualService', {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'web', namespace: NS },
        spec: {
          hosts: ['web'],
          http: [
            {
              route: [
                { destination: { host: 'web', subset: 'blue' }, weight: 100 },
                { destination: { host: 'web', subset: 'green' }, weight: 0 },
              ],
            },
          ],
        },
      });
      await run('deploy-blue-green', appFiles('1.0.0'), { ...blueGreenInputs, route: 'istio' });
    },
    files: appFiles('2.0.0'),
    inputs: { ...blueGreenInputs, route: 'istio' },
    traffic: (sandbox) => {
      const weights = istioWeights(sandbox);
      return colourTraffic(
        sandbox,
        soleWeight(weights),
        `VirtualService web ${JSON.stringify(weights)}`,
        GREEN_SERVES_V1,
        image('2.0.0'),
      );
    },
    prune: routeOnly(/\/virtualservices\//),
  },
];

export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name.startsWith(name));
  if (!found) throw new Error(`no fault scenario ${name}`);
  return found;
}
