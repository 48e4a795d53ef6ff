/**
 * The undo of applying a manifest that is not a rolled-out workload (ConfigMap, Service, Secret,
 * route...): put the object back as it was read before the apply, or delete it if the apply
 * created it. Like every undo it reads first, so it is right whether or not the apply took effect.
 */
import type { KubeObjects } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import type { Undo } from './phases.js';

/** Fields the server owns: a put-back must not carry the old ones. */
function restorable(before: KubeObject, resourceVersion: string): KubeObject {
  const copy = structuredClone(before);
  const {
    managedFields: _m,
    generation: _g,
    ...metadata
  } = copy.metadata as KubeObject['metadata'] & {
    managedFields?: unknown;
    generation?: unknown;
  };
  copy.metadata = { ...metadata, resourceVersion };
  delete copy.status;
  return copy;
}

function sameContent(a: KubeObject, b: KubeObject): boolean {
  const view = (o: KubeObject): string => {
    const { metadata, status: _s, ...rest } = o;
    return JSON.stringify({ rest, labels: metadata.labels ?? {}, annotations: metadata.annotations ?? {} });
  };
  return view(a) === view(b);
}

/**
 * How to undo applying `manifest`, given the live object read just before (undefined: it did not
 * exist). Call it before the apply.
 */
export function undoApply(objects: KubeObjects, manifest: KubeObject, before: KubeObject | undefined): Undo {
  const name = `${manifest.kind} ${manifest.metadata.namespace ? `${manifest.metadata.namespace}/` : ''}${manifest.metadata.name}`;
  return {
    what: before ? `put ${name} back as it was` : `delete ${name}, which this run created`,
    run: async ({ signal }) => {
      const { ref, namespace } = await objects.resourceOf(manifest, { signal });
      const now = await objects.get<KubeObject>(ref, namespace, manifest.metadata.name, { signal });
      if (!before) {
        if (now)
          await objects.delete(
            ref,
            namespace ?? '',
            manifest.metadata.name,
            { uid: now.metadata.uid as string },
            { signal },
          );
        return;
      }
      if (!now) {
        const { resourceVersion: _r, uid: _u, ...metadata } = restorable(before, '').metadata;
        await objects.create(ref, namespace ?? '', { ...restorable(before, ''), metadata }, { signal });
        return;
      }
      if (sameContent(now, before)) return;
      await objects.replace(
        ref,
        namespace ?? '',
        restorable(before, now.metadata.resourceVersion as string),
        {
          signal,
        },
      );
    },
  };
}
