/**
 * One scenario's sandbox: brought to the starting state once, then any number of runs of the
 * action under test, each from that same state (put back from a snapshot), each judged against
 * the invariant every action promises:
 *
 * - exit 0 only if the goal was reached (else a false green);
 * - exit non-zero only if it was not (a deploy that reached its goal and exits 1 is a false red);
 * - otherwise traffic is on the version that served before (else stranded, or unrestored);
 * - the app's Lease is gone after the run;
 * - the history says what happened (or a warning says it could not be written).
 */
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AuditEntry, FaultRule } from '../../../packages/sandbox/src/faults.js';
import {
  runAction,
  type ActionResult,
  type RunActionOptions,
} from '../../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../../packages/sandbox/src/sandbox.js';
import { live, startTestSandbox } from '../fixtures.js';
import type { ActionName, Files, Inputs, Scenario, Traffic } from './scenarios.js';
import { restoreSnapshot, takeSnapshot, type Snapshot } from './snapshot.js';

export const NAMESPACE = 'shop';

/** The five ways to break the promise, a history that does not tell, and a run that never ended. */
export const PROBLEMS = [
  'false green',
  'false red',
  'stranded',
  'unrestored',
  'lease left behind',
  'record',
  'hung',
] as const;
export type Problem = (typeof PROBLEMS)[number];

export interface Verdict {
  /** ok: goal reached, exit 0; back: not reached, exit non-zero, traffic where it was. */
  outcome: 'ok' | 'back' | 'broken';
  problems: Problem[];
  traffic: Traffic;
  exitCode: number | null;
  /** What the action said last (its error), for a broken cell. */
  said: string;
}

export interface Run {
  result: ActionResult;
  /** The API requests the run made, in order. */
  audit: AuditEntry[];
  /** Whether the fault rule given fired. */
  hit: boolean;
  verdict: Verdict;
}

export interface RunOptions {
  /** One fault rule, on the API. */
  fault?: Omit<FaultRule, 'target' | 'name'>;
  /** Inputs instead of the scenario's (another `action` on the same app, say). */
  inputs?: Inputs;
  env?: Record<string, string>;
  cancelWhen?: RegExp;
  killWhen?: RegExp;
  onOutput?: (text: string) => void;
  /** Leave the state as the run left it (for a re-run to continue from). */
  keepState?: boolean;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);
const RUN_TIMEOUT_MS = 120_000;

export function isWrite(e: { verb: string; dryRun?: boolean }): boolean {
  return WRITE_VERBS.has(e.verb) && !e.dryRun;
}

export function isLease(e: { path: string }): boolean {
  return e.path.includes('/leases');
}

export class Stage {
  private runs = 0;
  private constructor(
    readonly scenario: Scenario,
    readonly sandbox: Sandbox,
    private readonly kubeconfig: string,
    private readonly workspace: string,
    private readonly snapshot: Snapshot,
  ) {}

  /** A sandbox in the scenario's starting state. */
  static async open(scenario: Scenario): Promise<Stage> {
    const sandbox = await startTestSandbox();
    try {
      const kubeconfig = sandbox.kubeconfigFor(scenario.role);
      let setUpRun = 0;
      await scenario.setUp(sandbox, async (action, files, inputs) => {
        const ws = await makeWorkspace(files);
        const result = await runOnce(action, ws, kubeconfig, inputs, {
          env: { GITHUB_RUN_ID: String(9000 + setUpRun++) },
        }).finally(() => rm(ws, { recursive: true, force: true }));
        if (result.exitCode !== 0)
          throw new Error(`setting up ${scenario.name}: ${action} failed:\n${result.log}`);
      });
      const snapshot = takeSnapshot(sandbox, NAMESPACE);
      // Settles the cluster after the set-up, as after every run.
      await restoreSnapshot(sandbox, snapshot);
      return new Stage(scenario, sandbox, kubeconfig, await makeWorkspace(scenario.files), snapshot);
    } catch (error) {
      await sandbox.stop();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.sandbox.stop();
    await rm(this.workspace, { recursive: true, force: true });
  }

  /** Runs the action under test once from the starting state, with at most one fault, and judges it. */
  async run(options: RunOptions = {}): Promise<Run> {
    const { sandbox } = this;
    sandbox.faults.clear();
    sandbox.audit.clear();
    const name = `cell-${++this.runs}`;
    if (options.fault) sandbox.faults.add({ ...options.fault, target: 'api', name });
    const result = await runOnce(
      this.scenario.action,
      this.workspace,
      this.kubeconfig,
      options.inputs ?? this.scenario.inputs,
      {
        env: { GITHUB_RUN_ID: String(10_000 + this.runs), ...options.env },
        ...pick(options),
      },
    );
    const hit = sandbox.faults.hits.some((h) => h.name === name);
    sandbox.faults.clear();
    const audit = sandbox.audit.entries.filter((e) => e.target === 'api');
    const verdict = this.judge(result, audit);
    if (!options.keepState) await this.reset();
    return { result, audit, hit, verdict };
  }

  /** Back to the starting state. */
  async reset(): Promise<void> {
    await restoreSnapshot(this.sandbox, this.snapshot);
  }

  judge(result: ActionResult, audit: AuditEntry[]): Verdict {
    const traffic = this.scenario.traffic(this.sandbox, result);
    const exit0 = result.exitCode === 0;
    const problems: Problem[] = [];
    if (result.timedOut) problems.push('hung');
    if (exit0 && traffic.on !== 'new') problems.push('false green');
    if (!exit0 && traffic.on === 'new') problems.push('false red');
    if (!exit0 && (traffic.on === 'stranded' || traffic.on === 'unrestored')) problems.push(traffic.on);
    if (live(this.sandbox, 'Lease', NAMESPACE, `cd-actions-lock-${this.scenario.app}`))
      problems.push('lease left behind');
    if (!this.historyTells(result, audit)) problems.push('record');
    return {
      outcome: problems.length > 0 ? 'broken' : exit0 ? 'ok' : 'back',
      problems,
      traffic,
      exitCode: result.exitCode,
      said: (result.errors.at(-1) ?? result.log.trim().split('\n').at(-1) ?? '').slice(0, 400),
    };
  }

  /**
   * The history entries this run added say how it ended: succeeded when it exits 0; failed,
   * rolled back or cancelled when it exits non-zero having changed something. A warning that the
   * record could not be written is the accepted alternative (the engine retries first).
   */
  private historyTells(result: ActionResult, audit: AuditEntry[]): boolean {
    const name = `cd-actions-history-${this.scenario.app}`;
    const before = new Set(
      Object.keys(
        (this.snapshot.objects.get(`ConfigMap/${name}`) as { data?: object } | undefined)?.data ?? {},
      ),
    );
    const data = (
      live(this.sandbox, 'ConfigMap', NAMESPACE, name) as { data?: Record<string, string> } | undefined
    )?.data;
    const added = Object.entries(data ?? {})
      .filter(([key]) => key.startsWith('entry-') && !before.has(key))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, text]) => (JSON.parse(text) as { outcome: string }).outcome);
    const warned = result.warnings.some((w) => /could not be written/.test(w));
    const last = added.at(-1);
    if (result.exitCode === 0) return last === 'succeeded' || warned;
    const changed = audit.some((e) => isWrite(e) && !isLease(e) && e.status >= 200 && e.status < 300);
    if (!changed) return !added.includes('succeeded');
    return (last !== undefined && !['succeeded', 'progressing'].includes(last)) || warned;
  }
}

function pick(o: RunOptions): Pick<RunActionOptions, 'cancelWhen' | 'killWhen' | 'onOutput'> {
  return {
    ...(o.cancelWhen ? { cancelWhen: o.cancelWhen } : {}),
    ...(o.killWhen ? { killWhen: o.killWhen } : {}),
    ...(o.onOutput ? { onOutput: o.onOutput } : {}),
  };
}

async function makeWorkspace(files: Files): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'faults-workspace-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

function runOnce(
  action: ActionName,
  workspace: string,
  kubeconfig: string,
  inputs: Inputs,
  extra: Pick<RunActionOptions, 'cancelWhen' | 'killWhen' | 'onOutput'> & { env: Record<string, string> },
): Promise<ActionResult> {
  return runAction({
    action,
    cwd: workspace,
    inputs: { kubeconfig, namespace: NAMESPACE, ...inputs },
    timeoutMs: RUN_TIMEOUT_MS,
    ...extra,
  });
}
