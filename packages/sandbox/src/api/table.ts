/**
 * Server-side printing: the meta.k8s.io/v1 Table kubectl asks for (`Accept: ...;as=Table`), with
 * the columns kube-apiserver prints for the kinds we serve, so `kubectl get` reads as it does
 * against a real cluster. Kinds without their own columns print NAME and AGE.
 */
import type { KubeObject } from '../store.js';
import type { ResourceType } from '../resources.js';
import { isObject, type JsonObject } from './patch.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  cell: (obj: KubeObject) => string | number;
}

/** Go's duration.HumanDuration, as kubectl's AGE column shows it. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  return `${Math.floor(hours / 24 / 365)}y`;
}

const field = (obj: KubeObject, ...path: string[]): unknown => {
  let current: unknown = obj;
  for (const p of path) current = isObject(current) ? current[p] : undefined;
  return current;
};
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
const scalar = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);
const str = (value: unknown, fallback = '<none>'): string =>
  typeof value === 'string' && value !== '' ? value : fallback;

const NAME: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name ?? '' };
const AGE: Column = {
  name: 'Age',
  type: 'string',
  cell: (o) =>
    o.metadata.creationTimestamp
      ? humanDuration(Date.now() - Date.parse(o.metadata.creationTimestamp))
      : '<unknown>',
};

function podReady(o: KubeObject): string {
  const containers = field(o, 'spec', 'containers');
  const statuses = field(o, 'status', 'containerStatuses');
  const total = Array.isArray(containers) ? containers.length : 0;
  const ready = Array.isArray(statuses) ? statuses.filter((s) => isObject(s) && s.ready === true).length : 0;
  return `${ready}/${total}`;
}

function podStatus(o: KubeObject): string {
  if (o.metadata.deletionTimestamp) return 'Terminating';
  const statuses = field(o, 'status', 'containerStatuses');
  if (Array.isArray(statuses)) {
    for (const s of statuses) {
      const waiting =
        isObject(s) && isObject(s.state) && isObject(s.state.waiting) ? s.state.waiting : undefined;
      if (waiting && typeof waiting.reason === 'string') return waiting.reason;
    }
  }
  return str(field(o, 'status', 'phase'), 'Pending');
}

function podRestarts(o: KubeObject): number {
  const statuses = field(o, 'status', 'containerStatuses');
  return Array.isArray(statuses)
    ? statuses.reduce((n: number, s) => n + (isObject(s) ? num(s.restartCount) : 0), 0)
    : 0;
}

function servicePorts(o: KubeObject): string {
  const ports = field(o, 'spec', 'ports');
  if (!Array.isArray(ports) || ports.length === 0) return '<none>';
  return ports
    .filter(isObject)
    .map(
      (p: JsonObject) =>
        `${scalar(p.port)}${p.nodePort !== undefined ? `:${scalar(p.nodePort)}` : ''}/${str(p.protocol, 'TCP')}`,
    )
    .join(',');
}

function endpointsList(o: KubeObject): string {
  const subsets = (o as { subsets?: unknown }).subsets;
  const out: string[] = [];
  if (Array.isArray(subsets)) {
    for (const s of subsets.filter(isObject)) {
      const addresses = Array.isArray(s.addresses) ? s.addresses.filter(isObject) : [];
      const ports = Array.isArray(s.ports) ? s.ports.filter(isObject) : [];
      for (const a of addresses)
        for (const p of ports.length ? ports : [{}])
          out.push(`${str(a.ip, '')}${p.port !== undefined ? `:${scalar(p.port)}` : ''}`);
    }
  }
  if (out.length === 0) return '<none>';
  return out.length > 3 ? `${out.slice(0, 3).join(',')} + ${out.length - 3} more...` : out.join(',');
}

const COLUMNS: Record<string, Column[]> = {
  Deployment: [
    NAME,
    {
      name: 'Ready',
      type: 'string',
      cell: (o) => `${num(field(o, 'status', 'readyReplicas'))}/${num(field(o, 'spec', 'replicas'))}`,
    },
    { name: 'Up-to-date', type: 'integer', cell: (o) => num(field(o, 'status', 'updatedReplicas')) },
    { name: 'Available', type: 'integer', cell: (o) => num(field(o, 'status', 'availableReplicas')) },
    AGE,
  ],
  ReplicaSet: [
    NAME,
    { name: 'Desired', type: 'integer', cell: (o) => num(field(o, 'spec', 'replicas')) },
    { name: 'Current', type: 'integer', cell: (o) => num(field(o, 'status', 'replicas')) },
    { name: 'Ready', type: 'integer', cell: (o) => num(field(o, 'status', 'readyReplicas')) },
    AGE,
  ],
  Pod: [
    NAME,
    { name: 'Ready', type: 'string', cell: podReady },
    { name: 'Status', type: 'string', cell: podStatus },
    { name: 'Restarts', type: 'string', cell: (o) => String(podRestarts(o)) },
    AGE,
  ],
  Service: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => str(field(o, 'spec', 'type'), 'ClusterIP') },
    { name: 'Cluster-IP', type: 'string', cell: (o) => str(field(o, 'spec', 'clusterIP')) },
    { name: 'External-IP', type: 'string', cell: () => '<none>' },
    { name: 'Port(s)', type: 'string', cell: servicePorts },
    AGE,
  ],
  Namespace: [
    NAME,
    { name: 'Status', type: 'string', cell: (o) => str(field(o, 'status', 'phase'), 'Active') },
    AGE,
  ],
  ConfigMap: [
    NAME,
    { name: 'Data', type: 'integer', cell: (o) => Object.keys((o as { data?: object }).data ?? {}).length },
    AGE,
  ],
  Secret: [
    NAME,
    { name: 'Type', type: 'string', cell: (o) => str((o as { type?: unknown }).type, 'Opaque') },
    { name: 'Data', type: 'integer', cell: (o) => Object.keys((o as { data?: object }).data ?? {}).length },
    AGE,
  ],
  Endpoints: [NAME, { name: 'Endpoints', type: 'string', cell: endpointsList }, AGE],
};

/** True when the client prefers a Table (kubectl get does). */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '') && /g=meta\.k8s\.io/.test(accept ?? '');
}

export function toTable(
  t: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
  includeObject: string | null,
): unknown {
  const columns = COLUMNS[t.kind] ?? [NAME, AGE];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: '',
      priority: 0,
    })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object:
        includeObject === 'Object'
          ? o
          : includeObject === 'None'
            ? undefined
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
