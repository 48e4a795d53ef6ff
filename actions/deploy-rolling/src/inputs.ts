import { KUBE_NAME, KUBE_NAME_FORM } from '../../../packages/core/src/names.js';
import { clusterInputs } from '../../../packages/core/src/cluster-inputs.js';
import { deployInputs, resolveSettings } from '../../../packages/core/src/config.js';
import { input } from '../../../packages/core/src/inputs.js';
import { InputError } from '../../../packages/core/src/errors.js';
import { IMAGES_FORM, parseImageOverrides } from '../../../packages/core/src/manifests.js';
import { PlanError, planRolling, type RollingPlan } from '../../../packages/core/src/rolling-plan.js';

export const spec = {
  ...deployInputs,
  ...clusterInputs,
  app: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  manifests: input.list({ itemDescription: 'manifest files or globs' }),
  images: input.list({
    itemDescription: IMAGES_FORM,
    item: (line) => (parseImageOverrides([line]).problems.length > 0 ? IMAGES_FORM : undefined),
  }),
  deployment: input.list({
    itemDescription: 'Deployment names',
    item: (n) => (KUBE_NAME.test(n) ? undefined : KUBE_NAME_FORM),
  }),
  timeout: input.duration({ default: '10m', min: '1s', max: '6h' }),
  'auto-rollback': input.boolean({ default: true }),
  'on-cancel': input.enum(['rollback', 'leave'], { default: 'rollback' }),
  'lock-wait': input.duration({ default: '0s', allowZero: true, max: '6h' }),
  annotations: input.list({
    commas: false,
    itemDescription: 'key=value lines',
    item: (line) => (/^[a-zA-Z0-9./_-]+=/.test(line) ? undefined : 'key=value lines such as team=payments'),
  }),
  'dry-run': input.boolean({ default: false, config: false }),
  'github-token': input.secret({ config: false }),
} as const;

export function getInputs(): ReturnType<typeof resolveSettings<typeof spec>> {
  return resolveSettings(spec);
}

export type Settings = ReturnType<typeof getInputs>;

/** The manifests and image overrides checked offline, so bad ones fail before anything heavy loads. */
export async function getPlan(settings: Settings): Promise<RollingPlan> {
  try {
    return await planRolling({
      namespace: settings.namespace,
      manifests: settings.manifests ?? [],
      images: parseImageOverrides([...(settings.images ?? [])]).overrides,
      deployments: settings.deployment ?? [],
      workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    });
  } catch (error) {
    if (error instanceof PlanError) {
      throw new InputError(
        error.problems.map((message) => ({ input: 'manifests', value: '', accepted: '', message })),
      );
    }
    throw error;
  }
}
