/** What the workflow run says about itself (GITHUB_* variables and the event payload). */
import { readFileSync } from 'node:fs';
import type { CommitFacts, DeployFacts } from './message.js';

export interface RunFacts {
  repository: string;
  commit?: CommitFacts;
  actor?: string;
  runUrl?: string;
  workflow?: string;
  runNumber?: string;
}

/** head_commit.message of a push event; undefined for other events or an unreadable file. */
export function commitMessageFromEvent(eventPath: string | undefined): string | undefined {
  if (!eventPath) return undefined;
  try {
    const event = JSON.parse(readFileSync(eventPath, 'utf8')) as { head_commit?: { message?: unknown } };
    const message = event.head_commit?.message;
    return typeof message === 'string' ? message : undefined;
  } catch {
    return undefined;
  }
}

export function runFacts(env: NodeJS.ProcessEnv = process.env): RunFacts {
  const server = (env.GITHUB_SERVER_URL ?? 'https://github.com').replace(/\/+$/, '');
  const repository = env.GITHUB_REPOSITORY ?? '';
  const sha = env.GITHUB_SHA ?? '';
  const message = commitMessageFromEvent(env.GITHUB_EVENT_PATH);
  const attempt =
    env.GITHUB_RUN_ATTEMPT && env.GITHUB_RUN_ATTEMPT !== '1' ? `/attempts/${env.GITHUB_RUN_ATTEMPT}` : '';
  return {
    repository: repository || 'unknown repository',
    ...(sha && repository
      ? {
          commit: {
            sha,
            url: `${server}/${repository}/commit/${sha}`,
            ...(message !== undefined ? { message } : {}),
          },
        }
      : {}),
    ...(env.GITHUB_ACTOR ? { actor: env.GITHUB_ACTOR } : {}),
    ...(env.GITHUB_RUN_ID && repository
      ? { runUrl: `${server}/${repository}/actions/runs/${env.GITHUB_RUN_ID}${attempt}` }
      : {}),
    ...(env.GITHUB_WORKFLOW ? { workflow: env.GITHUB_WORKFLOW } : {}),
    ...(env.GITHUB_RUN_NUMBER ? { runNumber: env.GITHUB_RUN_NUMBER } : {}),
  };
}

/** Time since a Slack ts (`<seconds>.<micros>`), i.e. since the `started` message was posted. */
export function sinceTs(ts: string | undefined, now = Date.now()): number | undefined {
  if (!ts) return undefined;
  const seconds = Number(ts);
  if (!Number.isFinite(seconds)) return undefined;
  const ms = now - seconds * 1000;
  return ms >= 0 ? ms : undefined;
}

/** What a step told either notice (Slack, e-mail) about its deploy. */
export type NoticeInputs = Pick<
  DeployFacts,
  'status' | 'app' | 'environment' | 'version' | 'strategy' | 'text' | 'fields' | 'report'
>;

/** The deploy facts of a notice: what the step was told, and the run's from the runner's env. */
export function noticeFacts(
  settings: NoticeInputs,
  env: NodeJS.ProcessEnv,
): Omit<DeployFacts, 'mentions' | 'durationMs'> {
  const optional = <K extends 'app' | 'environment' | 'version' | 'strategy' | 'text' | 'report'>(key: K) =>
    settings[key] !== undefined ? { [key]: settings[key] } : {};
  return {
    status: settings.status,
    ...optional('app'),
    ...optional('environment'),
    ...optional('version'),
    ...optional('strategy'),
    ...optional('text'),
    ...optional('report'),
    fields: settings.fields,
    ...runFacts(env),
  };
}
