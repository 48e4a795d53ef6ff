/**
 * Per-environment config files (input `config-files`) as one immutable ConfigMap named by the
 * hash of its content, `<app>-config-<hash>`, mounted into the pod template of the Deployments a
 * deploy rolls out. Because the name is in the template, a config change rolls out like an image
 * change, and going back to an older revision (its ReplicaSet's template) mounts the config that
 * went with it — which `kubectl rollout undo` with one mutable ConfigMap cannot do.
 *
 * The same content always has the same name, so applying it again changes nothing; a ConfigMap is
 * kept as long as any Deployment, ReplicaSet or Pod of the namespace refers to it (ReplicaSets
 * stay for `revisionHistoryLimit`), and collected after a successful deploy once none does.
 *
 * Reading and rendering need no cluster and run while the inputs are checked; only
 * `collectUnusedConfigs` and `missingConfigMaps` call the API.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, relative } from 'node:path';
import { InputError, type InputProblem } from '../inputs/errors.js';
import { CONFIG_FILES_FORM, CONFIG_KEY, splitConfigItem } from '../inputs/config-files.js';
import { CONFIGMAPS, DEPLOYMENTS, PODS, REPLICASETS, type KubeObjects } from '../kube/objects.js';
import { expandPatterns, ManifestError, type KubeObject } from './manifests.js';

/** The pod volume that carries the config; a template that has it already gets it replaced. */
export const CONFIG_VOLUME = 'cd-actions-config';
/** On every config ConfigMap: which app it belongs to, so collection never touches another's. */
export const CONFIG_OF_LABEL = 'cd-actions.dev/config-of';
const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
const MANAGED_BY = 'cd-actions';

/** The API server's limit on a ConfigMap's data and binaryData together. */
export const CONFIG_MAX_BYTES = 1024 * 1024;

export { CONFIG_FILES_FORM } from '../inputs/config-files.js';

export interface ConfigFiles {
  /** Text files by file name. */
  readonly data: Readonly<Record<string, string>>;
  /** Files that are not UTF-8 text, base64, by file name. */
  readonly binaryData: Readonly<Record<string, string>>;
  /** First 10 hex digits of the SHA-256 over the sorted keys and their bytes. */
  readonly hash: string;
  /** The files read, relative to the workspace, in the order given. */
  readonly files: readonly string[];
}

/** Where the pods find the config: the ConfigMap's name and the directory it is mounted at. */
export interface ConfigMount {
  readonly configMap: string;
  readonly mountPath: string;
}

/**
 * The hash that names a config: over the keys in sorted order, each with its content's length,
 * so no two different sets of files (moving bytes from one file to the next) hash alike.
 */
export function configHash(files: ReadonlyMap<string, Buffer>): string {
  const hash = createHash('sha256');
  for (const key of [...files.keys()].sort()) {
    const content = files.get(key)!;
    hash.update(`${key}\0${content.length}\0`);
    hash.update(content);
  }
  return hash.digest('hex').slice(0, 10);
}

function problem(value: string, message: string): InputProblem {
  return { input: 'config-files', value, accepted: CONFIG_FILES_FORM, message };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function asText(content: Buffer): string | undefined {
  try {
    return utf8.decode(content);
  } catch {
    return undefined;
  }
}

function readError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT'
    ? 'no such file'
    : code === 'EISDIR'
      ? 'it is a folder'
      : code === 'EACCES'
        ? 'permission denied'
        : String(code ?? error);
}

/**
 * Reads the files the `config-files` items name: paths or globs inside `workspace`, each file
 * under its own name, or `name=path` for one file under another. Every problem — a path outside
 * the workspace, a glob that matches nothing, a file that cannot be read, two files with one name,
 * a name that is no ConfigMap key, more than 1 MiB — is an InputError naming `config-files`,
 * raised before anything connects.
 */
export async function readConfigFiles(items: readonly string[], workspace: string): Promise<ConfigFiles> {
  const value = items.join('\n');
  const expected = `expected ${CONFIG_FILES_FORM}`;
  const problems: InputProblem[] = [];
  const named: { key: string; path: string }[] = [];
  for (const item of items) {
    const { key, pattern } = splitConfigItem(item);
    try {
      for (const path of await expandPatterns([pattern], workspace, 'config-files', expected))
        named.push({ key: key ?? basename(path), path });
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      problems.push(...error.problems.map((message) => problem(value, message)));
    }
  }
  const contents = new Map<string, Buffer>();
  const fromFile = new Map<string, string>();
  const files: string[] = [];
  for (const { key, path } of named) {
    const shown = relative(workspace, path) || path;
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch (error) {
      problems.push(
        problem(value, `Input "config-files": cannot read "${shown}" (${readError(error)}); ${expected}`),
      );
      continue;
    }
    if (!CONFIG_KEY.test(key)) {
      problems.push(
        problem(
          value,
          `Input "config-files": "${shown}": its file name ${JSON.stringify(key)} cannot be a ConfigMap key; ${expected}`,
        ),
      );
      continue;
    }
    const first = fromFile.get(key);
    if (first !== undefined) {
      problems.push(
        problem(
          value,
          `Input "config-files": "${first}" and "${shown}" have the same file name "${key}", and each file name is one key of the ConfigMap (one file in the mounted folder); ${expected}`,
        ),
      );
      continue;
    }
    fromFile.set(key, shown);
    contents.set(key, content);
    files.push(shown);
  }
  const bytes = [...contents.values()].reduce((sum, content) => sum + content.length, 0);
  if (bytes > CONFIG_MAX_BYTES) {
    problems.push(
      problem(
        value,
        `Input "config-files": the files add up to ${(bytes / 1024 / 1024).toFixed(2)} MiB, over the 1 MiB a ConfigMap holds; ${expected}`,
      ),
    );
  }
  if (problems.length > 0) throw new InputError(problems);

  const data: Record<string, string> = {};
  const binaryData: Record<string, string> = {};
  for (const [key, content] of [...contents].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const text = asText(content);
    if (text === undefined) binaryData[key] = content.toString('base64');
    else data[key] = text;
  }
  return { data, binaryData, hash: configHash(contents), files };
}

export function configMapName(app: string, hash: string): string {
  return `${app}-config-${hash}`;
}

/** The immutable ConfigMap of the files: its name says its content, so it never needs to change. */
export function configMapOf(app: string, config: ConfigFiles, namespace?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: configMapName(app, config.hash),
      ...(namespace ? { namespace } : {}),
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [CONFIG_OF_LABEL]: app },
    },
    immutable: true,
    ...(Object.keys(config.data).length > 0 ? { data: { ...config.data } } : {}),
    ...(Object.keys(config.binaryData).length > 0 ? { binaryData: { ...config.binaryData } } : {}),
  };
}

interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  [key: string]: unknown;
}

interface MountedContainer {
  name: string;
  volumeMounts?: VolumeMount[];
  [key: string]: unknown;
}

interface Volume {
  name: string;
  configMap?: { name?: string; optional?: boolean };
  projected?: { sources?: { configMap?: { name?: string; optional?: boolean } }[] };
  [key: string]: unknown;
}

interface PodSpecWithVolumes {
  volumes?: Volume[];
  containers?: MountedContainer[];
  initContainers?: MountedContainer[];
  [key: string]: unknown;
}

function podSpecOf(deployment: KubeObject): PodSpecWithVolumes {
  const spec = (deployment.spec ??= {}) as { template?: { spec?: PodSpecWithVolumes } };
  spec.template ??= {};
  return (spec.template.spec ??= {});
}

/**
 * Mounts the config into the Deployment's pod template, in place: the `cd-actions-config` volume
 * names the ConfigMap, and every container (init containers too) mounts it read-only at the
 * mount path. Idempotent: a template that has the volume already (the live one, or one made
 * from it) gets the new ConfigMap in its place and its old mounts moved to the mount path.
 * Returns problems: a container that mounts something else at the mount path.
 */
export function mountConfig(deployment: KubeObject, mount: ConfigMount): string[] {
  const pod = podSpecOf(deployment);
  const volume: Volume = { name: CONFIG_VOLUME, configMap: { name: mount.configMap } };
  const volumes = pod.volumes ?? [];
  const at = volumes.findIndex((v) => v.name === CONFIG_VOLUME);
  pod.volumes = at >= 0 ? volumes.map((v, i) => (i === at ? volume : v)) : [...volumes, volume];
  const problems: string[] = [];
  for (const container of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const others = (container.volumeMounts ?? []).filter((m) => m.name !== CONFIG_VOLUME);
    const clash = others.find((m) => samePath(m.mountPath, mount.mountPath));
    if (clash) {
      problems.push(
        `Input "config-mount-path" has value "${mount.mountPath}": ${deployment.kind} ${deployment.metadata.name}, container "${container.name}" mounts volume "${clash.name}" there already; expected a folder of its own for the config files`,
      );
      continue;
    }
    container.volumeMounts = [...others, { name: CONFIG_VOLUME, mountPath: mount.mountPath, readOnly: true }];
  }
  return problems;
}

function samePath(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

/**
 * The strategic merge patch of a live Deployment's pod spec that mounts the config (an
 * images-only deploy patches rather than applies): the volume by name, each container's mount by
 * path, and a `$patch: delete` for a mount of the volume left at another path by an earlier
 * `config-mount-path`. `live` is not changed.
 */
export function configMountPatch(
  live: KubeObject,
  mount: ConfigMount,
): { problems: string[]; volumes: Volume[]; mounts: Map<string, Record<string, unknown>[]> } {
  const copy = structuredClone(live);
  const problems = mountConfig(copy, mount);
  const before = podSpecOf(structuredClone(live));
  const mounts = new Map<string, Record<string, unknown>[]>();
  for (const container of [...(before.initContainers ?? []), ...(before.containers ?? [])]) {
    const stale = (container.volumeMounts ?? [])
      .filter((m) => m.name === CONFIG_VOLUME && m.mountPath !== mount.mountPath)
      .map((m) => ({ mountPath: m.mountPath, $patch: 'delete' }));
    mounts.set(container.name, [
      { name: CONFIG_VOLUME, mountPath: mount.mountPath, readOnly: true },
      ...stale,
    ]);
  }
  return { problems, volumes: [{ name: CONFIG_VOLUME, configMap: { name: mount.configMap } }], mounts };
}

/** The config a pod spec mounts (the `cd-actions-config` volume), or undefined when it mounts none. */
export function configMountOf(pod: unknown): ConfigMount | undefined {
  const spec = (pod ?? {}) as PodSpecWithVolumes;
  const configMap = spec.volumes?.find((v) => v.name === CONFIG_VOLUME)?.configMap?.name;
  const mountPath = [...(spec.initContainers ?? []), ...(spec.containers ?? [])]
    .flatMap((c) => c.volumeMounts ?? [])
    .find((m) => m.name === CONFIG_VOLUME)?.mountPath;
  return configMap && mountPath ? { configMap, mountPath } : undefined;
}

/** A ConfigMap a pod spec refers to, and whether the pod starts without it (`optional: true`). */
export interface ConfigMapRef {
  readonly name: string;
  readonly optional: boolean;
}

interface EnvContainer {
  envFrom?: { configMapRef?: { name?: string; optional?: boolean } }[];
  env?: { valueFrom?: { configMapKeyRef?: { name?: string; optional?: boolean } } }[];
}

/** Every ConfigMap a pod spec refers to: volumes (projected too), envFrom and env valueFrom. */
export function configMapRefs(pod: unknown): ConfigMapRef[] {
  const spec = (pod ?? {}) as PodSpecWithVolumes & { ephemeralContainers?: EnvContainer[] };
  const refs: ConfigMapRef[] = [];
  const add = (ref: { name?: string; optional?: boolean } | undefined): void => {
    if (ref?.name) refs.push({ name: ref.name, optional: ref.optional === true });
  };
  for (const volume of spec.volumes ?? []) {
    add(volume.configMap);
    for (const source of volume.projected?.sources ?? []) add(source.configMap);
  }
  const containers = [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ] as EnvContainer[];
  for (const container of containers) {
    for (const from of container.envFrom ?? []) add(from.configMapRef);
    for (const env of container.env ?? []) add(env.valueFrom?.configMapKeyRef);
  }
  return refs;
}

/** The ConfigMaps a pod template needs (not optional) that the namespace no longer holds. */
export async function missingConfigMaps(
  objects: KubeObjects,
  namespace: string,
  podSpec: unknown,
  options: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const needed = [
    ...new Set(
      configMapRefs(podSpec)
        .filter((r) => !r.optional)
        .map((r) => r.name),
    ),
  ];
  const missing: string[] = [];
  for (const name of needed)
    if (!(await objects.get(CONFIGMAPS, namespace, name, options))) missing.push(name);
  return missing;
}

/**
 * Deletes the app's config ConfigMaps that no Deployment, ReplicaSet or Pod of the namespace
 * refers to any more. Run after a successful deploy, under the app's lock (no run of this app is
 * between creating its ConfigMap and applying the Deployment that mounts it). Nothing is deleted
 * unless every list was read: a reference missed would break a rollback. Returns the names deleted.
 */
export async function collectUnusedConfigs(
  objects: KubeObjects,
  namespace: string,
  app: string,
  options: { signal?: AbortSignal } = {},
): Promise<string[]> {
  const selector = `${MANAGED_BY_LABEL}=${MANAGED_BY},${CONFIG_OF_LABEL}=${app}`;
  const configs = await objects.list<KubeObject>(CONFIGMAPS, namespace, { labelSelector: selector }, options);
  if (configs.items.length === 0) return [];
  const [deployments, replicaSets, pods] = await Promise.all(
    [DEPLOYMENTS, REPLICASETS, PODS].map((ref) =>
      objects.list<{ spec?: { template?: { spec?: unknown } } }>(ref, namespace, {}, options),
    ),
  );
  const used = new Set<string>();
  for (const workload of [...deployments!.items, ...replicaSets!.items])
    for (const ref of configMapRefs(workload.spec?.template?.spec)) used.add(ref.name);
  for (const pod of pods!.items) for (const ref of configMapRefs(pod.spec)) used.add(ref.name);
  const deleted: string[] = [];
  for (const config of configs.items) {
    if (used.has(config.metadata.name)) continue;
    // The uid: a ConfigMap of that name made again since the list is not this one.
    const gone = await objects.delete(
      CONFIGMAPS,
      namespace,
      config.metadata.name,
      { uid: config.metadata.uid as string },
      options,
    );
    if (gone) deleted.push(config.metadata.name);
  }
  return deleted;
}

/**
 * collectUnusedConfigs for the end of a successful deploy: what it deletes is logged, and a
 * failure (RBAC without list or delete on configmaps, an API error) is a warning, never a
 * failed deploy — the deploy reached its goal, and the next one collects again.
 */
export async function tidyConfigs(
  objects: KubeObjects,
  namespace: string,
  app: string,
  log: { info(text: string): void; warn(text: string): void },
): Promise<void> {
  try {
    const deleted = await collectUnusedConfigs(objects, namespace, app);
    if (deleted.length > 0)
      log.info(
        `deleted ConfigMap(s) ${deleted.join(', ')}: no Deployment, ReplicaSet or Pod refers to them any more`,
      );
  } catch (error) {
    log.warn(
      `The unused config ConfigMaps of ${app} in ${namespace} were not collected: ${error instanceof Error ? error.message : String(error)}. The deploy itself succeeded; the next one tries again (needs list and delete on configmaps, list on replicasets and pods).`,
    );
  }
}
