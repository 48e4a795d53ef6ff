/**
 * Runs the real kubectl with argv arrays (never a shell), against one kubeconfig, with its own
 * HOME and cache so nothing of the machine's leaks in. kubectl is taken from PATH (`npm test`
 * puts node_modules/.bin first, where scripts/setup.sh links one when the machine has none), or
 * from KUBECTL_BIN.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const KUBECTL = process.env.KUBECTL_BIN ?? 'kubectl';

export interface KubectlRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Kubectl {
  (args: string[]): Promise<KubectlRun>;
  /** Runs and returns stdout; throws with kubectl's stderr when it fails. */
  ok(args: string[]): Promise<string>;
  /** `get ... -o json`, parsed. */
  json<T = unknown>(args: string[]): Promise<T>;
}

export function kubectlFor(kubeconfig: string, home: string, timeoutMs = 30_000): Kubectl {
  const run = (args: string[]): Promise<KubectlRun> =>
    new Promise((resolve) => {
      execFile(
        KUBECTL,
        ['--kubeconfig', kubeconfig, '--cache-dir', join(home, 'cache'), ...args],
        { timeout: timeoutMs, env: { ...process.env, HOME: home, KUBECONFIG: '' } },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    });
  const ok = async (args: string[]): Promise<string> => {
    const result = await run(args);
    if (result.code !== 0)
      throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return result.stdout;
  };
  return Object.assign(run, {
    ok,
    json: async <T>(args: string[]): Promise<T> => JSON.parse(await ok([...args, '-o', 'json'])) as T,
  });
}

/** Fails fast, with what to do, when there is no kubectl to run. */
export async function requireKubectl(): Promise<void> {
  await new Promise<void>((resolve, reject) =>
    execFile(KUBECTL, ['version', '--client'], (error) =>
      error
        ? reject(
            new Error(`cannot run ${KUBECTL} (${error.message}): run scripts/setup.sh, or set KUBECTL_BIN`),
          )
        : resolve(),
    ),
  );
}
