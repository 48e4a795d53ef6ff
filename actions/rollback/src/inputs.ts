import { KUBE_NAME, KUBE_NAME_FORM } from '../../../packages/core/src/names.js';
import { clusterInputs } from '../../../packages/core/src/cluster-inputs.js';
import { deployInputs, resolveSettings } from '../../../packages/core/src/config.js';
import { exactlyOneOf, input } from '../../../packages/core/src/inputs.js';

export const spec = {
  ...deployInputs,
  ...clusterInputs,
  app: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  deployment: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM, config: false }),
  'to-revision': input.string({
    default: 'previous',
    config: false,
    pattern: /^(previous|last-successful|[1-9][0-9]{0,9})$/,
    patternDescription: 'previous, last-successful, or a revision number such as 3',
  }),
  reason: input.string({ config: false }),
  timeout: input.duration({ default: '5m', min: '1s', max: '6h' }),
  'dry-run': input.boolean({ default: false, config: false }),
  'github-token': input.secret({ config: false }),
} as const;

export function getInputs(): ReturnType<typeof resolveSettings<typeof spec>> {
  return resolveSettings(spec, { rules: [exactlyOneOf('app', 'deployment')] });
}
