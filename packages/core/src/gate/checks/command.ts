/**
 * One sample of a command check: the program run with its argument list (never a shell), exit
 * code 0 passes. The record keeps the last lines of its output.
 *
 * Why node:child_process rather than @actions/exec: a check that times out or is cancelled must
 * leave nothing running on the runner, and only a process of our own spawning can be put in its
 * own process group, which is how everything it started (a `sh -c '... &'`, a test runner's
 * workers) is stopped with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { CommandCheck, Sample } from '../types.js';

/** How long a stopped command gets to exit on SIGTERM before its group is sent SIGKILL. */
const KILL_GRACE_MS = 2000;
/** Output kept per stream: the record shows only the last lines. */
const OUTPUT_TAIL_BYTES = 8192;

/** The step's environment minus its inputs: INPUT_KUBECONFIG and other secrets stay with the action. */
function inheritedEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('INPUT_')) env[key] = value;
  }
  return env;
}

function lastLines(text: string, count = 3): string {
  return text.trim().split('\n').slice(-count).join(' / ').slice(0, 300);
}

/** The tail of a stream's output, bounded however much the command prints. */
function tail(stream: NodeJS.ReadableStream | null): () => string {
  let kept = Buffer.alloc(0);
  stream?.on('data', (chunk: Buffer) => {
    kept = Buffer.concat([kept, chunk]);
    if (kept.length > OUTPUT_TAIL_BYTES) kept = kept.subarray(kept.length - OUTPUT_TAIL_BYTES);
  });
  return () => kept.toString('utf8');
}

/** Resolves true once `settled` settles, false after `ms` if it has not. */
function within(settled: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void settled.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Whether any process is left in the group (a zombie counts until it is reaped). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group has already gone.
  }
}

/**
 * Stops the child and everything it started: SIGTERM to its group, SIGKILL after the grace to
 * whatever is left. Resolves once the output pipes have closed, or after two graces at most (a
 * process that moved to a group of its own can hold them open).
 */
async function stopTree(child: ChildProcess, closed: Promise<void>): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  if (process.platform === 'win32') {
    // Windows has no process groups: taskkill /T walks the tree from the child.
    spawn('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore' }).on('error', () => undefined);
    await within(closed, KILL_GRACE_MS);
    return;
  }
  signalGroup(pid, 'SIGTERM');
  const exited = await within(closed, KILL_GRACE_MS);
  if (!exited || groupAlive(pid)) signalGroup(pid, 'SIGKILL');
  if (!(await within(closed, KILL_GRACE_MS))) {
    // A process that left the group still holds the output pipes: stop reading them.
    child.stdout?.destroy();
    child.stderr?.destroy();
  }
}

type Ending =
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'failed'; error: Error }
  | { kind: 'timeout' }
  | { kind: 'aborted' };

export async function sampleCommand(check: CommandCheck, signal?: AbortSignal): Promise<Sample> {
  signal?.throwIfAborted();
  const [program, ...args] = check.command;
  const started = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(program!, args, {
      ...(check.cwd !== undefined ? { cwd: check.cwd } : {}),
      env: { ...inheritedEnv(), ...check.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group (POSIX), so that stopping it reaches what it started.
      detached: process.platform !== 'win32',
    });
  } catch (error) {
    return { outcome: 'fail', detail: `${program} did not run: ${errorText(error)}` };
  }
  const stdout = tail(child.stdout);
  const stderr = tail(child.stderr);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const end = await new Promise<Ending>((resolve) => {
    child.once('error', (error) => resolve({ kind: 'failed', error }));
    // 'close', not 'exit': the output is complete only once every holder of the pipes is done.
    child.once('close', (code, exitSignal) => resolve({ kind: 'exited', code, signal: exitSignal }));
    timer = setTimeout(() => resolve({ kind: 'timeout' }), check.timeoutMs);
    onAbort = () => resolve({ kind: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  clearTimeout(timer);
  if (onAbort) signal?.removeEventListener('abort', onAbort);
  const ms = Math.round(performance.now() - started);
  // Whatever the ending, nothing the check started outlives its sample.
  if (end.kind !== 'exited' || (process.platform !== 'win32' && child.pid && groupAlive(child.pid)))
    await stopTree(child, closed);

  const output = lastLines(stderr() || stdout());
  switch (end.kind) {
    case 'aborted':
      throw signal?.reason ?? new Error('cancelled');
    case 'failed':
      return { outcome: 'fail', detail: `${program} did not run: ${errorText(end.error)}` };
    case 'timeout':
      return {
        outcome: 'fail',
        detail: `timed out after ${check.timeoutMs} ms, stopped with what it started${output ? `: ${output}` : ''}`,
      };
    case 'exited': {
      if (end.code === 0) return { outcome: 'ok', value: 0, detail: `exit 0 in ${ms} ms` };
      const how = end.code === null ? `killed by ${end.signal ?? 'a signal'}` : `exit ${end.code}`;
      return {
        outcome: 'fail',
        ...(end.code !== null ? { value: end.code } : {}),
        detail: `${how} in ${ms} ms${output ? `: ${output}` : ''}`,
      };
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
