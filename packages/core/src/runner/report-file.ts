/**
 * The JSON report file a step leaves for later steps (health-gate's decision record,
 * canary-step's canary); its path is the step's `report` output. A path from `report-path` comes
 * already resolved and checked (input.path with `output: true`: inside the workspace or
 * RUNNER_TEMP); without one, the file is a new one in RUNNER_TEMP, which lasts for the job.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Writes `content` as JSON to `path`, or to a new file named after `action` in RUNNER_TEMP; returns the path. */
export async function writeReportFile(
  action: string,
  path: string | undefined,
  content: unknown,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const target =
    path ?? join(env.RUNNER_TEMP || tmpdir(), `${action}-${env.GITHUB_RUN_ID ?? 'local'}-${Date.now()}.json`);
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, `${JSON.stringify(content, null, 2)}\n`);
  return target;
}
