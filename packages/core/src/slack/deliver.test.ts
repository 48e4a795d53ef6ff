import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, Faults } from '../../../sandbox/src/faults.js';
import { startSlack, type SlackStandIn } from '../../../sandbox/src/standins/slack.js';
import { SlackDeliveryError, deliver, type Destination } from './deliver.js';

const faults = new Faults();
const audit = new AuditLog();
let slack: SlackStandIn;
let api: Extract<Destination, { kind: 'api' }>;

beforeAll(async () => {
  slack = await startSlack({ faults, audit });
  api = { kind: 'api', token: slack.token, channel: '#deploys', apiUrl: `${slack.url}/api` };
});
afterAll(() => slack.stop());
afterEach(() => {
  faults.clear();
  audit.clear();
});

const message = { text: 'hello', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }] };

describe('deliver', () => {
  it('posts with the Web API and returns ts and channel id', async () => {
    const result = await deliver({ destination: api, message, deadlineMs: 5000 });
    expect(result).toEqual({
      ts: expect.stringMatching(/^\d+\.\d{6}$/),
      channelId: slack.channels.deploys,
      attempts: 1,
    });
    expect(slack.message('#deploys', result.ts!)?.text).toBe('hello');
  });

  it('posts by webhook, with thread_ts', async () => {
    const result = await deliver({
      destination: { kind: 'webhook', url: slack.webhookUrl },
      message,
      threadTs: '1700000000.000100',
      deadlineMs: 5000,
    });
    expect(result).toEqual({ attempts: 1 });
    expect(slack.messages.at(-1)).toMatchObject({ via: 'webhook', threadTs: '1700000000.000100' });
  });

  it('retries 5xx and a transient ok:false code until it succeeds', async () => {
    faults.add({ target: 'slack', status: 502, times: 1 });
    faults.add({ target: 'slack', status: 200, body: { ok: false, error: 'internal_error' }, times: 1 });
    const retries: string[] = [];
    const result = await deliver({
      destination: api,
      message,
      deadlineMs: 5000,
      baseDelayMs: 5,
      onRetry: (_a, _d, reason) => retries.push(reason),
    });
    expect(result.attempts).toBe(3);
    expect(retries).toEqual(['HTTP 502', 'internal_error']);
  });

  it('does not retry a permanent error, and explains it', async () => {
    const error = await deliver({
      destination: { ...api, token: 'xoxb-wrong' },
      message,
      deadlineMs: 5000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackDeliveryError);
    expect((error as Error).message).toContain('invalid_auth (the token is not valid');
    expect(audit.entries).toHaveLength(1);
  });

  it("passes on Slack's own reasons for invalid blocks", async () => {
    const bad = { blocks: [{ type: 'header', text: { type: 'plain_text', text: 'x'.repeat(200) } }] };
    const error = (await deliver({ destination: api, message: bad, deadlineMs: 5000 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(error.message).toMatch(
      /invalid_blocks .*must be less than 151 characters \[json-pointer:\/blocks\/0\/text\/text\]/,
    );
  });

  it("reads a webhook 4xx text as Slack's error code", async () => {
    const error = (await deliver({
      destination: { kind: 'webhook', url: slack.webhookUrl.replace(/[^/]+$/, 'not-the-secret') },
      message,
      deadlineMs: 5000,
    }).catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('invalid_token (the webhook URL is no longer valid');
    expect(error.message).not.toContain('not-the-secret');
  });

  it('gives up at the deadline with what it saw last', async () => {
    faults.add({ target: 'slack', status: 503 });
    const started = Date.now();
    const error = (await deliver({ destination: api, message, deadlineMs: 600, baseDelayMs: 50 }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toMatch(/within the 1 s deadline|after \d+ attempts/);
    expect(error.message).toContain('HTTP 503');
    expect(audit.entries.length).toBeGreaterThan(1);
  });

  it('stops when the run is cancelled', async () => {
    faults.add({ target: 'slack', status: 429, retryAfterSeconds: 30 });
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('the run was cancelled')), 100);
    const started = Date.now();
    const error = (await deliver({
      destination: api,
      message,
      deadlineMs: 60_000,
      signal: cancel.signal,
    }).catch((e: unknown) => e)) as Error;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.message).toContain('cancelled');
  });
});
