import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '@cd-actions/core/inputs/inputs';
import { HEADER_ROUTE_FORM, STEPS_FORM } from '@cd-actions/core/strategies/canary/plan';
import { getInputs, getPlan } from './inputs.js';

const workspace = await mkdtemp(join(tmpdir(), 'canary-inputs-'));
afterEach(() => vi.unstubAllEnvs());

/** What every case gives unless it says otherwise: enough to run. */
const BASE = { app: 'web', images: 'web=ghcr.io/acme/web:2' };

function read(given: Record<string, string>): (name: string) => string {
  const all: Record<string, string> = { ...BASE, ...given };
  return (name) => all[name] ?? '';
}

function inputErrorOf(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, but the inputs were accepted');
}

const NAME_LIMIT =
  'at most 56 characters so that the names made from it (<name>-canary) stay within the 63-character limit';

/** One refused set of inputs: the input blamed, its value as shown, and what the error says. */
interface Refused {
  what: string;
  given: Record<string, string>;
  input: string;
  value: string;
  accepted: string;
  message: string;
}

describe('canary-step inputs: refused before anything touches a network', () => {
  it.each<Refused>([
    {
      what: 'an unknown route',
      given: { route: 'linkerd' },
      input: 'route',
      value: 'linkerd',
      accepted: 'one of istio, gateway-api, nginx, replicas',
      message: 'Input "route" has value "linkerd": expected one of istio, gateway-api, nginx, replicas',
    },
    {
      what: 'steps that do not increase',
      given: { steps: '5,50,25' },
      input: 'steps',
      value: '5,50,25',
      accepted: STEPS_FORM,
      message: 'Input "steps": step 3: weight 25 does not increase on 50; weights must increase',
    },
    {
      what: 'a step over 100',
      given: { steps: '50,150' },
      input: 'steps',
      value: '50,150',
      accepted: STEPS_FORM,
      message: 'Input "steps": step 2: weight "150" is not a whole percentage from 1 to 100',
    },
    {
      what: 'a step with a bad pause',
      given: { steps: '- weight: 5\n  pause: soon\n- weight: 100' },
      input: 'steps',
      value: '- weight: 5\n  pause: soon\n- weight: 100',
      accepted: STEPS_FORM,
      message: 'Input "steps": step 1: pause "soon" is not a duration such as 30s, 10m or 1h',
    },
    {
      what: 'a weight that is not one of the steps',
      given: { weight: '30' },
      input: 'weight',
      value: '30',
      accepted: 'one of the steps: 5, 25, 50, 100',
      message: 'Input "weight" has value "30": expected one of the steps (5, 25, 50, 100)',
    },
    {
      what: 'a weight over 100',
      given: { weight: '150' },
      input: 'weight',
      value: '150',
      accepted: 'an integer from 1 to 100',
      message: 'Input "weight" has value "150"',
    },
    {
      what: 'a header route without an operator',
      given: { route: 'istio', 'header-route': 'canary' },
      input: 'header-route',
      value: 'canary',
      accepted: HEADER_ROUTE_FORM,
      message: `Input "header-route" has value "canary": expected ${HEADER_ROUTE_FORM}`,
    },
    {
      what: 'a header route whose regular expression does not compile',
      given: { route: 'gateway-api', 'header-route': 'x-user=~(alice' },
      input: 'header-route',
      value: 'x-user=~(alice',
      accepted: HEADER_ROUTE_FORM,
      message: `Input "header-route" has value "x-user=~(alice": expected ${HEADER_ROUTE_FORM}`,
    },
    {
      what: 'a header route with route replicas',
      given: { route: 'replicas', 'header-route': 'canary=true' },
      input: 'header-route',
      value: 'canary=true',
      accepted: 'a route of istio, gateway-api or nginx',
      message:
        'Input "header-route" needs a router that matches headers: route "replicas" (a Service alone) cannot; use istio, gateway-api or nginx',
    },
    {
      what: 'dynamic-stable-scale with route replicas',
      given: { route: 'replicas', 'dynamic-stable-scale': 'true' },
      input: 'dynamic-stable-scale',
      value: 'true',
      accepted: 'true only with route istio, gateway-api or nginx',
      message:
        'Input "dynamic-stable-scale" has value "true", but route "replicas" splits traffic by replica counts already',
    },
    {
      what: 'a max-error-ratio beyond what the sequential test takes',
      given: { 'max-error-ratio': '20' },
      input: 'max-error-ratio',
      value: '20',
      accepted: "a share of the stable's error rate from 0.05 to 10, such as 1 for twice it",
      message: 'Input "max-error-ratio" has value "20"',
    },
    {
      what: 'both error-rate comparisons at once',
      given: { 'max-error-ratio': '1', 'max-error-increase': '0.02' },
      input: 'max-error-ratio',
      value: '1',
      accepted: 'max-error-ratio (the sequential test) or max-error-increase (points), not both',
      message: 'Inputs "max-error-ratio" and "max-error-increase" are both given',
    },
    {
      what: 'a max-error-increase in percent, not a ratio',
      given: { 'max-error-increase': '2%' },
      input: 'max-error-increase',
      value: '2%',
      accepted: 'a ratio from 0 to 1, such as 0.01 for one percentage point',
      message: 'Input "max-error-increase" has value "2%"',
    },
    {
      what: 'dynamic-stable-scale that is not a boolean',
      given: { route: 'istio', 'dynamic-stable-scale': 'yes' },
      input: 'dynamic-stable-scale',
      value: 'yes',
      accepted: 'true or false',
      message: 'Input "dynamic-stable-scale" has value "yes": expected true or false',
    },
    {
      what: 'a check of an unknown kind',
      given: { checks: '- { kind: smtp }' },
      input: 'checks',
      value: '- { kind: smtp }',
      accepted: 'valid checks',
      message: 'Input "checks": check 1: ',
    },
    {
      what: 'checks that are not a list',
      given: { checks: 'kind: http' },
      input: 'checks',
      value: 'kind: http',
      accepted: 'a YAML list of health-gate checks',
      message: 'Input "checks" has value "kind: http": the document is not a list',
    },
    {
      what: 'an app too long for <app>-canary',
      given: { app: `web-${'x'.repeat(53)}` },
      input: 'app',
      value: `web-${'x'.repeat(53)}`,
      accepted: NAME_LIMIT,
      message: `Input "app" has value "web-${'x'.repeat(53)}": expected a Kubernetes name`,
    },
    {
      what: 'a service too long for <service>-canary',
      given: { service: 's'.repeat(60) },
      input: 'service',
      value: 's'.repeat(60),
      accepted: NAME_LIMIT,
      message: `Input "service" has value "${'s'.repeat(60)}": expected a Kubernetes name`,
    },
  ])('$what', ({ given, input, value, accepted, message }) => {
    const error = inputErrorOf(() => getInputs({ read: read(given), workspace }));
    expect(error.problems.map((p) => p.input)).toEqual([input]);
    expect(error.problems[0]!.value).toBe(value);
    expect(error.problems[0]!.accepted).toContain(accepted);
    expect(error.message).toContain(message);
  });

  it('blames "steps", naming the step, for a bad check given in a step', () => {
    const steps = '- weight: 5\n  checks:\n    - { kind: smtp }\n- weight: 100';
    const error = inputErrorOf(() => getInputs({ read: read({ steps }), workspace }));
    expect(error.problems.map((p) => p.input)).toEqual(['steps']);
    expect(error.problems[0]!.value).toBe(steps);
    expect(error.message).toMatch(/Input "steps": step 1: .*check 1/);
  });

  it('takes dynamic-stable-scale with a mesh router', () => {
    for (const route of ['istio', 'gateway-api', 'nginx'])
      expect(
        getInputs({ read: read({ route, 'dynamic-stable-scale': 'true' }), workspace }).dynamicStableScale,
      ).toBe(true);
    expect(
      getInputs({ read: read({ route: 'replicas', 'dynamic-stable-scale': 'false' }), workspace })
        .dynamicStableScale,
    ).toBe(false);
  });

  it('accepts an app of 56 characters', () => {
    const app = 'a'.repeat(56);
    expect(getInputs({ read: read({ app }), workspace }).app).toBe(app);
  });

  it('lists every problem at once', () => {
    const error = inputErrorOf(() =>
      getInputs({ read: read({ route: 'linkerd', app: 'A_B', 'step-duration': 'soon' }), workspace }),
    );
    expect(error.problems.map((p) => p.input).sort()).toEqual(['app', 'route', 'step-duration']);
  });
});

describe('canary-step inputs: a valid set', () => {
  it('reads every input it is given', () => {
    const steps =
      '- weight: 10\n  pause: 30s\n  checks:\n    - { kind: http, url: "https://shop.example.com/health" }\n- weight: 50\n- weight: 100';
    const settings = getInputs({
      read: read({
        route: 'istio',
        'route-name': 'web',
        'route-rule': 'primary',
        steps,
        weight: '50',
        'header-route': 'x-user=~^(alice|bob)$',
        checks: '- { kind: command, name: smoke, command: [./smoke.sh] }',
        'prometheus-url': 'https://prometheus.example.com',
        'step-duration': '2m',
        'max-error-ratio': '0.5',
      }),
      workspace,
    });
    expect(settings).toMatchObject({
      action: 'run',
      app: 'web',
      images: ['web=ghcr.io/acme/web:2'],
      route: 'istio',
      routeName: 'web',
      routeRule: 'primary',
      weight: 50,
      headerRoute: 'x-user=~^(alice|bob)$',
      stepDuration: 120_000,
      maxErrorRatio: '0.5',
      verifySplit: true,
      splitTolerance: 2,
    });
    expect(settings.steps).toEqual([
      { weight: 10, pause: '30s', checks: [{ kind: 'http', url: 'https://shop.example.com/health' }] },
      { weight: 50 },
      { weight: 100 },
    ]);
  });

  it('takes the defaults, leaving the routing to the canary in progress', () => {
    const settings = getInputs({ read: read({}), workspace });
    expect(settings).toMatchObject({ steps: '5,25,50,100', action: 'run' });
    // No route here: a canary in progress keeps its routing in its record.
    expect(settings.route).toBeUndefined();
    expect(settings.headerRoute).toBeUndefined();
    // Not given is not false: a canary in progress with dynamic-stable-scale keeps scaling its stable.
    expect(settings.dynamicStableScale).toBeUndefined();
    expect(settings.weight).toBeUndefined();
  });
});

describe('canary-step plan: the manifests and the app', () => {
  async function manifest(file: string, text: string): Promise<void> {
    await mkdir(join(workspace, 'k8s'), { recursive: true });
    await writeFile(join(workspace, 'k8s', file), text);
  }
  const deployment = (name: string): string =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec:\n      containers: [{ name: web, image: ghcr.io/acme/web:1 }]\n`;

  it('asks for "app" when only images are given', async () => {
    const settings = getInputs({
      read: (name) => ({ images: 'web=ghcr.io/acme/web:2' })[name] ?? '',
      workspace,
    });
    const error = await getPlan(settings).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems.map((p) => p.input)).toEqual(['app']);
    expect((error as Error).message).toContain('Input "app" is required when no manifests are given');
  });

  it('takes exactly one Deployment, naming the ones it found', async () => {
    await manifest('two.yaml', `${deployment('web')}---\n${deployment('worker')}`);
    vi.stubEnv('GITHUB_WORKSPACE', workspace);
    const settings = getInputs({ read: (name) => ({ manifests: 'k8s/two.yaml' })[name] ?? '', workspace });
    const error = await getPlan(settings).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems.map((p) => p.input)).toEqual(['manifests']);
    expect((error as Error).message).toContain(
      'a canary takes exactly one Deployment (the app); the manifests hold 2: web, worker',
    );
  });

  it('blames "manifests" when the Deployment there names a too long app, and says to give "app"', async () => {
    const name = 'd'.repeat(57);
    await manifest('long.yaml', deployment(name));
    vi.stubEnv('GITHUB_WORKSPACE', workspace);
    const settings = getInputs({ read: (n) => ({ manifests: 'k8s/long.yaml' })[n] ?? '', workspace });
    const error = await getPlan(settings).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems.map((p) => p.input)).toEqual(['manifests']);
    expect((error as Error).message).toContain(
      `the Deployment's name "${name}" names the app when input "app" is not given, and must be at most 56 characters so that ${name}-canary stays within 63; give input "app" a shorter name`,
    );
    // Given a short app, the same manifests are fine.
    const plan = await getPlan(
      getInputs({ read: (n) => ({ manifests: 'k8s/long.yaml', app: 'web' })[n] ?? '', workspace }),
    );
    expect(plan).toMatchObject({
      app: 'web',
      steps: [{ weight: 5 }, { weight: 25 }, { weight: 50 }, { weight: 100 }],
    });
    expect(plan.deployment?.metadata.name).toBe(name);
  });
});
