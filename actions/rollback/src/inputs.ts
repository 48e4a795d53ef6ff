import { KUBE_NAME, KUBE_NAME_FORM } from '@cd-actions/core/inputs/names';
import { clusterInputs } from '@cd-actions/core/inputs/cluster';
import { deployInputs, resolveSettings } from '@cd-actions/core/config/config';
import { exactlyOneOf, input } from '@cd-actions/core/inputs/inputs';
import { gateRules, rollbackGateInputs } from '@cd-actions/core/strategies/rolling/gate-inputs';

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
  ...rollbackGateInputs,
  'dry-run': input.boolean({ default: false, config: false }),
  'github-token': input.secret({ config: false }),
} as const;

export function getInputs(): ReturnType<typeof resolveSettings<typeof spec>> {
  return resolveSettings(spec, { rules: [exactlyOneOf('app', 'deployment'), ...gateRules] });
}
