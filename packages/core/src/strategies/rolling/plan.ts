/**
 * Everything deploy-rolling can check without a cluster, done before connecting: manifests
 * parsed and structurally valid, image overrides well-formed and matching containers, the
 * namespace consistent, the Deployments to watch named.
 */
import { KUBE_NAME, KUBE_NAME_FORM } from '../../inputs/names.js';
import {
  applyImageOverrides,
  loadManifests,
  ManifestError,
  type ImageOverride,
  type KubeObject,
} from '../../manifests/manifests.js';
import {
  configMapOf,
  mountConfig,
  type ConfigFiles,
  type ConfigMount,
} from '../../manifests/config-files.js';

/** Kinds without a namespace; everything else gets the target namespace when the manifest has none. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
  'APIService',
]);

/** Apply order: what others depend on goes first, as Helm orders its kinds. */
const APPLY_ORDER = [
  'Namespace',
  'CustomResourceDefinition',
  'ServiceAccount',
  'Secret',
  'ConfigMap',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
  'Service',
  'Deployment',
  'Ingress',
  'HTTPRoute',
  'DestinationRule',
  'VirtualService',
];

export interface RollingPlanInput {
  namespace: string | undefined;
  manifests: readonly string[];
  images: readonly ImageOverride[];
  deployments: readonly string[];
  workspace: string;
  /**
   * The app's config files (input "config-files"): their ConfigMap is applied with the manifests
   * and mounted into every Deployment in scope. `app` names it (default: the first Deployment).
   */
  config?: { files: ConfigFiles; mountPath: string; app?: string };
}

export interface RollingPlan {
  /** The namespace from the input, or the manifests' one namespace, or undefined (the context's). */
  namespace: string | undefined;
  /** Manifests in apply order, with their source for messages. */
  objects: { object: KubeObject; source: string }[];
  /** Deployments to watch; those not in the manifests must exist in the cluster. */
  deployments: string[];
  /** Image overrides for Deployments that are not in the manifests (images-only deploy). */
  liveImageOverrides: ImageOverride[];
  /** The config the Deployments in scope mount; its ConfigMap is among `objects`, those from the manifests mount it already. */
  config?: ConfigMount;
}

export async function planRolling(input: RollingPlanInput): Promise<RollingPlan> {
  const problems: string[] = [];
  let loaded: { object: KubeObject; source: string }[] = [];
  if (input.manifests.length > 0) {
    try {
      loaded = await loadManifests([...input.manifests], input.workspace);
    } catch (error) {
      if (error instanceof ManifestError) throw new PlanError(error.problems);
      throw error;
    }
  }
  if (loaded.length === 0 && input.manifests.length > 0)
    problems.push('Input "manifests": the files hold no Kubernetes object');

  const namespaces = new Set(
    loaded
      .filter((m) => !CLUSTER_SCOPED.has(m.object.kind) && m.object.metadata.namespace)
      .map((m) => m.object.metadata.namespace!),
  );
  let namespace = input.namespace;
  if (namespace) {
    for (const m of loaded) {
      const ns = m.object.metadata.namespace;
      if (ns && ns !== namespace && !CLUSTER_SCOPED.has(m.object.kind)) {
        problems.push(
          `Input "manifests": ${m.source}: ${m.object.kind} ${m.object.metadata.name} is in namespace "${ns}" but input "namespace" is "${namespace}"; remove metadata.namespace or make them agree`,
        );
      }
    }
  } else if (namespaces.size > 1) {
    problems.push(
      `Input "manifests": objects name several namespaces (${[...namespaces].join(', ')}); deploy one namespace per step or set input "namespace"`,
    );
  } else {
    namespace = [...namespaces][0];
  }
  for (const m of loaded) {
    if (CLUSTER_SCOPED.has(m.object.kind)) delete m.object.metadata.namespace;
    else if (namespace) m.object.metadata.namespace = namespace;
  }

  const manifestDeployments = loaded
    .filter((m) => m.object.kind === 'Deployment')
    .map((m) => m.object.metadata.name);
  const deployments = input.deployments.length > 0 ? [...input.deployments] : manifestDeployments;
  if (deployments.length === 0) {
    problems.push(
      input.manifests.length === 0
        ? 'Input "deployment": name the Deployments to update when no manifests are given (one per line), or give input "manifests"'
        : 'Input "manifests": the manifests hold no Deployment to roll out; name one with input "deployment"',
    );
  }
  for (const name of deployments) {
    if (!KUBE_NAME.test(name)) {
      problems.push(`Input "deployment" has value "${name}": expected ${KUBE_NAME_FORM}`);
    }
  }

  // Overrides go to the Deployments in scope: those in the manifests here, the live ones later.
  const inScope = loaded.filter(
    (m) => m.object.kind === 'Deployment' && deployments.includes(m.object.metadata.name),
  );
  const liveOnly = deployments.filter((d) => !manifestDeployments.includes(d));
  let liveImageOverrides: ImageOverride[] = [];
  if (input.images.length > 0) {
    if (liveOnly.length === 0) {
      problems.push(
        ...applyImageOverrides(
          inScope.map((m) => m.object),
          [...input.images],
        ),
      );
    } else if (inScope.length === 0) {
      liveImageOverrides = [...input.images];
    } else {
      problems.push(
        `Input "deployment": ${liveOnly.join(', ')} not in the manifests; with "images", name only Deployments from the manifests or give no manifests`,
      );
    }
  }
  let config: ConfigMount | undefined;
  const app = input.config?.app ?? deployments[0];
  if (input.config && app) {
    const configMap = configMapOf(app, input.config.files, namespace);
    config = { configMap: configMap.metadata.name, mountPath: input.config.mountPath };
    loaded.push({ object: configMap, source: 'config-files' });
    for (const m of inScope) problems.push(...mountConfig(m.object, config));
  }
  if (input.manifests.length === 0 && input.images.length === 0 && !input.config) {
    problems.push('Input "manifests": give manifests, images or config-files; there is nothing to deploy');
  }
  if (problems.length > 0) throw new PlanError(problems);

  const rank = (kind: string): number => {
    const at = APPLY_ORDER.indexOf(kind);
    return at === -1 ? APPLY_ORDER.length : at;
  };
  const objects = loaded
    .map((m, index) => ({ ...m, index }))
    .sort((a, b) => rank(a.object.kind) - rank(b.object.kind) || a.index - b.index)
    .map(({ object, source }) => ({ object, source }));
  return { namespace, objects, deployments, liveImageOverrides, ...(config ? { config } : {}) };
}

export class PlanError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}
