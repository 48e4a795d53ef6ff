import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditLog, Faults } from '../../../sandbox/src/faults.js';
import { startSlack, type SlackStandIn } from '../../../sandbox/src/standins/slack.js';
import { NOTICE_EVENT_TYPE, SlackDeliveryError, deliver, type Destination } from './deliver.js';
import { createHttpPost, type HttpPost } from './transport.js';
import { track, untilReal, useFakeClock } from '../testing/fake-clock.js';

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
  vi.useRealTimers();
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

  it('starts a Workflow Builder trigger with its variables', async () => {
    const variables = { app: 'shop', status: 'success', failed_checks: '' };
    const result = await deliver({
      destination: { kind: 'trigger', url: slack.triggerUrl },
      message: variables,
      deadlineMs: 5000,
    });
    expect(result).toEqual({ attempts: 1 });
    expect(slack.triggers.at(-1)!.variables).toEqual(variables);
  });

  it("explains a trigger's refusal by its status, and does not retry it", async () => {
    const triggers = slack.triggers.length;
    const error = (await deliver({
      destination: { kind: 'trigger', url: slack.triggerUrl },
      message: { app: 'shop', replicas: 3 },
      deadlineMs: 5000,
      baseDelayMs: 5,
    }).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(SlackDeliveryError);
    expect(error.message).toBe(
      'Could not post to the Workflow Builder trigger: Slack answered HTTP 400 invalid_payload (the trigger refused the request: it takes a flat JSON object whose values are all strings, with every variable the workflow declares): variable "replicas" is a number, not a string',
    );
    const wrongSecret = (await deliver({
      destination: { kind: 'trigger', url: slack.triggerUrl.replace(/[^/]+$/, 'not-the-secret') },
      message: { app: 'shop' },
      deadlineMs: 5000,
    }).catch((e: unknown) => e)) as Error;
    expect(wrongSecret.message).toContain('HTTP 401 invalid_auth (the trigger URL is not valid');
    expect(audit.entries.map((e) => [e.verb, e.status])).toEqual([
      ['trigger', 400],
      ['trigger', 401],
    ]);
    expect(slack.triggers).toHaveLength(triggers);
  });

  it('retries a trigger answered 503, then starts it once', async () => {
    faults.add({ target: 'slack', match: { verb: 'trigger' }, status: 503, times: 1 });
    const triggers = slack.triggers.length;
    const result = await deliver({
      destination: { kind: 'trigger', url: slack.triggerUrl },
      message: { app: 'shop' },
      deadlineMs: 5000,
      baseDelayMs: 5,
    });
    expect(result.attempts).toBe(2);
    expect(slack.triggers).toHaveLength(triggers + 1);
  });

  it('gives up at the deadline with what it saw last', async () => {
    faults.add({ target: 'slack', status: 503 });
    // On the fake clock, which moves only by the backoff waits: each answer comes over a real
    // socket, then the clock is moved by the wait deliver chose. It must stop by the deadline.
    useFakeClock();
    const started = Date.now();
    const waits: number[] = [];
    const run = track(
      deliver({
        destination: api,
        message,
        deadlineMs: 600,
        baseDelayMs: 50,
        onRetry: (_attempt, delayMs) => waits.push(delayMs),
      }),
    );
    for (let moved = 0; ; moved += 1) {
      await untilReal('an answer or a retry', () => run.settled() || waits.length > moved);
      if (run.settled()) break;
      await vi.advanceTimersByTimeAsync(waits[moved]!);
    }
    const error = (await run.outcome) as Error;
    expect(Date.now() - started).toBeLessThanOrEqual(600);
    expect(error.message).toMatch(/within the 1 s deadline|after \d+ attempts/);
    expect(error.message).toContain('HTTP 503');
    expect(audit.entries.length).toBe(waits.length + 1);
    expect(audit.entries.length).toBeGreaterThan(1);
  });

  it('stops when the run is cancelled', async () => {
    faults.add({ target: 'slack', status: 429, retryAfterSeconds: 30 });
    // On the fake clock: the cancel comes 100 ms into a 30 s Retry-After; waiting it out would end at 30 s.
    useFakeClock();
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(new Error('the run was cancelled')), 100);
    let retries = 0;
    const run = track(
      deliver({
        destination: api,
        message,
        deadlineMs: 60_000,
        signal: cancel.signal,
        onRetry: () => (retries += 1),
      }),
    );
    await untilReal('the 429', () => retries === 1);
    await vi.advanceTimersByTimeAsync(100);
    expect(run.settled()).toBe(true);
    expect(((await run.outcome) as Error).message).toContain('cancelled');
    expect(audit.entries).toHaveLength(1);
  });
});

/**
 * A Slack of our own for lost answers: each request is handled by `script`, which can record a
 * post and then cut the connection mid-answer, as when the network drops after Slack said 200.
 */
interface Posted {
  ts: string;
  channel: string;
  threadTs?: string;
  text?: string;
  metadata?: unknown;
}
interface Seen {
  path: string;
  body: string;
}
type Script = (seen: Seen, res: ServerResponse, store: () => Posted) => void;

describe('deliver when the answer to a post is lost', () => {
  let server: Server;
  let base: string;
  let seen: Seen[];
  let posted: Posted[];
  let script: Script;
  let clock = 0;

  /** Answers 200 with the head and half a body, then destroys the socket: the client sees a reset. */
  const dropAfterAnswering = (res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"ok":true,');
    setImmediate(() => res.socket?.destroy());
  };
  const json = (res: ServerResponse, body: unknown): void => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  /** Slack's answers for every method, each post stored. */
  const healthy: Script = (req, res, store) => {
    if (req.path.endsWith('/chat.postMessage') || req.path.endsWith('/chat.update')) {
      const message = store();
      return json(res, { ok: true, channel: message.channel, ts: message.ts });
    }
    if (req.path.endsWith('/conversations.history') || req.path.endsWith('/conversations.replies')) {
      const args = new URLSearchParams(req.body);
      const thread = args.get('ts');
      const messages = posted
        .filter((m) => m.channel === args.get('channel') && (thread ? m.threadTs === thread : !m.threadTs))
        .filter((m) => m.ts > (args.get('oldest') ?? ''))
        .reverse()
        .map((m) => ({
          type: 'message',
          ts: m.ts,
          text: m.text,
          ...(args.get('include_all_metadata') === 'true' && m.metadata ? { metadata: m.metadata } : {}),
        }));
      return json(res, { ok: true, messages, has_more: false });
    }
    res.writeHead(200).end('ok'); // a webhook
    store();
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const entry = { path: req.url ?? '/', body: Buffer.concat(chunks).toString('utf8') };
        seen.push(entry);
        const store = (): Posted => {
          const args = (entry.body.startsWith('{') ? JSON.parse(entry.body) : {}) as Record<string, unknown>;
          clock = Math.max(Date.now() * 1000, clock + 1); // Slack's clock: µs, unique
          const message: Posted = {
            ts: `${Math.floor(clock / 1e6)}.${String(clock % 1e6).padStart(6, '0')}`,
            channel: typeof args.channel === 'string' ? args.channel : 'C0WEBHOOK1',
            ...(typeof args.thread_ts === 'string' ? { threadTs: args.thread_ts } : {}),
            ...(typeof args.text === 'string' ? { text: args.text } : {}),
            ...(args.metadata ? { metadata: args.metadata } : {}),
          };
          posted.push(message);
          return message;
        };
        script(entry, res, store);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    seen = [];
    posted = [];
    script = healthy;
  });

  const api = (channel = 'C0DEPLOYS1'): Destination => ({
    kind: 'api',
    token: 'xoxb-1-2-abc',
    channel,
    apiUrl: `${base}/api`,
  });
  const paths = (): string[] => seen.map((s) => s.path);
  /** The first post is stored and its answer lost; everything after is healthy. */
  const dropFirstPost = (alsoStore = true): Script => {
    let dropped = false;
    return (req, res, store) => {
      if (dropped || req.path.includes('conversations.')) return healthy(req, res, store);
      dropped = true;
      if (alsoStore) store();
      dropAfterAnswering(res);
    };
  };

  it('finds a token-mode post whose answer was lost in the channel, and does not post it again', async () => {
    script = dropFirstPost();
    const result = await deliver({ destination: api(), message, deadlineMs: 5000, baseDelayMs: 5 });
    expect(posted).toHaveLength(1);
    expect(result).toEqual({ ts: posted[0]!.ts, channelId: 'C0DEPLOYS1', attempts: 1 });
    expect(paths()).toEqual(['/api/chat.postMessage', '/api/conversations.history']);
    // The post carried our id, and the lookup asked for it from just before the first send.
    const id = (posted[0]!.metadata as { event_payload: { id: string } }).event_payload.id;
    expect(posted[0]!.metadata).toEqual({ event_type: NOTICE_EVENT_TYPE, event_payload: { id } });
    const lookup = new URLSearchParams(seen[1]!.body);
    expect(Object.fromEntries(lookup)).toMatchObject({
      channel: 'C0DEPLOYS1',
      include_all_metadata: 'true',
      limit: expect.stringMatching(/^\d+$/),
      oldest: expect.stringMatching(/^\d+\.\d{6}$/),
    });
  });

  it('posts again when the lookup shows the lost post never arrived', async () => {
    script = dropFirstPost(false);
    const retries: string[] = [];
    const result = await deliver({
      destination: api(),
      message,
      deadlineMs: 5000,
      baseDelayMs: 5,
      onRetry: (_a, _d, reason) => retries.push(reason),
    });
    expect(posted).toHaveLength(1);
    expect(result).toMatchObject({ ts: posted[0]!.ts, attempts: 2 });
    expect(paths()).toEqual(['/api/chat.postMessage', '/api/conversations.history', '/api/chat.postMessage']);
    expect(retries).toEqual(['ECONNRESET, and the message is not in the channel']);
  });

  it('looks for a lost reply in its thread', async () => {
    script = dropFirstPost();
    const result = await deliver({
      destination: api(),
      message,
      threadTs: '1700000000.000100',
      deadlineMs: 5000,
      baseDelayMs: 5,
    });
    expect(posted).toHaveLength(1);
    expect(result.ts).toBe(posted[0]!.ts);
    expect(paths()).toEqual(['/api/chat.postMessage', '/api/conversations.replies']);
    expect(new URLSearchParams(seen[1]!.body).get('ts')).toBe('1700000000.000100');
  });

  it('treats a post with no answer in time like a dropped one', async () => {
    let first = true;
    script = (req, res, store) => {
      if (!first || req.path.includes('conversations.')) return healthy(req, res, store);
      first = false;
      store(); // then never answers
    };
    const result = await deliver({
      destination: api(),
      message,
      deadlineMs: 5000,
      answerTimeoutMs: 200,
      baseDelayMs: 5,
    });
    expect(posted).toHaveLength(1);
    expect(result).toMatchObject({ ts: posted[0]!.ts, attempts: 1 });
  });

  it('does not post a webhook message again after a lost answer: it may have been delivered', async () => {
    script = dropFirstPost();
    const error = await deliver({
      destination: { kind: 'webhook', url: `${base}/services/T0/B0/secret` },
      message,
      deadlineMs: 5000,
      baseDelayMs: 5,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackDeliveryError);
    expect(error).toMatchObject({ maybeDelivered: true, attempts: 1 });
    expect((error as Error).message).toMatch(
      /^The message to the incoming webhook may have been delivered: the request was sent and its answer was lost \(ECONNRESET\); a webhook offers no way to check whether it arrived\. It was not sent again/,
    );
    expect(posted).toHaveLength(1);
    expect(seen).toHaveLength(1);
  });

  it('does not start a Workflow Builder trigger again after a lost answer: the workflow may have started', async () => {
    script = dropFirstPost();
    const error = await deliver({
      destination: { kind: 'trigger', url: `${base}/triggers/T0/1/secret` },
      message: { app: 'shop' },
      deadlineMs: 5000,
      baseDelayMs: 5,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackDeliveryError);
    expect(error).toMatchObject({ maybeDelivered: true, attempts: 1 });
    expect((error as Error).message).toMatch(
      /^The message to the Workflow Builder trigger may have been delivered: the request was sent and its answer was lost \(ECONNRESET\); a Workflow Builder trigger offers no way to check whether the workflow started\. It was not sent again/,
    );
    expect(seen).toHaveLength(1);
  });

  it('does not post again when the channel was given by name, which cannot be looked up', async () => {
    script = dropFirstPost();
    const error = (await deliver({ destination: api('#deploys'), message, deadlineMs: 5000 }).catch(
      (e: unknown) => e,
    )) as SlackDeliveryError;
    expect(error.maybeDelivered).toBe(true);
    expect(error.message).toContain('the channel was given by name (#deploys)');
    expect(paths()).toEqual(['/api/chat.postMessage']);
    expect(posted[0]!.metadata).toBeUndefined();
  });

  it('does not post again when the lookup itself fails', async () => {
    let dropped = false;
    script = (req, res, store) => {
      if (req.path.includes('conversations.')) return json(res, { ok: false, error: 'missing_scope' });
      if (dropped) return healthy(req, res, store);
      dropped = true;
      store();
      dropAfterAnswering(res);
    };
    const error = (await deliver({ destination: api(), message, deadlineMs: 5000 }).catch(
      (e: unknown) => e,
    )) as SlackDeliveryError;
    expect(error.maybeDelivered).toBe(true);
    expect(error.message).toContain('looking for it in the channel failed: Slack answered missing_scope');
    expect(paths()).toEqual(['/api/chat.postMessage', '/api/conversations.history']);
  });

  it('retries a chat.update whose answer was lost: updating twice is harmless', async () => {
    script = dropFirstPost();
    const result = await deliver({
      destination: api(),
      message,
      updateTs: '1700000000.000100',
      deadlineMs: 5000,
      baseDelayMs: 5,
    });
    expect(result.attempts).toBe(2);
    expect(paths()).toEqual(['/api/chat.update', '/api/chat.update']);
  });

  it('still retries a post refused before it was sent', async () => {
    let refused = false;
    const post: HttpPost = (url, body, headers, signal) => {
      if (refused) return createHttpPost({})(url, body, headers, signal);
      refused = true;
      return Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    };
    const result = await deliver({ destination: api(), message, deadlineMs: 5000, baseDelayMs: 5, post });
    expect(result.attempts).toBe(2);
    expect(posted).toHaveLength(1);
    expect(paths()).toEqual(['/api/chat.postMessage']);
  });

  it('says when the deadline cut off a post before its answer, and does not send it again', async () => {
    script = (_req, _res, store) => void store();
    const error = (await deliver({
      destination: { kind: 'webhook', url: `${base}/services/T0/B0/secret` },
      message,
      deadlineMs: 300,
    }).catch((e: unknown) => e)) as SlackDeliveryError;
    expect(error.message).toContain(
      'The last attempt was cut off before its answer: if Slack took it, the message is there.',
    );
    expect(posted).toHaveLength(1);
  });
});
