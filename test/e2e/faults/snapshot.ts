/**
 * An app's starting state, kept once and put back before every run of a fault matrix: the
 * objects an action reads and writes (not those the controllers own) are written straight into
 * the sandbox's store, then the cluster is waited on until every Deployment serves its template
 * again and every Service routes to exactly its ready pods. Cheaper than a healthy run, and
 * exact: each run starts from the same objects, so it makes the same requests.
 */
import type { Sandbox } from '../../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../../packages/sandbox/src/store.js';
import { kind } from '../fixtures.js';

/** What an action owns or reads; ReplicaSets, Pods and EndpointSlices are the controllers'. */
const OWNED_KINDS = [
  'Deployment',
  'Service',
  'ConfigMap',
  'VirtualService',
  'DestinationRule',
  'HTTPRoute',
  'HorizontalPodAutoscaler',
  'Lease',
];
/** The content an action may change; metadata beyond labels and annotations is the server's. */
const CONTENT = ['spec', 'data', 'binaryData'] as const;
/** The Deployment controller keeps this one: a template put back becomes a new revision, as in Kubernetes. */
const REVISION = 'deployment.kubernetes.io/revision';
const SETTLE_MS = 20_000;

export interface Snapshot {
  namespace: string;
  objects: Map<string, KubeObject>;
  /** ReplicaSets that existed: a version a run created is removed again once it is scaled down. */
  replicaSets: Set<string>;
}

type Loose = KubeObject & Record<string, unknown>;

const keyOf = (kindName: string, name: string): string => `${kindName}/${name}`;

export function takeSnapshot(sandbox: Sandbox, namespace: string): Snapshot {
  const objects = new Map<string, KubeObject>();
  for (const k of OWNED_KINDS) {
    for (const o of sandbox.store.list(kind(k), namespace).items) objects.set(keyOf(k, o.metadata.name!), o);
  }
  const replicaSets = new Set(
    sandbox.store.list(kind('ReplicaSet'), namespace).items.map((r) => r.metadata.name!),
  );
  return { namespace, objects, replicaSets };
}

function content(o: KubeObject, kindName: string): string {
  const annotations = { ...o.metadata.annotations };
  if (kindName === 'Deployment') delete annotations[REVISION];
  const loose = o as Loose;
  return JSON.stringify([o.metadata.labels ?? {}, annotations, ...CONTENT.map((f) => loose[f] ?? null)]);
}

/** `current` with the snapshot's labels, annotations and content. */
function restored(current: KubeObject, saved: KubeObject, kindName: string): KubeObject {
  const next = structuredClone(current) as Loose;
  const annotations = { ...saved.metadata.annotations };
  const revision = current.metadata.annotations?.[REVISION];
  if (kindName === 'Deployment' && revision !== undefined) annotations[REVISION] = revision;
  next.metadata = { ...next.metadata, labels: saved.metadata.labels, annotations };
  if (!saved.metadata.labels) delete next.metadata.labels;
  for (const field of CONTENT) {
    const value = (saved as Loose)[field];
    if (value === undefined) delete next[field];
    else next[field] = structuredClone(value);
  }
  return next;
}

/** Puts the snapshot back and waits until the cluster serves it (throws if it does not settle). */
export async function restoreSnapshot(sandbox: Sandbox, snapshot: Snapshot): Promise<void> {
  const { store } = sandbox;
  const { namespace } = snapshot;
  for (const k of OWNED_KINDS) {
    const type = kind(k);
    const present = new Set<string>();
    for (const current of store.list(type, namespace).items) {
      const name = current.metadata.name!;
      present.add(name);
      const saved = snapshot.objects.get(keyOf(k, name));
      if (!saved) store.delete(type, namespace, name);
      else if (content(current, k) !== content(saved, k)) store.update(type, restored(current, saved, k));
    }
    for (const [key, saved] of snapshot.objects) {
      if (!key.startsWith(`${k}/`) || present.has(saved.metadata.name!)) continue;
      const copy = structuredClone(saved);
      delete copy.metadata.resourceVersion;
      delete copy.metadata.uid;
      delete (copy as Loose).status;
      store.create(type, copy);
    }
  }
  await settle(sandbox, namespace);
  for (const rs of store.list(kind('ReplicaSet'), namespace).items) {
    if (!snapshot.replicaSets.has(rs.metadata.name!))
      store.delete(kind('ReplicaSet'), namespace, rs.metadata.name!);
  }
}

/** Waits until every Deployment of the namespace serves its template and every Service routes to its ready pods. */
export async function settle(sandbox: Sandbox, namespace: string): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  let why = unsettled(sandbox, namespace);
  while (why) {
    if (Date.now() > deadline) throw new Error(`the sandbox did not settle after a restore: ${why}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    why = unsettled(sandbox, namespace);
  }
}

export interface Pod {
  metadata: KubeObject['metadata'];
  spec: { containers: { image: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
}

export function matchesSelector(
  labels: Record<string, string> | undefined,
  selector: Record<string, string>,
): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Why the namespace is not yet serving what its objects say, or undefined once it is. */
function unsettled(sandbox: Sandbox, namespace: string): string | undefined {
  const pods = sandbox.store.list(kind('Pod'), namespace).items as unknown as Pod[];
  for (const d of sandbox.store.list(kind('Deployment'), namespace).items) {
    const spec = d.spec as {
      replicas?: number;
      selector: { matchLabels: Record<string, string> };
      template: { spec: { containers: { image: string }[] } };
    };
    const status = (d.status ?? {}) as Record<string, number | undefined>;
    const replicas = spec.replicas ?? 1;
    const own = pods.filter((p) => matchesSelector(p.metadata.labels, spec.selector.matchLabels));
    const image = spec.template.spec.containers[0]?.image;
    const serving = own.filter((p) => !p.metadata.deletionTimestamp && isReady(p));
    if (
      (status.observedGeneration ?? 0) < (d.metadata.generation ?? 0) ||
      [status.replicas, status.updatedReplicas, status.availableReplicas].some(
        (n) => (n ?? 0) !== replicas,
      ) ||
      own.some((p) => p.metadata.deletionTimestamp) ||
      serving.length !== replicas ||
      serving.some((p) => p.spec.containers[0]?.image !== image)
    )
      return `Deployment ${d.metadata.name} is rolling out`;
  }
  const slices = sandbox.store.list(kind('EndpointSlice'), namespace).items as (KubeObject & {
    endpoints?: { conditions?: { ready?: boolean; terminating?: boolean }; targetRef?: { name?: string } }[];
  })[];
  for (const svc of sandbox.store.list(kind('Service'), namespace).items) {
    const selector = (svc.spec as { selector?: Record<string, string> } | undefined)?.selector;
    if (!selector || Object.keys(selector).length === 0) continue;
    const wanted = pods
      .filter(
        (p) => matchesSelector(p.metadata.labels, selector) && isReady(p) && !p.metadata.deletionTimestamp,
      )
      .map((p) => p.metadata.name)
      .sort();
    const routed = slices
      .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name)
      .flatMap((s) => s.endpoints ?? [])
      .filter((e) => e.conditions?.ready !== false && !e.conditions?.terminating)
      .map((e) => e.targetRef?.name)
      .sort();
    if (JSON.stringify(wanted) !== JSON.stringify(routed))
      return `Service ${svc.metadata.name} routes to other pods`;
  }
  return undefined;
}
