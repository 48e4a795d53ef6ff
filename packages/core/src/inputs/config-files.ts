/**
 * The inputs that give an app its per-environment config files, shared by the deploy actions
 * (deploy-rolling, deploy-blue-green, canary-step): spread `configFilesInputs` into the spec, then
 * read the files with `readConfigFiles` (manifests/config-files.ts) while planning, before any
 * cluster call. Both may also come from the environment's entry in the deploy config
 * (`config-files`, `config-mount-path`), so `config/production.yaml` can sit beside the
 * environment it belongs to.
 *
 * An item is a path or glob (each file keeps its name in the mount folder), or `name=path` for
 * one file under another name, as `kubectl create configmap --from-file=name=path` takes it: with
 * `app.yaml=config/${{ inputs.environment }}.yaml` the app reads the same file in every
 * environment.
 *
 * Loaded on the validation path: imports stay light (no client, no network).
 */
import { input } from './inputs.js';
import type { InputSpec, ParseContext, Parsed } from './kinds.js';
import { pathRoots, resolvePatternInWorkspace } from './workspace-path.js';

export const DEFAULT_CONFIG_MOUNT_PATH = '/etc/app-config';

/** An absolute path of one or more segments, none of them `.` or `..`, in characters every runtime takes. */
export const CONFIG_MOUNT_PATH = /^(?:\/(?!\.{1,2}(?:\/|$))[A-Za-z0-9._-]+)+\/?$/;

export const CONFIG_MOUNT_PATH_FORM =
  'an absolute path in the container such as /etc/app-config (letters, digits, ".", "_" and "-" between the slashes, no ".." and not "/" itself)';

/** A ConfigMap key, as the API server takes it: `[-._a-zA-Z0-9]+`, not `.` or `..`. */
export const CONFIG_KEY = /^(?!\.{1,2}$)[-._a-zA-Z0-9]{1,253}$/;
const CONFIG_KEY_FORM = 'letters, digits, ".", "_" and "-"';

export const CONFIG_FILES_FORM =
  'a list separated by commas or newlines of config files or globs, relative to the workspace and inside it (e.g. config/production.yaml), or name=path to give one file another name in the mount folder (e.g. app.yaml=config/production.yaml); file names must be distinct ConfigMap keys (letters, digits, ".", "_" and "-"), at most 1 MiB in all';

const GLOB_CHARS = /[*?[\]{}()!]/;

/** One item of `config-files`: the file name it is given in the mount folder, if any, and its path or glob. */
export function splitConfigItem(item: string): { key?: string; pattern: string } {
  const at = item.indexOf('=');
  // `a/b=c.yaml` is a path with "=" in it, not a rename: a name has no folder.
  if (at <= 0 || item.slice(0, at).includes('/')) return { pattern: item };
  return { key: item.slice(0, at).trim(), pattern: item.slice(at + 1).trim() };
}

function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 100)}…` : text;
}

/** Each item's name (when renamed) is a ConfigMap key and names one file; each path or glob stays inside the workspace. */
export function parseConfigFiles(raw: string, context: ParseContext): Parsed<readonly string[]> {
  const items = raw
    .split(/[\n,]/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const item of items) {
    const shown = JSON.stringify(clip(item));
    const { key, pattern } = splitConfigItem(item);
    if (key !== undefined && !CONFIG_KEY.test(key))
      return { ok: false, reason: `item ${shown}: "${key}" is not a ConfigMap key (${CONFIG_KEY_FORM})` };
    if (key !== undefined && GLOB_CHARS.test(pattern))
      return { ok: false, reason: `item ${shown}: a name is given to one file, not to a glob` };
    if (pattern === '') return { ok: false, reason: `item ${shown}: no path after "="` };
    const checked = resolvePatternInWorkspace(pattern, context.roots);
    if (!checked.ok) return { ok: false, reason: `item ${shown}: ${checked.reason}` };
  }
  return { ok: true, value: Object.freeze(items) };
}

const configFilesSpec: InputSpec<readonly string[], false> = Object.freeze({
  kind: 'list',
  accepted: CONFIG_FILES_FORM,
  required: false,
  default: undefined,
  secret: false,
  config: undefined,
  parse: (raw: string, context?: ParseContext) => parseConfigFiles(raw, context ?? { roots: pathRoots() }),
});

export const configFilesInputs = {
  'config-files': configFilesSpec,
  'config-mount-path': input.string({
    default: DEFAULT_CONFIG_MOUNT_PATH,
    pattern: CONFIG_MOUNT_PATH,
    patternDescription: CONFIG_MOUNT_PATH_FORM,
  }),
} as const;
