/** The inputs every action that talks to a cluster takes, with the same names and forms. */
import { input } from './inputs.js';
import { KUBE_NAME, KUBE_NAME_FORM } from './names.js';

export const clusterInputs = {
  kubeconfig: input.secret({ config: false }),
  context: input.string(),
  namespace: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
} as const;
