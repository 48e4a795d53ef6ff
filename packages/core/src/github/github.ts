/**
 * GitHub Deployments for a deploy step: one deployment on the commit for the environment, with
 * statuses in_progress → success / failure pointing at the run's log. GitHub is a mirror of
 * what happened in the cluster, so its failures are reported as warnings and never change a
 * deploy's outcome.
 */
import { withRetry } from '../net/retry.js';

export type DeploymentState =
  'in_progress' | 'success' | 'failure' | 'error' | 'inactive' | 'queued' | 'pending';

export interface RunContext {
  repository: string; // owner/repo
  sha: string;
  ref: string;
  runId: string;
  runAttempt: string;
  serverUrl: string;
  apiUrl: string;
  actor: string;
  workflow: string;
}

export function runContext(env: NodeJS.ProcessEnv = process.env): RunContext {
  return {
    repository: env.GITHUB_REPOSITORY ?? 'unknown/unknown',
    sha: env.GITHUB_SHA ?? '',
    ref: env.GITHUB_REF ?? '',
    runId: env.GITHUB_RUN_ID ?? '',
    runAttempt: env.GITHUB_RUN_ATTEMPT ?? '1',
    serverUrl: env.GITHUB_SERVER_URL ?? 'https://github.com',
    apiUrl: env.GITHUB_API_URL ?? 'https://api.github.com',
    actor: env.GITHUB_ACTOR ?? '',
    workflow: env.GITHUB_WORKFLOW ?? '',
  };
}

export function runUrl(run: RunContext): string {
  return `${run.serverUrl}/${run.repository}/actions/runs/${run.runId}${run.runAttempt !== '1' ? `/attempts/${run.runAttempt}` : ''}`;
}

export interface GitHubDeployment {
  id: number;
  setStatus(state: DeploymentState, description: string): Promise<void>;
}

interface DeploymentsClient {
  request(route: string, params: Record<string, unknown>): Promise<{ status: number; data: unknown }>;
}

async function createClient(token: string, apiUrl: string): Promise<DeploymentsClient> {
  const { getOctokit } = await import('@actions/github');
  return getOctokit(token, { baseUrl: apiUrl });
}

/**
 * Starts a GitHub deployment. Returns undefined (after a warning) when GitHub refuses, so the
 * deploy itself goes on.
 */
export async function startDeployment(options: {
  token: string;
  environment: string;
  description: string;
  run?: RunContext;
  deadlineMs?: number;
  client?: DeploymentsClient;
  /** GitHub's refusals are warnings: it mirrors the deploy, it does not decide it. */
  warn: (text: string) => void;
}): Promise<GitHubDeployment | undefined> {
  const run = options.run ?? runContext();
  const [owner, repo] = run.repository.split('/');
  const deadlineMs = options.deadlineMs ?? 30_000;
  try {
    const client = options.client ?? (await createClient(options.token, run.apiUrl));
    const created = await withRetry(
      () =>
        client.request('POST /repos/{owner}/{repo}/deployments', {
          owner,
          repo,
          ref: run.sha || run.ref,
          environment: options.environment,
          description: options.description.slice(0, 140),
          auto_merge: false,
          required_contexts: [],
          task: 'deploy',
          production_environment: /^prod/i.test(options.environment),
        }),
      { deadlineMs, idempotent: false },
    );
    const id = (created.data as { id?: number }).id;
    if (created.status !== 201 || typeof id !== 'number') {
      options.warn(
        `GitHub did not create a deployment for ${options.environment} (HTTP ${created.status}); deploying without it`,
      );
      return undefined;
    }
    const setStatus = async (state: DeploymentState, description: string): Promise<void> => {
      try {
        await withRetry(
          () =>
            client.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
              owner,
              repo,
              deployment_id: id,
              state,
              description: description.slice(0, 140),
              log_url: runUrl(run),
              environment: options.environment,
              auto_inactive: state === 'success',
            }),
          { deadlineMs, idempotent: true },
        );
      } catch (error) {
        options.warn(`Could not set GitHub deployment ${id} to ${state}: ${describeError(error)}`);
      }
    };
    return { id, setStatus };
  } catch (error) {
    options.warn(`Could not create a GitHub deployment for ${options.environment}: ${describeError(error)}`);
    return undefined;
  }
}

function describeError(error: unknown): string {
  const status = (error as { status?: number }).status;
  const message = error instanceof Error ? error.message : String(error);
  return status ? `HTTP ${status}: ${message}` : message;
}
