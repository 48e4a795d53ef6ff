/** The Slack stand-in's reading methods: conversations.history and conversations.replies. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, Faults } from '../src/faults.js';
import { startSlack, type SlackStandIn } from '../src/standins/slack.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field by the assertions
type JsonAnswer = any;

let slack: SlackStandIn;
beforeAll(async () => {
  slack = await startSlack({ faults: new Faults(), audit: new AuditLog() });
});
afterAll(() => slack.stop());

async function api(method: string, args: Record<string, unknown>): Promise<JsonAnswer> {
  const res = await fetch(`${slack.url}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${slack.token}` },
    body: JSON.stringify(args),
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** A read as clients usually send it: form-encoded, so every value is text. */
async function read(method: string, args: Record<string, string>): Promise<JsonAnswer> {
  const res = await fetch(`${slack.url}/api/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: slack.token, ...args }).toString(),
  });
  return res.json();
}

const marker = (id: string) => ({ event_type: 'deploy_notice', event_payload: { id } });

describe('conversations.history', () => {
  it("lists the channel's messages newest first, as they stand after updates, without thread replies", async () => {
    const channel = slack.channels.alerts!;
    const first = await api('chat.postMessage', { channel, text: 'one', metadata: marker('a') });
    const second = await api('chat.postMessage', { channel, text: 'two' });
    await api('chat.postMessage', { channel, text: 'a reply', thread_ts: first.ts });
    await api('chat.update', { channel, ts: first.ts, text: 'one, edited' });

    const answer = await read('conversations.history', { channel, include_all_metadata: 'true' });
    expect(answer).toMatchObject({ ok: true, has_more: false });
    expect(answer.messages.map((m: JsonAnswer) => [m.ts, m.text])).toEqual([
      [second.ts, 'two'],
      [first.ts, 'one, edited'],
    ]);
    expect(answer.messages[1]).toMatchObject({ type: 'message', metadata: marker('a') });
    expect(answer.messages[0].metadata).toBeUndefined();
  });

  it('returns metadata only when include_all_metadata is set', async () => {
    const channel = slack.channels.general!;
    await api('chat.postMessage', { channel, text: 'with metadata', metadata: marker('b') });
    const plain = await read('conversations.history', { channel });
    expect(plain.messages[0].text).toBe('with metadata');
    expect(plain.messages[0].metadata).toBeUndefined();
    const full = await read('conversations.history', { channel, include_all_metadata: '1' });
    expect(full.messages[0].metadata).toEqual(marker('b'));
  });

  it('takes metadata as JSON text from a form post', async () => {
    const channel = slack.channels.general!;
    const res = await fetch(`${slack.url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: slack.token,
        channel,
        text: 'form post',
        metadata: JSON.stringify(marker('c')),
      }).toString(),
    });
    const posted = (await res.json()) as JsonAnswer;
    const answer = await read('conversations.history', {
      channel,
      oldest: posted.ts,
      inclusive: 'true',
      include_all_metadata: 'true',
    });
    expect(answer.messages).toHaveLength(1);
    expect(answer.messages[0]).toMatchObject({ ts: posted.ts, metadata: marker('c') });
  });

  it('keeps to oldest and latest (exclusive unless inclusive) and pages by limit and cursor', async () => {
    const channel = slack.channels.deploys!;
    const ts: string[] = [];
    for (const text of ['p1', 'p2', 'p3', 'p4'])
      ts.push((await api('chat.postMessage', { channel, text })).ts);

    const after = await read('conversations.history', { channel, oldest: ts[0]! });
    expect(after.messages.map((m: JsonAnswer) => m.text)).toEqual(['p4', 'p3', 'p2']);
    const between = await read('conversations.history', {
      channel,
      oldest: ts[1]!,
      latest: ts[3]!,
      inclusive: 'true',
    });
    expect(between.messages.map((m: JsonAnswer) => m.text)).toEqual(['p4', 'p3', 'p2']);

    const first = await read('conversations.history', { channel, oldest: ts[0]!, limit: '2' });
    expect(first).toMatchObject({ has_more: true, response_metadata: { next_cursor: expect.any(String) } });
    expect(first.messages.map((m: JsonAnswer) => m.text)).toEqual(['p4', 'p3']);
    const next = await read('conversations.history', {
      channel,
      oldest: ts[0]!,
      limit: '2',
      cursor: first.response_metadata.next_cursor,
    });
    expect(next).toMatchObject({ has_more: false });
    expect(next.messages.map((m: JsonAnswer) => m.text)).toEqual(['p2']);
  });

  it('answers as Slack does for a channel name, an unknown channel and a bad oldest', async () => {
    expect(await read('conversations.history', { channel: '#deploys' })).toEqual({
      ok: false,
      error: 'channel_not_found',
    });
    expect(await read('conversations.history', { channel: 'C0NOSUCH01' })).toEqual({
      ok: false,
      error: 'channel_not_found',
    });
    expect(
      await read('conversations.history', { channel: slack.channels.deploys!, oldest: 'yesterday' }),
    ).toEqual({ ok: false, error: 'invalid_ts_oldest' });
    expect((await read('conversations.history', {})).error).toBe('invalid_arguments');
  });
});

describe('conversations.replies', () => {
  it('lists the parent, then its replies oldest first, with metadata when asked', async () => {
    const channel = slack.channels.alerts!;
    const parent = await api('chat.postMessage', { channel, text: 'started' });
    const r1 = await api('chat.postMessage', {
      channel,
      text: 'r1',
      thread_ts: parent.ts,
      metadata: marker('r1'),
    });
    await api('chat.postMessage', { channel, text: 'r2', thread_ts: parent.ts });
    const answer = await read('conversations.replies', {
      channel,
      ts: parent.ts,
      include_all_metadata: 'true',
    });
    expect(answer.ok).toBe(true);
    expect(answer.messages.map((m: JsonAnswer) => m.text)).toEqual(['started', 'r1', 'r2']);
    expect(answer.messages[1]).toMatchObject({ ts: r1.ts, thread_ts: parent.ts, metadata: marker('r1') });

    const later = await read('conversations.replies', { channel, ts: parent.ts, oldest: r1.ts });
    expect(later.messages.map((m: JsonAnswer) => m.text)).toEqual(['started', 'r2']);
    expect(await read('conversations.replies', { channel, ts: '1.000001' })).toEqual({
      ok: false,
      error: 'thread_not_found',
    });
  });
});
