/**
 * The defaulting kube-apiserver does on every write, for the fields clients and kubectl read
 * back: Deployment strategy and limits, pod template basics, Service ports and cluster IP,
 * Namespace phase. Only what our actions, controllers or kubectl depend on.
 */
import type { KubeObject } from '../store.js';
import { isObject, type JsonObject } from './patch.js';

let nextClusterIp = 1;

function defaultContainers(list: unknown): void {
  if (!Array.isArray(list)) return;
  for (const c of list) {
    if (!isObject(c)) continue;
    if (c.imagePullPolicy === undefined && typeof c.image === 'string') {
      const tag = c.image.includes('@') ? 'digest' : (c.image.split('/').at(-1)?.split(':')[1] ?? 'latest');
      c.imagePullPolicy = tag === 'latest' ? 'Always' : 'IfNotPresent';
    }
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    if (Array.isArray(c.ports)) for (const p of c.ports) if (isObject(p)) p.protocol ??= 'TCP';
  }
}

function defaultPodSpec(spec: unknown): void {
  if (!isObject(spec)) return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  defaultContainers(spec.containers);
  defaultContainers(spec.initContainers);
}

function defaultWorkload(spec: JsonObject, kind: string): void {
  spec.replicas ??= 1;
  if (kind === 'Deployment') {
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    if (!isObject(spec.strategy)) spec.strategy = {};
    const strategy = spec.strategy;
    strategy.type ??= 'RollingUpdate';
    if (strategy.type === 'RollingUpdate') {
      if (!isObject(strategy.rollingUpdate)) strategy.rollingUpdate = {};
      const rolling = strategy.rollingUpdate;
      rolling.maxSurge ??= '25%';
      rolling.maxUnavailable ??= '25%';
    }
  }
  if (isObject(spec.template)) defaultPodSpec(spec.template.spec);
}

function defaultService(spec: JsonObject): void {
  spec.type ??= 'ClusterIP';
  spec.sessionAffinity ??= 'None';
  if (spec.type !== 'ExternalName' && spec.clusterIP === undefined) {
    const n = nextClusterIp++;
    spec.clusterIP = `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  }
  if (typeof spec.clusterIP === 'string' && spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
  if (Array.isArray(spec.ports)) {
    for (const p of spec.ports) {
      if (!isObject(p)) continue;
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port ?? null;
    }
  }
}

export function applyDefaults(obj: KubeObject): void {
  const spec = obj.spec;
  switch (obj.kind) {
    case 'Deployment':
    case 'ReplicaSet':
      if (isObject(spec)) defaultWorkload(spec, obj.kind);
      break;
    case 'Pod':
      defaultPodSpec(spec);
      break;
    case 'Service':
      if (isObject(spec)) defaultService(spec);
      break;
    case 'Secret': {
      // stringData is write-only: the API server folds it into base64 data, as kube-apiserver does.
      const stringData = (obj as { stringData?: unknown }).stringData;
      if (isObject(stringData)) {
        const data = isObject(obj.data) ? obj.data : {};
        for (const [key, value] of Object.entries(stringData)) {
          if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
        }
        obj.data = data;
      }
      delete (obj as { stringData?: unknown }).stringData;
      (obj as { type?: unknown }).type ??= 'Opaque';
      break;
    }
    case 'Namespace': {
      const status = isObject(obj.status) ? obj.status : {};
      status.phase ??= 'Active';
      obj.status = status;
      break;
    }
  }
}
