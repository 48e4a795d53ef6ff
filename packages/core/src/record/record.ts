/**
 * The cluster holds the record: the deployment record annotation on the object a deploy owns, and
 * a bounded history ConfigMap per app. Rollback, the next step and a manual run days later read
 * these, so nothing has to be passed through a workflow.
 */
import { createHash } from 'node:crypto';
import { isAlreadyExists } from '../kube/errors.js';
import { CONFIGMAPS, type KubeObjects, type ResourceRef } from '../kube/objects.js';
import { runUrl, type RunContext } from '../github/github.js';
import { RECORD_ANNOTATION } from '../kube/annotations.js';

export { RECORD_ANNOTATION };

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
  /** Canary: where it stands, so any later job (or a re-run) continues from there. */
  canary?: CanaryState;
  startedAt: string;
  updatedAt: string;
  repository: string;
  runId: string;
  runUrl: string;
  commit: string;
  actor: string;
  message?: string;
  /** The gate that verified the version once it served (deploy-rolling's verify, rollback's checks). */
  gate?: RecordedGate;
}

/**
 * A gate's decision as the record annotation and the history keep it: the verdict and why, and
 * each check's verdict. The samples stay in the report file and the job summary: an annotation
 * and a history entry must stay small.
 */
export interface RecordedGate {
  verdict: 'pass' | 'fail' | 'inconclusive';
  passed: boolean;
  reason: string;
  checks: { name: string; verdict: 'pass' | 'fail' | 'inconclusive' }[];
  startedAt: string;
  endedAt: string;
}

export interface CanaryStep {
  weight: number;
  at: string;
  /** The gate's verdict at this weight; absent while (or if) the step's gate has not ended. */
  verdict?: 'pass' | 'fail' | 'inconclusive';
  /** The canary's share seen in the traffic, percent. */
  observed?: number;
  runId: string;
}

export interface CanaryState {
  state: 'progressing' | 'paused' | 'promoted' | 'aborted';
  /** How traffic is split, as the run that started it was told: later jobs need not repeat it. */
  route: { kind: string; name?: string; service: string; rule?: string; versionLabel: string };
  steps: number[];
  /** The weights reached, oldest first, with their verdicts. */
  history: CanaryStep[];
  header?: { header: string; match: string; value: string };
  /** Digest of the canary's pod template: the same version continues, another one is refused. */
  templateDigest: string;
  /**
   * dynamic-stable-scale: the stable's replicas when the canary started (its full size). Its
   * presence says the stable is scaled with the weight, so later jobs scale it back on abort.
   */
  stableReplicas?: number;
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
  gate?: RecordedGate;
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
    { idempotent: true },
  );
}

interface ConfigMap {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
  data?: Record<string, string>;
}

/**
 * One key per entry, named so that sorting the keys sorts by time, and derived from the entry
 * itself: appending the same entry again (a retry after a lost answer) writes the same key.
 */
function entryKey(entry: HistoryEntry): string {
  const digest = createHash('sha256').update(JSON.stringify(entry)).digest('hex').slice(0, 8);
  return `entry-${entry.time.replace(/[^0-9]/g, '')}-${digest}`;
}

function parseHistory(cm: ConfigMap | undefined): { key: string; entry: HistoryEntry }[] {
  return Object.entries(cm?.data ?? {})
    .filter(([key]) => key.startsWith('entry-'))
    .sort(([a], [b]) => a.localeCompare(b))
    .flatMap(([key, text]) => {
      try {
        return [{ key, entry: JSON.parse(text) as HistoryEntry }];
      } catch {
        return []; // a hand-edited entry that no longer parses is skipped, not fatal
      }
    });
}

export async function readHistory(
  objects: KubeObjects,
  namespace: string,
  app: string,
): Promise<HistoryEntry[]> {
  return (await openHistory(objects, namespace, app)).entries;
}

export interface History {
  entries: HistoryEntry[];
  /** Adds an entry and drops the oldest beyond HISTORY_LIMIT, in one merge patch. */
  append(entry: HistoryEntry): Promise<void>;
}

/**
 * Reads the app's history ConfigMap (created empty when missing). Opened before a deploy, so the
 * append at the end is one write: a merge patch adding the new key and nulling the oldest ones.
 * Appends happen under the app lock, so no other run prunes the same keys meanwhile.
 */
export async function openHistory(objects: KubeObjects, namespace: string, app: string): Promise<History> {
  const name = historyName(app);
  const cm = await objects.get<ConfigMap>(CONFIGMAPS, namespace, name);
  const existing = parseHistory(cm);
  let keys = existing.map((e) => e.key);
  let created = cm !== undefined;
  return {
    entries: existing.map((e) => e.entry),
    async append(entry: HistoryEntry): Promise<void> {
      const key = entryKey(entry);
      if (!created) {
        try {
          await objects.create(CONFIGMAPS, namespace, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: {
              name,
              namespace,
              labels: { 'app.kubernetes.io/managed-by': 'cd-actions', 'cd-actions.dev/app': app },
            },
            data: { [key]: JSON.stringify(entry) },
          });
          created = true;
          keys = [key];
          return;
        } catch (error) {
          // Created meanwhile, or created but the answer was lost: the patch below writes the
          // same key either way. If the ConfigMap really is not there, the create's error stands.
          if (
            !isAlreadyExists(error) &&
            !(await objects.get(CONFIGMAPS, namespace, name).catch(() => undefined))
          )
            throw error;
          created = true;
        }
      }
      const known = keys.filter((k) => k !== key);
      const dropped = known.slice(0, Math.max(0, known.length + 1 - HISTORY_LIMIT));
      const data: Record<string, string | null> = { [key]: JSON.stringify(entry) };
      for (const old of dropped) data[old] = null;
      await objects.patch(CONFIGMAPS, namespace, name, { data }, 'merge', { idempotent: true });
      keys = [...known.filter((k) => !dropped.includes(k)), key];
    },
  };
}

export async function appendHistory(
  objects: KubeObjects,
  namespace: string,
  app: string,
  entry: HistoryEntry,
): Promise<void> {
  await (await openHistory(objects, namespace, app)).append(entry);
}
