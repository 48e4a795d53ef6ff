/**
 * The pure part of blue-green: which colour is idle, what the colour's Deployment looks like,
 * and check documents with the colour filled in. No network here, so it is tested directly.
 */
import type { KubeObject } from '../../manifests/manifests.js';
import { RECORD_ANNOTATION, REVISION_ANNOTATION } from '../../kube/annotations.js';

export const COLORS = ['blue', 'green'] as const;
export type Color = (typeof COLORS)[number];

export function otherColor(color: Color): Color {
  return color === 'blue' ? 'green' : 'blue';
}

export function isColor(value: string | undefined): value is Color {
  return value === 'blue' || value === 'green';
}

export function colorDeploymentName(app: string, color: Color): string {
  return `${app}-${color}`;
}

interface DeploymentShape {
  spec?: {
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string> } };
  };
}

/**
 * The Deployment of one colour made from a template Deployment (a manifest, or the live colour
 * for an images-only deploy): its own name, the colour label on selector, pods and itself.
 */
export function colorDeployment(
  template: KubeObject,
  o: { name: string; namespace: string; color: Color; colorLabel: string },
): KubeObject {
  const source = structuredClone(template) as KubeObject & DeploymentShape;
  const annotations = { ...source.metadata.annotations };
  delete annotations[RECORD_ANNOTATION];
  delete annotations[REVISION_ANNOTATION];
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  const spec = source.spec ?? {};
  const matchLabels = { ...spec.selector?.matchLabels, [o.colorLabel]: o.color };
  const podLabels = { ...spec.template?.metadata?.labels, [o.colorLabel]: o.color };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { ...source.metadata.labels, [o.colorLabel]: o.color },
      annotations,
    },
    spec: {
      ...spec,
      selector: { ...spec.selector, matchLabels },
      template: { ...spec.template, metadata: { ...spec.template?.metadata, labels: podLabels } },
    },
  };
}
