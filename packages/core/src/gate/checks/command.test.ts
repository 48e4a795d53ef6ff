import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandCheck } from '../types.js';
import { sampleCommand } from './command.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'command-check-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

function check(command: string[], timeoutMs = 5000): CommandCheck {
  return { kind: 'command', name: 'smoke', rules: { critical: false }, command, timeoutMs, env: {} };
}

/** Running or stopped, not a zombie waiting to be reaped (a container's init may never reap it). */
function alive(pid: number): boolean {
  if (existsSync('/proc/self/stat')) {
    try {
      return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `sh` that starts a grandchild (sleep), writes both pids to a file, then waits: the argv is
 * fixed, the file path is passed as an argument, never spliced into the script.
 */
function shellWithGrandchild(pidFile: string, script = 'sleep 30 & echo $$ $! > "$1"; wait'): string[] {
  return ['sh', '-c', script, 'sh', pidFile];
}

/** Whether the process is gone within `ms`: a signalled process takes a moment to exit. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid) && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 10));
  return !alive(pid);
}

async function pids(file: string): Promise<number[]> {
  return (await readFile(file, 'utf8')).trim().split(/\s+/).map(Number);
}

describe('sampleCommand', () => {
  it('passes on exit 0 and fails with the exit code and the last output lines', async () => {
    const node = process.execPath;
    expect(await sampleCommand(check([node, '-e', 'process.exit(0)']))).toMatchObject({
      outcome: 'ok',
      value: 0,
    });
    const failed = await sampleCommand(
      check([node, '-e', "console.log('a\\nb'); console.error('boom'); process.exit(3)"]),
    );
    expect(failed).toMatchObject({ outcome: 'fail', value: 3 });
    expect(failed.detail).toMatch(/^exit 3 in \d+ ms: boom$/);
  });

  it('takes its argument list as it is: no shell reads it', async () => {
    const sample = await sampleCommand(
      check([process.execPath, '-e', 'process.exit(process.argv[1] === "$(id) ; *" ? 0 : 1)', '$(id) ; *']),
    );
    expect(sample.outcome).toBe('ok');
  });

  it('says so when the program does not exist', async () => {
    const sample = await sampleCommand(check(['/no/such/program', '--version']));
    expect(sample).toMatchObject({ outcome: 'fail' });
    expect(sample.detail).toMatch(/^\/no\/such\/program did not run: .*ENOENT/);
  });

  it('on timeout stops the command and what it started, and reports the timeout', async () => {
    const pidFile = join(work, 'timeout.pids');
    const sample = await sampleCommand(check(shellWithGrandchild(pidFile), 500));
    expect(sample).toMatchObject({ outcome: 'fail' });
    expect(sample.detail).toMatch(/^timed out after 500 ms, stopped with what it started/);
    const [shell, sleeper] = await pids(pidFile);
    expect(shell).toBeGreaterThan(0);
    expect(sleeper).toBeGreaterThan(0);
    expect([await goneWithin(shell!, 5000), await goneWithin(sleeper!, 5000)]).toEqual([true, true]);
  });

  it('sends SIGKILL to a command that ignores SIGTERM', async () => {
    const pidFile = join(work, 'stubborn.pids');
    const sample = await sampleCommand(
      check(shellWithGrandchild(pidFile, 'trap "" TERM; sleep 30 & echo $$ $! > "$1"; wait'), 300),
    );
    expect(sample.detail).toMatch(/^timed out after 300 ms/);
    const [shell, sleeper] = await pids(pidFile);
    expect([await goneWithin(shell!, 5000), await goneWithin(sleeper!, 5000)]).toEqual([true, true]);
  });

  it('on cancel stops the command and what it started, then throws the reason', async () => {
    const pidFile = join(work, 'cancel.pids');
    const cancel = new AbortController();
    const sampling = sampleCommand(check(shellWithGrandchild(pidFile), 30_000), cancel.signal);
    // Cancel once the grandchild is known to run.
    while (!existsSync(pidFile) || (await readFile(pidFile, 'utf8')).trim().split(' ').length < 2)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const [shell, sleeper] = await pids(pidFile);
    expect([alive(shell!), alive(sleeper!)]).toEqual([true, true]);
    cancel.abort(new Error('cancelled by SIGINT'));
    await expect(sampling).rejects.toThrow('cancelled by SIGINT');
    // Signals are delivered asynchronously: gone within a bound far below the 30 s they would live.
    expect([await goneWithin(shell!, 5000), await goneWithin(sleeper!, 5000)]).toEqual([true, true]);
  });

  it('leaves nothing behind that a command started and did not wait for', async () => {
    const pidFile = join(work, 'leftover.pids');
    const sample = await sampleCommand(
      check(shellWithGrandchild(pidFile, 'sleep 30 >/dev/null 2>&1 & echo $$ $! > "$1"')),
    );
    expect(sample.outcome).toBe('ok');
    const [, sleeper] = await pids(pidFile);
    // Its output went elsewhere, so nothing waits for it to die: it was sent SIGKILL; let it go.
    expect(await goneWithin(sleeper!, 5000)).toBe(true);
  });
});
