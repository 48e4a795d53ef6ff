/**
 * deploy-blue-green inputs: every input, the manifests and both check lists are validated here,
 * before anything touches a network.
 */
import { KUBE_NAME, KUBE_NAME_FORM, namePrefixRule } from '@cd-actions/core/inputs/names';
import { deployInputs, resolveSettings } from '@cd-actions/core/config/config';
import { input, InputError, type RuleProblem, type Settings } from '@cd-actions/core/inputs/inputs';
import { IMAGES_FORM, parseImageOverrides, type KubeObject } from '@cd-actions/core/manifests/manifests';
import { PlanError, planRolling } from '@cd-actions/core/strategies/rolling/plan';
import { fillChecks, parseChecks } from '@cd-actions/core/gate/parse';
import { prometheusAccessInputs, prometheusAccessRules } from '@cd-actions/core/inputs/prometheus';
import { SWITCH_ROUTES } from '@cd-actions/core/traffic/router';
import { pathRoots } from '@cd-actions/core/inputs/workspace-path';
import { configFilesInputs } from '@cd-actions/core/inputs/config-files';
import { configMapOf, readConfigFiles, type ConfigMount } from '@cd-actions/core/manifests/config-files';

/** The app names the colour Deployments `<app>-blue` and `<app>-green`; a Gateway API route, the colour Services. */
const COLOR_NAMES = namePrefixRule(['-blue', '-green']);

const LABEL = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export const spec = {
  ...deployInputs,
  kubeconfig: input.secret({ config: false }),
  context: input.string(),
  namespace: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  app: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM, validate: COLOR_NAMES.check }),
  service: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  'preview-service': input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  manifests: input.paths({ what: 'manifest files' }),
  images: input.list({
    itemDescription: IMAGES_FORM,
    item: (line) => (parseImageOverrides([line]).problems.length > 0 ? IMAGES_FORM : undefined),
  }),
  ...configFilesInputs,
  'color-label': input.string({
    default: 'version',
    pattern: LABEL,
    patternDescription: 'a label key such as version or app.kubernetes.io/version',
  }),
  route: input.enum(SWITCH_ROUTES, { default: 'service' }),
  'route-name': input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  'pre-switch-checks': input.document({
    shape: 'list',
    description:
      'a YAML list of health-gate checks, each a mapping with "kind" (http, prometheus, pods or command)',
  }),
  'post-switch-checks': input.document({
    shape: 'list',
    description:
      'a YAML list of health-gate checks, each a mapping with "kind" (http, prometheus, pods or command)',
  }),
  ...prometheusAccessInputs,
  'confirm-traffic': input.boolean({ default: true }),
  'traffic-metric': input.string({
    default: 'http_requests_total',
    pattern: /^[a-zA-Z_:][a-zA-Z0-9_:]*$/,
    patternDescription: 'a Prometheus metric name such as http_requests_total',
  }),
  'pre-switch-duration': input.duration({ default: '30s', min: '1s', max: '1h' }),
  'verify-duration': input.duration({ default: '1m', min: '1s', max: '6h' }),
  'check-interval': input.duration({ default: '5s', min: '100ms', max: '10m' }),
  'keep-previous': input.boolean({ default: true }),
  'scale-down-delay': input.duration({ default: '30s', allowZero: true, max: '1h' }),
  timeout: input.duration({ default: '10m', min: '1s', max: '6h' }),
  'auto-rollback': input.boolean({ default: true }),
  'on-cancel': input.enum(['rollback', 'leave'], { default: 'rollback' }),
  'lock-wait': input.duration({ default: '0s', allowZero: true, max: '6h' }),
  'dry-run': input.boolean({ default: false, config: false }),
  'github-token': input.secret({ config: false }),
} as const;

export type BlueGreenSettings = Settings<typeof spec>;

function checksRule(name: 'pre-switch-checks' | 'post-switch-checks') {
  return (s: BlueGreenSettings): RuleProblem | undefined => {
    const doc = name === 'pre-switch-checks' ? s.preSwitchChecks : s.postSwitchChecks;
    if (doc === undefined) return undefined;
    const { problems } = parseChecks(fillChecks(doc, { color: 'blue', deployment: 'app-blue' }), {
      namespace: s.namespace ?? 'default',
      ...(s.prometheusUrl ? { prometheusUrl: s.prometheusUrl } : {}),
    });
    if (problems.length === 0) return undefined;
    return {
      input: name,
      accepted: 'valid checks',
      message: problems.map((p) => `Input "${name}": ${p}`).join('\n'),
    };
  };
}

const rules = [
  ...prometheusAccessRules,
  (s: BlueGreenSettings): RuleProblem | undefined =>
    s.manifests === undefined && s.images === undefined && s.configFiles === undefined
      ? {
          input: 'manifests',
          accepted: 'manifest files or globs, images, or config-files',
          message:
            'Input "manifests" is required: give manifests, images or config-files; there is nothing to deploy',
        }
      : undefined,
  (s: BlueGreenSettings): RuleProblem | undefined =>
    s.route === 'gateway-api' && s.service !== undefined && COLOR_NAMES.check(s.service) !== undefined
      ? { input: 'service', accepted: `with route gateway-api, ${COLOR_NAMES.form}` }
      : undefined,
  checksRule('pre-switch-checks'),
  checksRule('post-switch-checks'),
];

export function getInputs(
  options: { read?: (name: string) => string; workspace?: string } = {},
): BlueGreenSettings {
  return resolveSettings(spec, { rules, ...options });
}

export interface BlueGreenPlan {
  namespace: string | undefined;
  app: string;
  deployment?: KubeObject;
  others: { object: KubeObject; source: string }[];
  /** The config the new colour mounts (config-files); its ConfigMap is among `others`. */
  config?: ConfigMount;
}

/** Manifests and config files read and checked offline: at most one Deployment, the one namespace. */
export async function getPlan(settings: BlueGreenSettings): Promise<BlueGreenPlan> {
  const files = settings.configFiles
    ? await readConfigFiles(settings.configFiles, pathRoots().workspace)
    : undefined;
  const plan = await planOf(settings);
  if (files) {
    const configMap = configMapOf(plan.app, files, plan.namespace);
    plan.others.push({ object: configMap, source: 'config-files' });
    plan.config = { configMap: configMap.metadata.name, mountPath: settings.configMountPath };
  }
  const service = settings.service ?? plan.app;
  if (settings.previewService !== undefined && settings.previewService === service) {
    throw new InputError([
      {
        input: 'preview-service',
        value: settings.previewService,
        accepted: 'a Service name other than the live Service',
        message: `Input "preview-service" has value "${settings.previewService}": it must differ from the live Service "${service}"`,
      },
    ]);
  }
  return plan;
}

async function planOf(settings: BlueGreenSettings): Promise<BlueGreenPlan> {
  const problem = (message: string): InputError =>
    new InputError([{ input: 'manifests', value: '', accepted: '', message }]);
  if (!settings.manifests) {
    if (!settings.app) {
      throw new InputError([
        {
          input: 'app',
          value: '',
          accepted: KUBE_NAME_FORM,
          message:
            'Input "app" is required when no manifests are given: it names the <app>-<color> Deployments',
        },
      ]);
    }
    return { namespace: settings.namespace, app: settings.app, others: [] };
  }
  try {
    const plan = await planRolling({
      namespace: settings.namespace,
      manifests: settings.manifests,
      images: parseImageOverrides([...(settings.images ?? [])]).overrides,
      deployments: [],
      workspace: pathRoots().workspace,
    });
    const deployments = plan.objects.filter((m) => m.object.kind === 'Deployment');
    if (deployments.length !== 1) {
      throw problem(
        `Input "manifests": a blue-green deploy takes exactly one Deployment (the app); the manifests hold ${deployments.length}: ${deployments.map((d) => d.object.metadata.name).join(', ')}`,
      );
    }
    const deployment = deployments[0]!;
    const name = deployment.object.metadata.name;
    if (settings.app === undefined && COLOR_NAMES.check(name) !== undefined) {
      throw problem(
        `Input "manifests": ${deployment.source}: the Deployment's name "${name}" (${name.length} characters) names the app when input "app" is not given, and the app must be at most ${COLOR_NAMES.max} characters so that ${name}-green stays within 63; give input "app" a shorter name`,
      );
    }
    return {
      namespace: plan.namespace,
      app: settings.app ?? deployment.object.metadata.name,
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
