/**
 * The cluster holds the record: the deployment record annotation on the object a deploy owns, and
 * a bounded history ConfigMap per app. Rollback, the next step and a manual run days later read
 * these, so nothing has to be passed through a workflow.
 */
import { isConflict } from './kube-errors.js';
import { CONFIGMAPS, type KubeObjects, type ResourceRef } from './kube-objects.js';
import { runUrl, type RunContext } from './github.js';

export const RECORD_ANNOTATION = 'cd-actions.dev/record';
export const HISTORY_LIMIT = 30;

export type Strategy = 'rolling' | 'blue-green' | 'canary';
export type Phase = 'progressing' | 'succeeded' | 'failed' | 'rolled-back' | 'cancelled';

export interface VersionInfo {
  revision?: string;
  /** pod-template-hash: names a template even after revision numbers move on. */
  templateHash?: string;
  images: Record<string, string>;
  color?: string;
}

export interface DeploymentRecord {
  strategy: Strategy;
  phase: Phase;
  app: string;
  stable?: VersionInfo;
  candidate?: VersionInfo;
  weight?: number;
  /** Blue-green: where the switch happens, so rollback can switch back without inputs. */
  route?: { kind: string; name: string; service: string; colorLabel: string };
  /** Blue-green: the Deployment serving each colour. */
  deployments?: Record<string, string>;
  startedAt: string;
  updatedAt: string;
  repository: string;
  runId: string;
  runUrl: string;
  commit: string;
  actor: string;
  message?: string;
}

export interface HistoryEntry {
  action: 'deploy' | 'rollback';
  strategy: Strategy;
  outcome: Phase;
  deployment: string;
  revision?: string;
  templateHash?: string;
  images: Record<string, string>;
  from?: string;
  to?: string;
  reason?: string;
  commit: string;
  runUrl: string;
  actor: string;
  time: string;
}

export function historyName(app: string): string {
  return `cd-actions-history-${app}`.slice(0, 253);
}

export function newRecord(base: { strategy: Strategy; app: string; run: RunContext }): DeploymentRecord {
  const now = new Date().toISOString();
  return {
    strategy: base.strategy,
    phase: 'progressing',
    app: base.app,
    startedAt: now,
    updatedAt: now,
    repository: base.run.repository,
    runId: base.run.runId,
    runUrl: runUrl(base.run),
    commit: base.run.sha,
    actor: base.run.actor,
  };
}

export function readRecord(
  obj: { metadata?: { annotations?: Record<string, string> } } | undefined,
): DeploymentRecord | undefined {
  const raw = obj?.metadata?.annotations?.[RECORD_ANNOTATION];
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as DeploymentRecord;
  } catch {
    return undefined;
  }
}

/** Writes the record onto the object with a merge patch (metadata only: no new generation, no rollout). */
export async function writeRecord(
  objects: KubeObjects,
  ref: ResourceRef,
  namespace: string,
  name: string,
  record: DeploymentRecord,
): Promise<void> {
  record.updatedAt = new Date().toISOString();
  await objects.patch(
    ref,
    namespace,
    name,
    { metadata: { annotations: { [RECORD_ANNOTATION]: JSON.stringify(record) } } },
    'merge',
  );
}

interface ConfigMap {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

export async function readHistory(
  objects: KubeObjects,
  namespace: string,
  app: string,
): Promise<HistoryEntry[]> {
  const cm = await objects.get<ConfigMap>(CONFIGMAPS, namespace, historyName(app));
  return parseHistory(cm);
}

function parseHistory(cm: ConfigMap | undefined): HistoryEntry[] {
  try {
    const parsed = JSON.parse(cm?.data?.history ?? '[]') as unknown;
    return Array.isArray(parsed) ? (parsed as HistoryEntry[]) : [];
  } catch {
    return [];
  }
}

/** Appends with optimistic concurrency: a concurrent append makes us read again, never lose one. */
export async function appendHistory(
  objects: KubeObjects,
  namespace: string,
  app: string,
  entry: HistoryEntry,
): Promise<void> {
  const name = historyName(app);
  for (let attempt = 1; ; attempt++) {
    const cm = await objects.get<ConfigMap>(CONFIGMAPS, namespace, name);
    const history = [...parseHistory(cm), entry].slice(-HISTORY_LIMIT);
    const body: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'cd-actions', 'cd-actions.dev/app': app },
        ...(cm?.metadata.resourceVersion ? { resourceVersion: cm.metadata.resourceVersion } : {}),
      },
      data: { history: JSON.stringify(history) },
    };
    try {
      if (cm) await objects.replace(CONFIGMAPS, namespace, body as never);
      else await objects.create(CONFIGMAPS, namespace, body);
      return;
    } catch (error) {
      if (attempt < 5 && isConflict(error)) continue;
      throw error;
    }
  }
}
