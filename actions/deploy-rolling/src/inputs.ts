import {
  ANNOTATION_KEY_FORM,
  ANNOTATIONS_MAX_BYTES,
  isAnnotationKey,
  KUBE_NAME,
  KUBE_NAME_FORM,
} from '@cd-actions/core/inputs/names';
import { clusterInputs } from '@cd-actions/core/inputs/cluster';
import { deployInputs, resolveSettings } from '@cd-actions/core/config/config';
import { input } from '@cd-actions/core/inputs/inputs';
import { InputError } from '@cd-actions/core/inputs/errors';
import { IMAGES_FORM, parseImageOverrides } from '@cd-actions/core/manifests/manifests';
import { PlanError, planRolling, type RollingPlan } from '@cd-actions/core/strategies/rolling/plan';
import { pathRoots } from '@cd-actions/core/inputs/workspace-path';
import { deployGateInputs, gateRules } from '@cd-actions/core/strategies/rolling/gate-inputs';
import { configFilesInputs } from '@cd-actions/core/inputs/config-files';
import { readConfigFiles } from '@cd-actions/core/manifests/config-files';

const ANNOTATION_LINES = `key=value lines such as team=payments, each key ${ANNOTATION_KEY_FORM}`;
const ANNOTATIONS_TOTAL = `key=value lines whose keys and values add up to at most ${ANNOTATIONS_MAX_BYTES / 1024} KiB (the API server's limit for all of an object's annotations)`;

function annotationKey(line: string): string {
  return line.slice(0, Math.max(0, line.indexOf('=')));
}

/** Bytes as the API server counts them: every key and value, the last of a repeated key. */
function annotationBytes(lines: readonly string[]): number {
  const byKey = new Map(lines.map((line) => [annotationKey(line), line.slice(line.indexOf('=') + 1)]));
  let total = 0;
  for (const [key, value] of byKey) total += Buffer.byteLength(key) + Buffer.byteLength(value);
  return total;
}

export const spec = {
  ...deployInputs,
  ...clusterInputs,
  app: input.string({ pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  manifests: input.paths({ what: 'manifest files' }),
  images: input.list({
    itemDescription: IMAGES_FORM,
    item: (line) => (parseImageOverrides([line]).problems.length > 0 ? IMAGES_FORM : undefined),
  }),
  deployment: input.list({
    itemDescription: 'Deployment names',
    item: (n) => (KUBE_NAME.test(n) ? undefined : KUBE_NAME_FORM),
  }),
  ...configFilesInputs,
  timeout: input.duration({ default: '10m', min: '1s', max: '6h' }),
  'auto-rollback': input.boolean({ default: true }),
  'on-cancel': input.enum(['rollback', 'leave'], { default: 'rollback' }),
  'lock-wait': input.duration({ default: '0s', allowZero: true, max: '6h' }),
  annotations: input.list({
    commas: false,
    itemDescription: ANNOTATION_LINES,
    item: (line) => (isAnnotationKey(annotationKey(line)) ? undefined : ANNOTATION_LINES),
    validate: (lines) => {
      const bytes = annotationBytes(lines);
      return bytes > ANNOTATIONS_MAX_BYTES
        ? { reason: `they add up to ${(bytes / 1024).toFixed(1)} KiB`, accepted: ANNOTATIONS_TOTAL }
        : undefined;
    },
  }),
  ...deployGateInputs,
  'dry-run': input.boolean({ default: false, config: false }),
  'github-token': input.secret({ config: false }),
} as const;

/** Reads and validates every input (every check parsed); `read` and `workspace` are seams for tests. */
export function getInputs(
  options: { read?: (name: string) => string; workspace?: string } = {},
): ReturnType<typeof resolveSettings<typeof spec>> {
  return resolveSettings(spec, { rules: [...gateRules], ...options });
}

export type Settings = ReturnType<typeof getInputs>;

/** The manifests and image overrides checked offline, so bad ones fail before anything heavy loads. */
export async function getPlan(settings: Settings): Promise<RollingPlan> {
  const workspace = pathRoots().workspace;
  const files = settings.configFiles ? await readConfigFiles(settings.configFiles, workspace) : undefined;
  try {
    return await planRolling({
      namespace: settings.namespace,
      manifests: settings.manifests ?? [],
      images: parseImageOverrides([...(settings.images ?? [])]).overrides,
      deployments: settings.deployment ?? [],
      workspace,
      ...(files
        ? {
            config: {
              files,
              mountPath: settings.configMountPath,
              ...(settings.app ? { app: settings.app } : {}),
            },
          }
        : {}),
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
