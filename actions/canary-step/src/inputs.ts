/**
 * canary-step inputs: every input, the manifests, the steps, the header route and the checks are
 * validated here, before anything touches a network.
 */
import { KUBE_NAME, KUBE_NAME_FORM, namePrefixRule } from '@cd-actions/core/inputs/names';
import { deployInputs, resolveSettings } from '@cd-actions/core/config/config';
import { input, InputError, type RuleProblem, type Settings } from '@cd-actions/core/inputs/inputs';
import { IMAGES_FORM, parseImageOverrides, type KubeObject } from '@cd-actions/core/manifests/manifests';
import { PlanError, planRolling } from '@cd-actions/core/strategies/rolling/plan';
import { parseChecks } from '@cd-actions/core/gate/parse';
import { prometheusAccessInputs, prometheusAccessRules } from '@cd-actions/core/inputs/prometheus';
import { CANARY_ROUTES } from '@cd-actions/core/traffic/router';
import { pathRoots } from '@cd-actions/core/inputs/workspace-path';
import { configFilesInputs } from '@cd-actions/core/inputs/config-files';
import { configMapOf, readConfigFiles, type ConfigMount } from '@cd-actions/core/manifests/config-files';
import {
  HEADER_ROUTE_FORM,
  COOKIE_ROUTE_FORM,
  parseCookieRoute,
  parseHeaderRoute,
  parseSteps,
  STEPS_FORM,
  type Step,
} from '@cd-actions/core/strategies/canary/plan';

/** `<app>-canary` and `<service>-canary` must stay valid names. */
const CANARY_NAMES = namePrefixRule(['-canary']);

const LABEL = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export const spec = {
  ...deployInputs,
  action: input.enum(['run', 'status', 'promote', 'abort'], { default: 'run', config: false }),
  kubeconfig: input.secret({ config: false }),
  context: input.string(),
  namespace: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  app: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM, validate: CANARY_NAMES.check }),
  service: input.string({
    pattern: KUBE_NAME,
    patternDescription: KUBE_NAME_FORM,
    validate: CANARY_NAMES.check,
  }),
  manifests: input.paths({ what: 'manifest files' }),
  images: input.list({
    itemDescription: IMAGES_FORM,
    item: (line) => (parseImageOverrides([line]).problems.length > 0 ? IMAGES_FORM : undefined),
  }),
  ...configFilesInputs,
  // No defaults here: a canary in progress keeps the routing in its record (see resolveRouting).
  route: input.enum(CANARY_ROUTES),
  'route-name': input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  'route-rule': input.string({ patternDescription: 'the name of an http route of the VirtualService' }),
  steps: input.document({ default: '5,25,50,100', config: false, description: STEPS_FORM }),
  weight: input.integer({ min: 1, max: 100, config: false }),
  'header-route': input.string({ config: false, patternDescription: HEADER_ROUTE_FORM }),
  'cookie-route': input.string({ config: false, patternDescription: COOKIE_ROUTE_FORM }),
  // No default here: a canary in progress keeps its own (the record holds the stable's full size).
  'dynamic-stable-scale': input.boolean({ config: false }),
  checks: input.document({
    shape: 'list',
    description:
      'a YAML list of health-gate checks, each a mapping with "kind" (http, prometheus, pods or command)',
  }),
  'step-duration': input.duration({ default: '1m', min: '1s', max: '24h' }),
  'check-interval': input.duration({ default: '5s', min: '100ms', max: '10m' }),
  ...prometheusAccessInputs,
  'traffic-metric': input.string({
    default: 'http_requests_total',
    pattern: METRIC,
    patternDescription: 'a Prometheus metric name such as http_requests_total',
  }),
  'latency-metric': input.string({
    default: 'http_request_duration_seconds',
    pattern: METRIC,
    patternDescription: 'a Prometheus histogram name without _bucket',
  }),
  'status-label': input.string({
    default: 'code',
    pattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/,
    patternDescription: 'a label name',
  }),
  'version-label': input.string({
    pattern: LABEL,
    patternDescription: 'a label key such as version or app.kubernetes.io/version',
  }),
  'analysis-window': input.duration({ default: '1m', min: '2s', max: '1h' }),
  'verify-split': input.boolean({ default: true }),
  'split-tolerance': input.integer({ default: '2', min: 0, max: 50 }),
  // Given: health-gate's sequential test instead of the fixed comparison in points (max-error-increase).
  'max-error-ratio': input.string({
    // health-gate's max-increase, 0.05 to 10: a share of the stable's error rate, not points.
    pattern: /^(0\.(0[5-9]|[1-9])\d*|[1-9](\.\d+)?|10(\.0+)?)$/,
    patternDescription: "a share of the stable's error rate from 0.05 to 10, such as 1 for twice it",
  }),
  // Default 0.01 (one point, step.ts): left out here so that giving it beside max-error-ratio is seen.
  'max-error-increase': input.string({
    pattern: /^(0(\.\d+)?|1(\.0+)?)$/,
    patternDescription: 'a ratio from 0 to 1, such as 0.01 for one percentage point',
  }),
  'max-latency-increase': input.string({
    default: '0.2',
    pattern: /^\d+(\.\d+)?$/,
    patternDescription: 'a ratio such as 0.2 for 20% slower',
  }),
  'min-requests': input.integer({ default: '20', min: 1, max: 1_000_000 }),
  'scale-down-delay': input.duration({ default: '30s', allowZero: true, max: '1h' }),
  timeout: input.duration({ default: '10m', min: '1s', max: '6h' }),
  'on-cancel': input.enum(['abort', 'leave'], { default: 'abort' }),
  'lock-wait': input.duration({ default: '0s', allowZero: true, max: '6h' }),
  'github-token': input.secret({ config: false }),
  'report-path': input.path({ config: false, output: true, what: 'the JSON canary report to write' }),
} as const;

export type CanarySettings = Settings<typeof spec>;

function checkDefaults(s: CanarySettings): { namespace: string; prometheusUrl?: string } {
  return {
    namespace: s.namespace ?? 'default',
    ...(s.prometheusUrl ? { prometheusUrl: s.prometheusUrl } : {}),
  };
}

const rules = [
  ...prometheusAccessRules,
  (s: CanarySettings): RuleProblem | undefined =>
    s.maxErrorRatio !== undefined && s.maxErrorIncrease !== undefined
      ? {
          input: 'max-error-ratio',
          accepted: 'max-error-ratio (the sequential test) or max-error-increase (points), not both',
          message:
            'Inputs "max-error-ratio" and "max-error-increase" are both given: the first asks for the sequential test, the second for the fixed comparison in points; give one',
        }
      : undefined,
  (s: CanarySettings): RuleProblem | undefined =>
    s.action === 'run' && s.manifests === undefined && s.images === undefined && s.configFiles === undefined
      ? {
          input: 'manifests',
          accepted: 'manifest files or globs, images, or config-files',
          message:
            'Input "manifests" is required with action run: give manifests, images or config-files; there is nothing to deploy',
        }
      : undefined,
  (s: CanarySettings): RuleProblem | undefined => {
    const { problems } = parseSteps(s.steps);
    return problems.length
      ? {
          input: 'steps',
          accepted: STEPS_FORM,
          message: problems.map((p) => `Input "steps": ${p}`).join('\n'),
        }
      : undefined;
  },
  (s: CanarySettings): RuleProblem | undefined => {
    if (s.weight === undefined) return undefined;
    const weights = parseSteps(s.steps).steps.map((step) => step.weight);
    return weights.length > 0 && !weights.includes(s.weight)
      ? {
          input: 'weight',
          accepted: `one of the steps: ${weights.join(', ')}`,
          message: `Input "weight" has value "${s.weight}": expected one of the steps (${weights.join(', ')}); a job goes to one step of the ramp`,
        }
      : undefined;
  },
  (s: CanarySettings): RuleProblem | undefined => {
    if (s.headerRoute === undefined) return undefined;
    if (!parseHeaderRoute(s.headerRoute))
      return {
        input: 'header-route',
        accepted: HEADER_ROUTE_FORM,
        message: `Input "header-route" has value "${s.headerRoute}": expected ${HEADER_ROUTE_FORM}`,
      };
    if (s.cookieRoute !== undefined)
      return {
        input: 'cookie-route',
        accepted: 'header-route or cookie-route, not both',
        message:
          'Inputs "header-route" and "cookie-route" are both given: a canary has one route that bypasses the weights; give one of them',
      };
    return s.route === 'replicas'
      ? {
          input: 'header-route',
          accepted: 'a route of istio, gateway-api or nginx',
          message: `Input "header-route" needs a router that matches headers: route "replicas" (a Service alone) cannot; use istio, gateway-api or nginx`,
        }
      : undefined;
  },
  (s: CanarySettings): RuleProblem | undefined =>
    s.dynamicStableScale === true && s.route === 'replicas'
      ? {
          input: 'dynamic-stable-scale',
          accepted: 'true only with route istio, gateway-api or nginx',
          message:
            'Input "dynamic-stable-scale" has value "true", but route "replicas" splits traffic by replica counts already: the stable cannot be scaled apart from the weight; use istio, gateway-api or nginx, or leave dynamic-stable-scale false',
        }
      : undefined,
  (s: CanarySettings): RuleProblem | undefined => {
    if (s.cookieRoute === undefined) return undefined;
    if (!parseCookieRoute(s.cookieRoute))
      return {
        input: 'cookie-route',
        accepted: COOKIE_ROUTE_FORM,
        message: `Input "cookie-route" has value "${s.cookieRoute}": expected ${COOKIE_ROUTE_FORM}`,
      };
    return s.route === 'replicas'
      ? {
          input: 'cookie-route',
          accepted: 'a route of istio, gateway-api or nginx',
          message: `Input "cookie-route" needs a router that matches headers: route "replicas" (a Service alone) cannot; use istio, gateway-api or nginx`,
        }
      : undefined;
  },
  (s: CanarySettings): RuleProblem | undefined => {
    const problems = parseChecks(s.checks, checkDefaults(s)).problems;
    return problems.length
      ? {
          input: 'checks',
          accepted: 'valid checks',
          message: problems.map((p) => `Input "checks": ${p}`).join('\n'),
        }
      : undefined;
  },
  (s: CanarySettings): RuleProblem | undefined => {
    const parsed = parseSteps(s.steps);
    if (parsed.problems.length > 0) return undefined; // reported above, and the step numbers would shift
    const problems = parsed.steps.flatMap((step, i) =>
      step.checks === undefined
        ? []
        : parseChecks(step.checks, checkDefaults(s)).problems.map((p) => `step ${i + 1}: checks: ${p}`),
    );
    return problems.length
      ? {
          input: 'steps',
          accepted: STEPS_FORM,
          message: problems.map((p) => `Input "steps": ${p}`).join('\n'),
        }
      : undefined;
  },
];

export function getInputs(
  options: { read?: (name: string) => string; workspace?: string } = {},
): CanarySettings {
  return resolveSettings(spec, { rules, ...options });
}

export interface CanaryPlan {
  namespace: string | undefined;
  app: string;
  steps: Step[];
  deployment?: KubeObject;
  others: { object: KubeObject; source: string }[];
  /** The config the canary mounts (config-files); its ConfigMap is among `others`. */
  config?: ConfigMount;
}

/**
 * Manifests and config files read and checked offline: at most one Deployment (the app), one
 * namespace. Only a run deploys a version; promote, abort and status leave config-files unread.
 */
export async function getPlan(settings: CanarySettings): Promise<CanaryPlan> {
  const files =
    settings.action === 'run' && settings.configFiles
      ? await readConfigFiles(settings.configFiles, pathRoots().workspace)
      : undefined;
  const plan = await manifestsPlan(settings);
  if (files) {
    const configMap = configMapOf(plan.app, files, plan.namespace);
    plan.others.push({ object: configMap, source: 'config-files' });
    plan.config = { configMap: configMap.metadata.name, mountPath: settings.configMountPath };
  }
  return plan;
}

async function manifestsPlan(settings: CanarySettings): Promise<CanaryPlan> {
  const steps = parseSteps(settings.steps).steps;
  if (!settings.manifests) {
    if (!settings.app)
      throw new InputError([
        {
          input: 'app',
          value: '',
          accepted: KUBE_NAME_FORM,
          message: 'Input "app" is required when no manifests are given: it names the stable Deployment',
        },
      ]);
    return { namespace: settings.namespace, app: settings.app, steps, others: [] };
  }
  const problem = (message: string): InputError =>
    new InputError([{ input: 'manifests', value: '', accepted: '', message }]);
  try {
    const plan = await planRolling({
      namespace: settings.namespace,
      manifests: settings.manifests,
      images: parseImageOverrides([...(settings.images ?? [])]).overrides,
      deployments: [],
      workspace: pathRoots().workspace,
    });
    const deployments = plan.objects.filter((m) => m.object.kind === 'Deployment');
    if (deployments.length !== 1)
      throw problem(
        `Input "manifests": a canary takes exactly one Deployment (the app); the manifests hold ${deployments.length}: ${deployments.map((d) => d.object.metadata.name).join(', ')}`,
      );
    const deployment = deployments[0]!;
    const name = deployment.object.metadata.name;
    if (settings.app === undefined && CANARY_NAMES.check(name) !== undefined)
      throw problem(
        `Input "manifests": ${deployment.source}: the Deployment's name "${name}" names the app when input "app" is not given, and must be at most ${CANARY_NAMES.max} characters so that ${name}-canary stays within 63; give input "app" a shorter name`,
      );
    return {
      namespace: plan.namespace,
      app: settings.app ?? name,
      steps,
      deployment: deployment.object,
      others: plan.objects.filter((m) => m !== deployment),
    };
  } catch (error) {
    if (error instanceof PlanError)
      throw new InputError(
        error.problems.map((message) => ({ input: 'manifests', value: '', accepted: '', message })),
      );
    throw error;
  }
}
