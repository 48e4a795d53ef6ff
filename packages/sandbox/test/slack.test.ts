import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, Faults } from '../src/faults.js';
import { startSlack, type SlackStandIn } from '../src/standins/slack.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field by the assertions
type JsonAnswer = any;

const faults = new Faults();
const audit = new AuditLog();
let slack: SlackStandIn;

beforeAll(async () => {
  slack = await startSlack({ faults, audit });
});
afterAll(() => slack.stop());
afterEach(() => faults.clear());

async function api(
  method: string,
  args: Record<string, unknown>,
  auth: string | null = slack.token,
): Promise<{ status: number; body: JsonAnswer; headers: Headers }> {
  const res = await fetch(`${slack.url}/api/${method}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(auth === null ? {} : { authorization: `Bearer ${auth}` }),
    },
    body: JSON.stringify(args),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text, headers: res.headers };
}

async function webhook(body: string, url = slack.webhookUrl): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, text: await res.text() };
}

const header = (text: string) => ({ type: 'header', text: { type: 'plain_text', text } });
const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('incoming webhook', () => {
  it('accepts a Block Kit message with 200 ok and records it in #deploys', async () => {
    const before = slack.messages.length;
    const payload = { text: 'deployed', blocks: [header('web deployed'), { type: 'divider' }] };
    expect(await webhook(JSON.stringify(payload))).toEqual({ status: 200, text: 'ok' });
    const message = slack.messages[before];
    expect(message).toMatchObject({
      via: 'webhook',
      method: 'webhook',
      channel: slack.channels.deploys,
      text: 'deployed',
      blocks: payload.blocks,
      payload,
    });
    expect(message?.ts).toMatch(/^\d{10}\.\d{6}$/);
  });

  it('accepts the form-encoded payload= variant', async () => {
    const res = await fetch(slack.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ payload: JSON.stringify({ text: 'from a form' }) }).toString(),
    });
    expect([res.status, await res.text()]).toEqual([200, 'ok']);
    expect(slack.messages.at(-1)?.text).toBe('from a form');
  });

  it('answers 400 invalid_payload for a body that is not a JSON object', async () => {
    expect(await webhook('{not json')).toEqual({ status: 400, text: 'invalid_payload' });
    expect(await webhook('[1,2]')).toEqual({ status: 400, text: 'invalid_payload' });
  });

  it('answers 400 no_text when there is nothing to show', async () => {
    expect(await webhook(JSON.stringify({ text: '  ' }))).toEqual({ status: 400, text: 'no_text' });
  });

  it('answers 400 invalid_blocks for a bad block', async () => {
    const bad = { blocks: [header('x'.repeat(151))] };
    expect(await webhook(JSON.stringify(bad))).toEqual({ status: 400, text: 'invalid_blocks' });
    expect(slack.rejected.at(-1)).toMatchObject({ method: 'webhook', status: 400, error: 'invalid_blocks' });
  });

  it('answers 404 no_service for an unknown webhook and 403 invalid_token for a wrong secret', async () => {
    expect(await webhook('{"text":"x"}', `${slack.url}/services/T999/B999/abc`)).toEqual({
      status: 404,
      text: 'no_service',
    });
    expect(await webhook('{"text":"x"}', `${slack.url}/services/T000/B000/wrong`)).toEqual({
      status: 403,
      text: 'invalid_token',
    });
  });

  it('never lets the webhook secret reach the audit log', async () => {
    await webhook('{"text":"audit me"}');
    const secret = slack.webhookUrl.split('/').at(-1) ?? '';
    const entry = audit.entries.findLast((e) => e.target === 'slack');
    expect(entry).toMatchObject({ user: 'slack', verb: 'webhook', method: 'POST', status: 200 });
    expect(JSON.stringify(audit.entries)).not.toContain(secret);
  });
});

describe('Web API', () => {
  it('auth.test names the bot for a valid token', async () => {
    const { body } = await api('auth.test', {});
    expect(body).toMatchObject({ ok: true, team_id: 'T000', user_id: expect.any(String) });
  });

  it('refuses a missing token with not_authed and a wrong one with invalid_auth, both HTTP 200', async () => {
    const none = await api('chat.postMessage', { channel: 'C0DEPLOYS1', text: 'x' }, null);
    expect([none.status, none.body]).toEqual([200, { ok: false, error: 'not_authed' }]);
    const wrong = await api('chat.postMessage', { channel: 'C0DEPLOYS1', text: 'x' }, 'xoxb-nope');
    expect(wrong.body).toEqual({ ok: false, error: 'invalid_auth' });
    expect(slack.rejected.at(-1)).toMatchObject({ method: 'chat.postMessage', error: 'invalid_auth' });
  });

  it('does not read a token from a JSON body (Slack wants the header there)', async () => {
    const res = await api('chat.postMessage', { token: slack.token, channel: 'C0DEPLOYS1', text: 'x' }, null);
    expect(res.body).toEqual({ ok: false, error: 'not_authed' });
    expect(JSON.stringify(slack.rejected)).not.toContain(slack.token);
  });

  it('accepts a form post with the token in the body and keeps the token out of the record', async () => {
    const res = await fetch(`${slack.url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: slack.token,
        channel: '#deploys',
        blocks: JSON.stringify([section('*form* post')]),
      }).toString(),
    });
    const body = (await res.json()) as JsonAnswer;
    expect(body).toMatchObject({ ok: true, channel: 'C0DEPLOYS1' });
    const message = slack.message('deploys', body.ts as string);
    expect(message?.blocks).toEqual([section('*form* post')]);
    expect(JSON.stringify(slack.messages)).not.toContain(slack.token);
  });

  it('posts, updates and threads: the message keeps its ts and history, replies sit under it', async () => {
    const started = await api('chat.postMessage', {
      channel: '#deploys',
      text: 'web: started',
      blocks: [header('web started')],
    });
    expect(started.body).toMatchObject({
      ok: true,
      channel: 'C0DEPLOYS1',
      message: { text: 'web: started' },
    });
    const ts = started.body.ts as string;

    const reply = await api('chat.postMessage', {
      channel: 'C0DEPLOYS1',
      thread_ts: ts,
      text: 'gate passed',
    });
    expect(reply.body).toMatchObject({ ok: true, message: { thread_ts: ts } });
    expect(compare(reply.body.ts as string, ts)).toBeGreaterThan(0);

    const updated = await api('chat.update', { channel: 'C0DEPLOYS1', ts, text: 'web: success' });
    expect(updated.body).toMatchObject({ ok: true, ts, text: 'web: success' });

    // Blocks not given to chat.update are kept, as Slack does.
    expect(slack.message('#deploys', ts)).toMatchObject({
      method: 'chat.update',
      text: 'web: success',
      blocks: [header('web started')],
    });
    const history = slack.messages.filter((m) => m.ts === ts).map((m) => m.method);
    expect(history).toEqual(['chat.postMessage', 'chat.update']);
    expect(slack.thread('deploys', ts).map((m) => m.text)).toEqual(['gate passed']);
  });

  it('answers chat.update errors: message_not_found, cant_update_message, invalid_arguments', async () => {
    const notFound = await api('chat.update', { channel: 'C0DEPLOYS1', ts: '1.000001', text: 'x' });
    expect(notFound.body).toEqual({ ok: false, error: 'message_not_found' });

    await webhook('{"text":"by webhook"}');
    const webhookTs = slack.messages.at(-1)?.ts ?? '';
    const cant = await api('chat.update', { channel: 'C0DEPLOYS1', ts: webhookTs, text: 'x' });
    expect(cant.body).toEqual({ ok: false, error: 'cant_update_message' });

    const noTs = await api('chat.update', { channel: 'C0DEPLOYS1', text: 'x' });
    expect(noTs.body).toMatchObject({ ok: false, error: 'invalid_arguments' });
  });

  it('answers channel_not_found for an unknown channel', async () => {
    const res = await api('chat.postMessage', { channel: '#nowhere', text: 'x' });
    expect(res.body).toEqual({ ok: false, error: 'channel_not_found' });
  });

  it('answers 404 unknown_method for a method it does not serve', async () => {
    const res = await api('conversations.list', {});
    expect([res.status, res.body.error]).toEqual([404, 'unknown_method']);
  });

  it('gives unique, increasing ts values', async () => {
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => api('chat.postMessage', { channel: 'C0DEPLOYS1', text: `n${i}` })),
    );
    const stamps = answers.map((a) => a.body.ts as string).sort(compare);
    expect(new Set(stamps).size).toBe(5);
  });
});

describe('limits, each with Slack error code', () => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['header over 150', { blocks: [header('h'.repeat(151))] }, 'invalid_blocks', '/blocks/0/text/text'],
    [
      'header with mrkdwn',
      { blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] },
      'invalid_blocks',
      '/blocks/0/text/type',
    ],
    [
      'section text over 3000',
      { blocks: [section('s'.repeat(3001))] },
      'invalid_blocks',
      '/blocks/0/text/text',
    ],
    [
      'section over 10 fields',
      {
        blocks: [
          { type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) },
        ],
      },
      'invalid_blocks',
      '/blocks/0/fields',
    ],
    [
      'section field over 2000',
      { blocks: [{ type: 'section', fields: [{ type: 'mrkdwn', text: 'f'.repeat(2001) }] }] },
      'invalid_blocks',
      '/blocks/0/fields/0/text',
    ],
    [
      'context over 10 elements',
      {
        blocks: [
          { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) },
        ],
      },
      'invalid_blocks',
      '/blocks/0/elements',
    ],
    [
      'actions over 25 elements',
      { blocks: [{ type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button(`b${i}`)) }] },
      'invalid_blocks',
      '/blocks/0/elements',
    ],
    [
      'button text over 75',
      { blocks: [{ type: 'actions', elements: [button('b'.repeat(76))] }] },
      'invalid_blocks',
      '/blocks/0/elements/0/text/text',
    ],
    [
      'button url over 3000',
      {
        blocks: [{ type: 'actions', elements: [{ ...button('run'), url: `https://x/${'u'.repeat(3000)}` }] }],
      },
      'invalid_blocks',
      '/blocks/0/elements/0/url',
    ],
    [
      'button style not primary/danger',
      { blocks: [{ type: 'actions', elements: [{ ...button('run'), style: 'green' }] }] },
      'invalid_blocks',
      '/blocks/0/elements/0/style',
    ],
    [
      'image without alt_text',
      { blocks: [{ type: 'image', image_url: 'https://x/y.png' }] },
      'invalid_blocks',
      '/blocks/0/alt_text',
    ],
    [
      'over 50 blocks',
      { blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) },
      'invalid_blocks',
      '/blocks',
    ],
    ['unknown block type', { blocks: [{ type: 'banner', text: 'x' }] }, 'invalid_blocks', '/blocks/0/type'],
    [
      'unknown property',
      { blocks: [{ type: 'divider', colour: 'red' }] },
      'invalid_blocks',
      '/blocks/0/colour',
    ],
    ['empty text object', { blocks: [section('')] }, 'invalid_blocks', '/blocks/0/text/text'],
    [
      'duplicate block_id',
      {
        blocks: [
          { type: 'divider', block_id: 'a' },
          { type: 'divider', block_id: 'a' },
        ],
      },
      'invalid_blocks',
      '/blocks/1/block_id',
    ],
    ['text over 40000', { text: 't'.repeat(40_001) }, 'msg_too_long', '/text'],
    ['nothing to show', { text: '' }, 'no_text', '/text'],
    [
      'bad block inside an attachment',
      { attachments: [{ color: '#2eb886', blocks: [header('h'.repeat(151))] }] },
      'invalid_attachments',
      '/attachments/0/blocks/0/text/text',
    ],
  ];

  it.each(cases)('%s', async (_name, message, error, pointer) => {
    const before = slack.messages.length;
    const res = await api('chat.postMessage', { channel: 'C0DEPLOYS1', ...message });
    expect(res.body).toMatchObject({ ok: false, error });
    expect((res.body.errors as string[]).some((e) => e.endsWith(`[json-pointer:${pointer}]`))).toBe(true);
    expect(slack.messages.length).toBe(before);
  });

  it('accepts everything at exactly the limits', async () => {
    const blocks = [
      header('h'.repeat(150)),
      section('s'.repeat(3000)),
      {
        type: 'section',
        fields: Array.from({ length: 10 }, () => ({ type: 'plain_text', text: 'f'.repeat(2000) })),
      },
      { type: 'context', elements: Array.from({ length: 10 }, () => ({ type: 'mrkdwn', text: 'c' })) },
      {
        type: 'actions',
        elements: [
          { ...button('b'.repeat(75)), url: `https://x/${'u'.repeat(2990)}`, style: 'danger' },
          ...Array.from({ length: 24 }, (_, i) => button(`b${i}`)),
        ],
      },
      {
        type: 'image',
        image_url: 'https://x/y.png',
        alt_text: 'graph',
        title: { type: 'plain_text', text: 't' },
      },
      ...Array.from({ length: 44 }, () => ({ type: 'divider' })),
    ];
    expect(blocks).toHaveLength(50);
    const res = await api('chat.postMessage', { channel: 'C0DEPLOYS1', text: 't'.repeat(40_000), blocks });
    expect(res.body).toMatchObject({ ok: true });
  });
});

describe('faults', () => {
  it('answers 429 with Retry-After, then serves the retry', async () => {
    faults.add({
      target: 'slack',
      match: { verb: 'chat.postMessage' },
      status: 429,
      retryAfterSeconds: 3,
      times: 1,
    });
    const before = slack.messages.length;
    const limited = await api('chat.postMessage', { channel: 'C0DEPLOYS1', text: 'x' });
    expect([limited.status, limited.headers.get('retry-after'), limited.body]).toEqual([
      429,
      '3',
      { ok: false, error: 'ratelimited' },
    ]);
    expect(slack.messages.length).toBe(before);
    const retried = await api('chat.postMessage', { channel: 'C0DEPLOYS1', text: 'x' });
    expect(retried.body.ok).toBe(true);
    const statuses = audit.entries.filter((e) => e.verb === 'chat.postMessage').slice(-2);
    expect(statuses.map((e) => e.status)).toEqual([429, 200]);
  });

  it('answers a webhook 429 and a 5xx', async () => {
    faults.add({ target: 'slack', match: { verb: 'webhook' }, status: 429, times: 1 });
    const limited = await fetch(slack.webhookUrl, { method: 'POST', body: '{"text":"x"}' });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '1']);
    faults.add({ target: 'slack', match: { path: '/services/' }, status: 503, times: 1 });
    expect((await webhook('{"text":"x"}')).status).toBe(503);
    expect(await webhook('{"text":"x"}')).toEqual({ status: 200, text: 'ok' });
  });

  it('answers a Web API 500', async () => {
    faults.add({ target: 'slack', match: { verb: 'chat.update' }, status: 500 });
    const res = await api('chat.update', { channel: 'C0DEPLOYS1', ts: '1.000001', text: 'x' });
    expect(res.status).toBe(500);
  });

  it('answers an injected ok:false body with HTTP 200', async () => {
    faults.add({
      target: 'slack',
      match: { verb: 'chat.postMessage' },
      body: { ok: false, error: 'ratelimited' },
    });
    const res = await api('chat.postMessage', { channel: 'C0DEPLOYS1', text: 'x' });
    expect([res.status, res.body]).toEqual([200, { ok: false, error: 'ratelimited' }]);
  });

  it('delays an answer by the rule latency and then serves it', async () => {
    faults.add({ target: 'slack', match: { verb: 'auth.test' }, latencyMs: 150, times: 1 });
    const started = performance.now();
    const res = await api('auth.test', {});
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(res.body.ok).toBe(true);
  });
});

function button(text: string) {
  return {
    type: 'button',
    text: { type: 'plain_text', text },
    action_id: `a-${text.slice(0, 10)}-${Math.random()}`,
  };
}

function compare(a: string, b: string): number {
  return Number(a) - Number(b) || a.localeCompare(b);
}
