/**
 * A Deployment's revisions are its ReplicaSets: each keeps the pod template of one revision. This
 * lists them and restores one the way `kubectl rollout undo` does: the chosen ReplicaSet's
 * template becomes the Deployment's template again (and so gets a new revision number).
 */
import { DEPLOYMENTS, REPLICASETS, type CallOptions, type KubeObjects } from './objects.js';
import { REVISION_ANNOTATION, type Deployment } from './rollout.js';
import { CHANGE_CAUSE } from './annotations.js';

export { CHANGE_CAUSE };

export interface ReplicaSet {
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { uid: string; kind: string; name: string; controller?: boolean }[];
    creationTimestamp?: string;
  };
  spec: { replicas?: number; template: Deployment['spec']['template'] };
  status?: { replicas?: number; availableReplicas?: number };
}

export interface Revision {
  revision: number;
  templateHash: string;
  replicaSet: string;
  images: Record<string, string>;
  changeCause?: string;
  created?: string;
  replicas: number;
  template: Deployment['spec']['template'];
}

export function imagesOf(template: Deployment['spec']['template']): Record<string, string> {
  return Object.fromEntries(template.spec.containers.map((c) => [c.name, c.image]));
}

export function currentRevision(d: Deployment): number {
  return Number(d.metadata.annotations?.[REVISION_ANNOTATION] ?? 0);
}

/** The Deployment's ReplicaSets as revisions, newest first. */
export async function listRevisions(objects: KubeObjects, deployment: Deployment): Promise<Revision[]> {
  const namespace = deployment.metadata.namespace ?? objects.namespace;
  const selector = Object.entries(deployment.spec.selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await objects.list<ReplicaSet>(REPLICASETS, namespace, { labelSelector: selector });
  return list.items
    .filter((rs) =>
      rs.metadata.ownerReferences?.some((o) => o.controller && o.uid === deployment.metadata.uid),
    )
    .map((rs) => ({
      revision: Number(rs.metadata.annotations?.[REVISION_ANNOTATION] ?? 0),
      templateHash: rs.metadata.labels?.['pod-template-hash'] ?? '',
      replicaSet: rs.metadata.name,
      images: imagesOf(rs.spec.template),
      changeCause: rs.metadata.annotations?.[CHANGE_CAUSE],
      created: rs.metadata.creationTimestamp,
      replicas: rs.status?.replicas ?? 0,
      template: rs.spec.template,
    }))
    .sort((a, b) => b.revision - a.revision);
}

/**
 * Puts `target`'s template back on the Deployment with a JSON patch guarded by the
 * resourceVersion we read, so a concurrent change makes this fail instead of being overwritten.
 */
export async function restoreTemplate(
  objects: KubeObjects,
  deployment: Deployment,
  target: Revision,
  changeCause: string,
  options: CallOptions = {},
): Promise<Deployment> {
  const namespace = deployment.metadata.namespace ?? objects.namespace;
  const template = structuredClone(target.template);
  if (template.metadata?.labels) delete template.metadata.labels['pod-template-hash'];
  return objects.patch<Deployment>(
    DEPLOYMENTS,
    namespace,
    deployment.metadata.name,
    [
      { op: 'test', path: '/metadata/resourceVersion', value: deployment.metadata.resourceVersion },
      { op: 'replace', path: '/spec/template', value: template },
      {
        op: 'add',
        path: deployment.metadata.annotations
          ? `/metadata/annotations/${CHANGE_CAUSE.replace('/', '~1')}`
          : '/metadata/annotations',
        value: deployment.metadata.annotations ? changeCause : { [CHANGE_CAUSE]: changeCause },
      },
    ],
    'json',
    options,
  );
}
