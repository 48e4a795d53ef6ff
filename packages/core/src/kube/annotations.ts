/**
 * Annotation names, apart from the modules that read and write them so that input validation can
 * name them without loading the Kubernetes client (start-up path).
 */
export const RECORD_ANNOTATION = 'cd-actions.dev/record';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const CHANGE_CAUSE = 'kubernetes.io/change-cause';
