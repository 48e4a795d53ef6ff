/**
 * Deployments a HorizontalPodAutoscaler scales keep their live replica count on a deploy. A
 * manifest's `replicas: 3` applied over an HPA that has scaled to 20 would cut the app to 3 pods
 * in the middle of the load the HPA was answering, until the HPA scales it up again: the
 * classic way a routine deploy causes an outage. kubectl and Helm apply the manifest's count;
 * this applies the live count instead, and says so. Blue-green starts the new colour at least as
 * big as the autoscaled live one and points the HPA at it once it serves.
 */
import { isForbidden, isNotFound } from './errors.js';
import { DEPLOYMENTS, type KubeObjects, type ResourceRef } from './objects.js';
import type { KubeObject } from '../manifests/manifests.js';

export const HORIZONTAL_POD_AUTOSCALERS: ResourceRef = {
  group: 'autoscaling',
  version: 'v2',
  plural: 'horizontalpodautoscalers',
  kind: 'HorizontalPodAutoscaler',
};

export interface Autoscaled {
  /** The HorizontalPodAutoscaler's name. */
  hpa: string;
  /** The Deployment's live spec.replicas, which the deploy keeps. */
  replicas: number;
}

interface HorizontalPodAutoscaler extends KubeObject {
  spec?: { scaleTargetRef?: { kind?: string; name?: string } };
}

/**
 * The Deployments among `names` that an HPA in the namespace scales and that exist already (a
 * first deploy starts from the manifest's count). Without RBAC to list HPAs it warns and finds none.
 */
export async function findAutoscaled(
  objects: KubeObjects,
  namespace: string,
  names: string[],
  warn: (message: string) => void,
): Promise<Map<string, Autoscaled>> {
  const found = new Map<string, Autoscaled>();
  let hpas: HorizontalPodAutoscaler[];
  try {
    hpas = (await objects.list<HorizontalPodAutoscaler>(HORIZONTAL_POD_AUTOSCALERS, namespace)).items;
  } catch (error) {
    if (isNotFound(error)) return found; // the cluster serves no autoscaling/v2
    if (!isForbidden(error)) throw error;
    warn(
      `Could not list HorizontalPodAutoscalers in ${namespace} (403): if one scales ${names.join(', ')}, the manifest's replicas override it. Grant list on horizontalpodautoscalers.autoscaling.`,
    );
    return found;
  }
  for (const hpa of hpas) {
    const target = hpa.spec?.scaleTargetRef;
    if (target?.kind !== 'Deployment' || !target.name || !names.includes(target.name)) continue;
    const live = await objects.get<KubeObject & { spec?: { replicas?: number } }>(
      DEPLOYMENTS,
      namespace,
      target.name,
    );
    const replicas = live?.spec?.replicas;
    if (replicas !== undefined) found.set(target.name, { hpa: hpa.metadata.name, replicas });
  }
  return found;
}

/**
 * After a blue-green switch from `from` to `to`: the HPA that scaled `from` now scales `to` (one
 * merge patch), so the colour that serves keeps autoscaling. Without the right to patch it, the
 * deploy stands and a warning says what to do.
 */
export async function retargetAutoscaler(
  objects: KubeObjects,
  namespace: string,
  autoscaled: Autoscaled | undefined,
  move: { from: string; to: string },
  report: { note: (text: string) => void; warn: (text: string) => void },
): Promise<void> {
  if (!autoscaled) return;
  try {
    await objects.patch(
      HORIZONTAL_POD_AUTOSCALERS,
      namespace,
      autoscaled.hpa,
      { spec: { scaleTargetRef: { name: move.to } } },
      'merge',
    );
    report.note(`HorizontalPodAutoscaler ${autoscaled.hpa} now scales ${move.to}`);
  } catch (error) {
    report.warn(
      `HorizontalPodAutoscaler ${autoscaled.hpa} still scales ${move.from}, which no longer serves (${error instanceof Error ? error.message : String(error)}); point its spec.scaleTargetRef.name at ${move.to}, or grant patch on horizontalpodautoscalers.autoscaling`,
    );
  }
}
