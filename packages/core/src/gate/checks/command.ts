/**
 * One sample of a command check: the program run with its argument list through @actions/exec
 * (never a shell), exit code 0 passes. Output is kept short in the record; the log has it all.
 */
import type { CommandCheck, Sample } from '../types.js';

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

export async function sampleCommand(check: CommandCheck, signal?: AbortSignal): Promise<Sample> {
  const exec = await import('@actions/exec');
  const [program, ...args] = check.command;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), check.timeoutMs);
  const stop = (): void => controller.abort();
  signal?.addEventListener('abort', stop, { once: true });
  const started = performance.now();
  try {
    const run = exec.getExecOutput(program!, args, {
      ignoreReturnCode: true,
      silent: true,
      ...(check.cwd !== undefined ? { cwd: check.cwd } : {}),
      env: { ...inheritedEnv(), ...check.env },
    });
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener(
        'abort',
        () => reject(new Error(`timed out after ${check.timeoutMs} ms`)),
        { once: true },
      );
    });
    const result = await Promise.race([run, aborted]);
    const ms = Math.round(performance.now() - started);
    const output = lastLines(result.stderr || result.stdout);
    return result.exitCode === 0
      ? { outcome: 'ok', value: result.exitCode, detail: `exit 0 in ${ms} ms` }
      : {
          outcome: 'fail',
          value: result.exitCode,
          detail: `exit ${result.exitCode} in ${ms} ms${output ? `: ${output}` : ''}`,
        };
  } catch (error) {
    if (signal?.aborted) throw error;
    return {
      outcome: 'fail',
      detail: `${check.command[0]} did not run: ${error instanceof Error ? error.message : String(error)}`,
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
  }
}
