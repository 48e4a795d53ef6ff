import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitMessageFromEvent, runFacts, sinceTs } from './run-facts.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'run-facts-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('runFacts', () => {
  it('links the commit and the run on the GitHub server, with the event commit message', async () => {
    const event = join(dir, 'event.json');
    await writeFile(event, JSON.stringify({ head_commit: { message: 'Fix <things>' } }));
    expect(
      runFacts({
        GITHUB_SERVER_URL: 'https://ghe.example.com/',
        GITHUB_REPOSITORY: 'acme/shop',
        GITHUB_SHA: 'abc123',
        GITHUB_RUN_ID: '99',
        GITHUB_RUN_ATTEMPT: '2',
        GITHUB_ACTOR: 'octocat',
        GITHUB_EVENT_PATH: event,
      }),
    ).toEqual({
      repository: 'acme/shop',
      commit: {
        sha: 'abc123',
        url: 'https://ghe.example.com/acme/shop/commit/abc123',
        message: 'Fix <things>',
      },
      actor: 'octocat',
      runUrl: 'https://ghe.example.com/acme/shop/actions/runs/99/attempts/2',
    });
  });

  it('has no commit message for events without head_commit or unreadable files', async () => {
    const event = join(dir, 'pr.json');
    await writeFile(event, JSON.stringify({ pull_request: {} }));
    expect(commitMessageFromEvent(event)).toBeUndefined();
    expect(commitMessageFromEvent(join(dir, 'missing.json'))).toBeUndefined();
    expect(commitMessageFromEvent(undefined)).toBeUndefined();
  });
});

describe('sinceTs', () => {
  it('measures from a Slack ts', () => {
    expect(sinceTs('1700000000.500000', 1_700_000_065_500)).toBe(65_000);
    expect(sinceTs(undefined)).toBeUndefined();
    expect(sinceTs('1700000000.000000', 1_000)).toBeUndefined();
  });
});
