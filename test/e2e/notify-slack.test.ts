/**
 * notify-slack end to end: the committed bundle run as the runner runs it, against the Slack
 * stand-in, which checks every message against Block Kit's shapes and limits.
 */
import { mkdir, readdir, readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { AuditLog, Faults } from '../../packages/sandbox/src/faults.js';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { startSlack, type SlackStandIn } from '../../packages/sandbox/src/standins/slack.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import {
  CANARY_ROLE,
  deploymentManifest,
  imageOf,
  kind,
  live,
  readyPodImages,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field by the assertions
type Json = any;

const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const faults = new Faults();
const audit = new AuditLog();
let slack: SlackStandIn;
let work: string;

beforeAll(async () => {
  slack = await startSlack({ faults, audit });
  work = await mkdtemp(join(tmpdir(), 'notify-slack-e2e-'));
  // Payload files, in the workspace (the runs' cwd) as payload-file-path wants them.
  await mkdir(join(work, 'slack'));
  await writeFile(
    join(work, 'slack/unknown.yml'),
    'text: "{{app}}"\nblocks:\n  - type: section\n    text: { type: mrkdwn, text: "{{ branch }}" }\n',
  );
});
afterAll(async () => {
  await slack.stop();
  await rm(work, { recursive: true, force: true });
});
afterEach(() => faults.clear());

async function eventWithCommit(message: string): Promise<string> {
  const path = join(work, `event-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify({ head_commit: { id: SHA, message } }));
  return path;
}

function secrets(): string[] {
  const webhookSecret = slack.webhookUrl.split('/').pop()!;
  const triggerSecret = slack.triggerUrl.split('/').pop()!;
  return [slack.token, slack.webhookUrl, webhookSecret, slack.triggerUrl, triggerSecret];
}

/** The token and webhook never reach the log, the outputs or the summary; they were masked. */
function expectNoSecrets(result: ActionResult): void {
  const seen = [result.log, JSON.stringify(result.outputs), result.summary].join('\n');
  for (const secret of secrets()) expect(seen).not.toContain(secret);
}

async function notify(
  inputs: Record<string, string | undefined>,
  env: Record<string, string | undefined> = {},
  cwd = work,
): Promise<ActionResult> {
  const result = await runAction({
    action: 'notify-slack',
    inputs,
    env: { SLACK_API_URL: `${slack.url}/api`, ...env },
    cwd,
    timeoutMs: 20_000,
  });
  expectNoSecrets(result);
  return result;
}

type Block = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: Json[] };

function allText(blocks: Block[] | undefined): string {
  return JSON.stringify(blocks ?? []);
}

describe('bad inputs fail before anything reaches Slack', { concurrent: true }, () => {
  const cases: [string, Record<string, string>, string][] = [
    [
      'both webhook and token',
      { 'webhook-url': 'WEBHOOK', token: 'TOKEN', channel: '#deploys' },
      'webhook-url',
    ],
    ['neither webhook nor token', {}, 'webhook-url'],
    ['a bad channel id', { token: 'TOKEN', channel: 'C0 DEPLOYS!' }, 'channel'],
    ['token without channel', { token: 'TOKEN' }, 'channel'],
    ['a malformed token', { token: 'not-a-token', channel: '#deploys' }, 'token'],
    [
      'a payload that is not Block Kit',
      {
        'webhook-url': 'WEBHOOK',
        payload: 'blocks:\n  - type: header\n    text: { type: mrkdwn, text: hi }\n  - type: banner',
      },
      'payload',
    ],
    [
      'a payload with an unknown placeholder',
      { 'webhook-url': 'WEBHOOK', payload: 'text: "{{sha}} is out"' },
      'payload',
    ],
    ['an unknown status', { 'webhook-url': 'WEBHOOK', status: 'succeeded' }, 'status'],
    ['fields that are not YAML', { 'webhook-url': 'WEBHOOK', fields: 'region: [eu-west-1' }, 'fields'],
    ['fields that are not a map', { 'webhook-url': 'WEBHOOK', fields: '- a\n- b' }, 'fields'],
    ['a bad update-ts', { token: 'TOKEN', channel: '#deploys', 'update-ts': '12345' }, 'update-ts'],
    ['update-ts with a webhook', { 'webhook-url': 'WEBHOOK', 'update-ts': '1700000000.000100' }, 'update-ts'],
    [
      'a non-https webhook URL',
      { 'webhook-url': 'http://hooks.slack.com/services/T0/B0/abcdefghij' },
      'webhook-url',
    ],
    [
      'a malformed mention',
      { 'webhook-url': 'WEBHOOK', 'mention-on-failure': 'U0ABCDEFG1, john.doe' },
      'mention-on-failure',
    ],
    ['a missing report file', { 'webhook-url': 'WEBHOOK', report: 'no/such/report.json' }, 'report'],
    ['a report without a verdict', { 'webhook-url': 'WEBHOOK', report: 'REPORT_NO_VERDICT' }, 'report'],
    ['fail-on-error: yes', { 'webhook-url': 'WEBHOOK', 'fail-on-error': 'yes' }, 'fail-on-error'],
    ['a timeout without a unit', { 'webhook-url': 'WEBHOOK', timeout: '30' }, 'timeout'],
    [
      'a payload file with an unknown placeholder',
      { 'webhook-url': 'WEBHOOK', 'payload-file-path': 'slack/unknown.yml' },
      'payload-file-path',
    ],
    [
      'a payload file outside the workspace',
      { token: 'TOKEN', channel: '#deploys', 'payload-file-path': '/etc/hostname' },
      'payload-file-path',
    ],
    ['a trigger URL given as an incoming webhook', { 'webhook-url': 'TRIGGER' }, 'webhook-type'],
    [
      'trigger variables that are not flat',
      { 'webhook-url': 'TRIGGER', 'webhook-type': 'webhook-trigger', payload: 'title: x\ndetails: { a: b }' },
      'payload',
    ],
  ];

  it.each(cases)('%s: exit 1, names the input', async (_name, given, input) => {
    const badReport = join(work, 'not-a-report.json');
    await writeFile(badReport, JSON.stringify({ checks: [] }));
    const inputs: Record<string, string> = { status: 'success' };
    for (const [key, value] of Object.entries(given)) {
      inputs[key] = value
        .replace('WEBHOOK', slack.webhookUrl)
        .replace('TRIGGER', slack.triggerUrl)
        .replace('TOKEN', slack.token)
        .replace('REPORT_NO_VERDICT', badReport);
    }
    const result = await notify(inputs);
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain(`"${input}"`);
    expect(result.outputs).toEqual({});
    // Nothing reached Slack: no request at all, faulty or not.
    expect(audit.entries).toEqual([]);
  });
});

describe('delivery', () => {
  it('posts the default Block Kit message by webhook, accepted by the stand-in', async () => {
    const report = join(work, 'gate.json');
    await writeFile(
      report,
      JSON.stringify({
        verdict: 'fail',
        checks: [
          { name: 'error-rate', verdict: 'fail', value: 0.12, threshold: 0.05 },
          { name: 'latency-p99', verdict: 'pass', value: 180 },
          { name: 'pods-ready', verdict: 'hold', reason: 'only 2 of 5 samples' },
        ],
      }),
    );
    const before = slack.messages.length;
    const rejected = slack.rejected.length;
    const result = await notify(
      {
        'webhook-url': slack.webhookUrl,
        status: 'failure',
        app: 'shop',
        environment: 'production',
        version: '1.4.2',
        strategy: 'canary',
        fields: 'region: eu-west-1\nreplicas: 6',
        report,
        'mention-on-failure': 'U0ABCDEFG1\nS0ONCALL01',
      },
      { GITHUB_EVENT_PATH: await eventWithCommit('Fix checkout totals') },
    );
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({ ok: 'true', ts: '', 'thread-ts': '', 'channel-id': '' });
    expect(slack.rejected).toHaveLength(rejected);
    expect(slack.messages).toHaveLength(before + 1);
    const message = slack.messages.at(-1)!;
    expect(message.via).toBe('webhook');
    expect(message.text).toContain('<@U0ABCDEFG1> <!subteam^S0ONCALL01>');
    const [header, mention, failed] = message.blocks as Block[];
    expect(header).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: ':x: shop 1.4.2 deploy to production failed', emoji: true },
    });
    expect(mention?.text?.text).toContain('<@U0ABCDEFG1>');
    // What failed and where the logs are, above the fold.
    expect(failed?.text?.text).toBe(
      '*Failed check:* `error-rate` · <https://github.com/acme/shop/actions/runs/4242|View the run #17>',
    );
    expect(message.text).toContain('deploy to production failed (failed: error-rate)');
    const attachment = (message.attachments as { color: string; blocks: Block[] }[])[0]!;
    expect(attachment.color).toBe('#E01E5A');
    const fields = attachment.blocks.find((b) => b.fields)!.fields!.map((f) => f.text);
    expect(fields).toEqual([
      '*Environment*\nproduction',
      '*Version*\n1.4.2',
      '*Strategy*\ncanary',
      '*region*\neu-west-1',
      '*replicas*\n6',
    ]);
    const text = allText(attachment.blocks);
    expect(text).toContain(`<https://github.com/acme/shop/commit/${SHA}|\`3f78685\`>`);
    expect(text).toContain('Fix checkout totals');
    expect(text).toContain('Gate verdict: fail');
    expect(text).toContain('`error-rate` fail: value 0.12, threshold 0.05');
    expect(text).toContain('`pods-ready` hold: only 2 of 5 samples');
    expect(text).not.toContain('latency-p99');
    const actions = attachment.blocks.find((b) => b.type === 'actions')!;
    expect(actions.elements![0]).toMatchObject({
      type: 'button',
      url: 'https://github.com/acme/shop/actions/runs/4242',
    });
    expect(result.summary).toContain('### Slack notice');
    expect(result.masks).toContain(slack.webhookUrl);
  });

  it('started → success: the ts output is updated in place, and a reply lands in its thread', async () => {
    const started = await notify({
      token: slack.token,
      channel: '#deploys',
      status: 'started',
      app: 'shop',
      version: '2.0.0',
    });
    expect(started.exitCode).toBe(0);
    const ts = started.outputs.ts!;
    expect(ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(started.outputs).toEqual({
      ok: 'true',
      ts,
      'thread-ts': ts,
      'channel-id': slack.channels.deploys,
    });
    expect(started.masks).toContain(slack.token);
    expect((slack.message('#deploys', ts)!.blocks as Block[])[0]!.text!.text).toBe(
      ':rocket: Deploying shop 2.0.0',
    );

    const done = await notify({
      token: slack.token,
      channel: slack.channels.deploys!,
      status: 'success',
      app: 'shop',
      version: '2.0.0',
      'update-ts': ts,
    });
    expect(done.exitCode).toBe(0);
    expect(done.outputs).toEqual({ ok: 'true', ts, 'thread-ts': ts, 'channel-id': slack.channels.deploys });
    const updated = slack.message('#deploys', ts)!;
    expect(updated.method).toBe('chat.update');
    expect((updated.blocks as Block[])[0]!.text!.text).toBe(':white_check_mark: shop 2.0.0 deployed');
    const attachment = (updated.attachments as { color: string; blocks: Block[] }[])[0]!;
    expect(attachment.color).toBe('#2EB67D');
    expect(allText(attachment.blocks)).toMatch(/\*Duration\*\\n\d+s/);

    const reply = await notify({
      token: slack.token,
      channel: '#deploys',
      status: 'success',
      text: 'Canary at 100%, all gates passed',
      'thread-ts': ts,
    });
    expect(reply.exitCode).toBe(0);
    expect(reply.outputs['thread-ts']).toBe(ts);
    expect(reply.outputs.ts).not.toBe(ts);
    const thread = slack.thread('#deploys', ts);
    expect(thread).toHaveLength(1);
    expect(thread[0]!.ts).toBe(reply.outputs.ts);
    expect(allText(thread[0]!.attachments as Block[])).toContain('Canary at 100%, all gates passed');
  });

  it('waits out a 429 with Retry-After, then delivers on the second request', async () => {
    audit.clear();
    faults.add({ target: 'slack', status: 429, retryAfterSeconds: 1, times: 1 });
    const result = await notify({ token: slack.token, channel: '#deploys', status: 'success', app: 'shop' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.ok).toBe('true');
    const requests = audit.entries.filter((e) => e.target === 'slack');
    expect(requests.map((e) => e.status)).toEqual([429, 200]);
    const waited = Date.parse(requests[1]!.time) - Date.parse(requests[0]!.time);
    expect(waited).toBeGreaterThanOrEqual(1000);
    expect(result.log).toMatch(/retrying in 1\.\d s/);
  });

  it('persistent 5xx with fail-on-error false: exit 0, a warning and ok=false', async () => {
    audit.clear();
    faults.add({ target: 'slack', status: 503 });
    const result = await notify({ 'webhook-url': slack.webhookUrl, status: 'success', timeout: '2s' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.ok).toBe('false');
    expect(result.warnings.join('\n')).toMatch(/Slack .*HTTP 503/);
    expect(result.errors).toEqual([]);
    expect(audit.entries.length).toBeGreaterThan(1);
    expect(result.summary).toContain('Delivered | no');
  });

  it('persistent 5xx with fail-on-error true: exit 1', async () => {
    faults.add({ target: 'slack', status: 500 });
    const result = await notify({
      'webhook-url': slack.webhookUrl,
      status: 'success',
      timeout: '2s',
      'fail-on-error': 'true',
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.ok).toBe('false');
    expect(result.errors.join('\n')).toMatch(/HTTP 500/);
  });

  it('a post whose answer was lost after Slack stored it: found in the channel, posted once', async () => {
    audit.clear();
    const before = slack.messages.length;
    faults.add({
      target: 'slack',
      match: { verb: 'chat.postMessage' },
      dropAfterServe: true,
      times: 1,
    });
    const result = await notify({
      token: slack.token,
      channel: slack.channels.deploys!,
      status: 'success',
      app: 'shop',
    });
    expect(result.exitCode).toBe(0);
    expect(slack.messages).toHaveLength(before + 1);
    const posted = slack.messages.at(-1)!;
    expect(result.outputs).toEqual({
      ok: 'true',
      ts: posted.ts,
      'thread-ts': posted.ts,
      'channel-id': slack.channels.deploys,
    });
    // Slack answered 200 to the post (the answer never arrived), then the history was read.
    expect(audit.entries.map((e) => [e.verb, e.status])).toEqual([
      ['chat.postMessage', 200],
      ['conversations.history', 200],
    ]);
  });

  it('a webhook post whose answer was lost: not sent again, a warning that it may have been delivered', async () => {
    audit.clear();
    const before = slack.messages.length;
    faults.add({ target: 'slack', match: { verb: 'webhook' }, dropAfterServe: true, times: 1 });
    const result = await notify({ 'webhook-url': slack.webhookUrl, status: 'success', app: 'shop' });
    expect(result.exitCode).toBe(0);
    expect(slack.messages).toHaveLength(before + 1);
    expect(audit.entries).toHaveLength(1);
    expect(result.outputs.ok).toBe('false');
    expect(result.warnings.join('\n')).toMatch(
      /The message to the incoming webhook may have been delivered: .*ECONNRESET.*It was not sent again/,
    );
    expect(result.summary).toContain('Delivered | maybe');

    faults.add({ target: 'slack', match: { verb: 'webhook' }, dropAfterServe: true, times: 1 });
    const strict = await notify({
      'webhook-url': slack.webhookUrl,
      status: 'success',
      app: 'shop',
      'fail-on-error': 'true',
    });
    expect(strict.exitCode).toBe(1);
    expect(strict.errors.join('\n')).toContain('may have been delivered');
    expect(slack.messages).toHaveLength(before + 2);
  });

  it('explains an ok:false answer without retrying it', async () => {
    audit.clear();
    const result = await notify({ token: slack.token, channel: '#no-such-channel', status: 'success' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.ok).toBe('false');
    expect(result.warnings.join('\n')).toContain('channel_not_found (the channel does not exist');
    expect(audit.entries).toHaveLength(1);
  });

  it('escapes and truncates a 5000-character commit message full of <, > and &', async () => {
    const nasty = '<!channel> & <https://evil.example|click> '.repeat(130).slice(0, 5000);
    const rejected = slack.rejected.length;
    const result = await notify(
      { 'webhook-url': slack.webhookUrl, status: 'success', app: 'shop' },
      { GITHUB_EVENT_PATH: await eventWithCommit(nasty) },
    );
    expect(result.exitCode).toBe(0);
    expect(slack.rejected).toHaveLength(rejected);
    const attachment = (slack.messages.at(-1)!.attachments as { blocks: Block[] }[])[0]!;
    const commit = attachment.blocks.find((b) => b.text?.text.startsWith('*Commit*'))!.text!.text;
    expect(Array.from(commit).length).toBeLessThanOrEqual(3000);
    expect(commit.endsWith('… (truncated)')).toBe(true);
    expect(commit).toContain('&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;');
    // The only markup left is the commit link itself.
    const body = commit.slice(commit.indexOf('\n') + 1);
    expect(body).not.toMatch(/[<>]/);
    expect(body).not.toMatch(/&(?!amp;|lt;|gt;)/);
  });

  it('fills the placeholders of a custom payload', async () => {
    const payload = [
      'text: "{{app}} {{status}}"',
      'blocks:',
      '  - type: section',
      '    text: { type: mrkdwn, text: "*{{app}}* {{version}} to {{environment}} by {{actor}}: <{{run_url}}|run> ({{commit_short}})" }',
    ].join('\n');
    const result = await notify({
      'webhook-url': slack.webhookUrl,
      status: 'success',
      app: 'shop',
      version: '1.0.0',
      environment: 'staging',
      payload,
    });
    expect(result.exitCode).toBe(0);
    const message = slack.messages.at(-1)!;
    expect(message.text).toBe('shop success');
    expect((message.blocks as Block[])[0]!.text!.text).toBe(
      '*shop* 1.0.0 to staging by octocat: <https://github.com/acme/shop/actions/runs/4242|run> (3f78685)',
    );
  });
});

describe('payload-file-path', () => {
  it('a YAML file by bot token and a JSON file by webhook: placeholders filled, accepted by the stand-in', async () => {
    await writeFile(
      join(work, 'slack/notice.yml'),
      [
        '# The message of a deploy, kept in the repository.',
        'text: "{{ status_emoji }} {{ app }} {{ status }}"',
        'blocks:',
        '  - type: header',
        '    text: { type: plain_text, text: "{{ headline }}" }',
        '  - type: section',
        '    text:',
        '      type: mrkdwn',
        '      text: "*{{app}}* {{version}} by {{actor}} · failed: {{failed_checks}} · <{{run_url}}|run>"',
      ].join('\n'),
    );
    await writeFile(
      join(work, 'slack/notice.json'),
      JSON.stringify(
        {
          blocks: [
            { type: 'section', text: { type: 'mrkdwn', text: '{{app}} <{{commit_url}}|{{commit_short}}>' } },
          ],
        },
        null,
        2,
      ),
    );
    const report = join(work, 'failed-gate.json');
    await writeFile(
      report,
      JSON.stringify({ verdict: 'fail', checks: [{ name: 'error-rate', verdict: 'fail' }] }),
    );
    const rejected = slack.rejected.length;

    const byToken = await notify({
      token: slack.token,
      channel: '#deploys',
      status: 'failure',
      app: 'shop',
      version: '2.1.0',
      report,
      'payload-file-path': 'slack/notice.yml',
    });
    expect(byToken.exitCode, byToken.log).toBe(0);
    const posted = slack.message('#deploys', byToken.outputs.ts!)!;
    expect(posted.text).toBe(':x: shop failure');
    expect((posted.blocks as Block[]).map((b) => b.text!.text)).toEqual([
      'shop 2.1.0 deploy failed',
      '*shop* 2.1.0 by octocat · failed: error-rate · <https://github.com/acme/shop/actions/runs/4242|run>',
    ]);

    const byWebhook = await notify({
      'webhook-url': slack.webhookUrl,
      status: 'success',
      app: 'shop',
      'payload-file-path': 'slack/notice.json',
    });
    expect(byWebhook.exitCode, byWebhook.log).toBe(0);
    const hooked = slack.messages.at(-1)!;
    expect(hooked.via).toBe('webhook');
    expect((hooked.blocks as Block[])[0]!.text!.text).toBe(
      `shop <https://github.com/acme/shop/commit/${SHA}|3f78685>`,
    );
    // No text in the file: the notification text is ours.
    expect(hooked.text).toBe(':white_check_mark: shop deployed');
    expect(slack.rejected).toHaveLength(rejected);
  });

  it('a file with a block Slack would refuse: exit 1 naming the file and line, nothing sent', async () => {
    await writeFile(
      join(work, 'slack/refused.json'),
      '{\n  "blocks": [\n    { "type": "section" },\n    { "type": "divider" }\n  ]\n}\n',
    );
    audit.clear();
    const result = await notify({
      token: slack.token,
      channel: '#deploys',
      status: 'success',
      'payload-file-path': 'slack/refused.json',
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain(
      'Input "payload-file-path" is not valid Block Kit: slack/refused.json:3: blocks[0]: needs text or fields',
    );
    expect(result.outputs).toEqual({});
    expect(audit.entries).toEqual([]);
  });
});

describe('webhook-type: webhook-trigger', () => {
  afterEach(() => {
    slack.triggerVariables = [];
  });

  const trigger = () => ({ 'webhook-url': slack.triggerUrl, 'webhook-type': 'webhook-trigger' });

  it("starts the workflow with the deploy facts as string variables, the report's failed check and the run among them", async () => {
    const report = join(work, 'trigger-gate.json');
    await writeFile(
      report,
      JSON.stringify({
        verdict: 'fail',
        checks: [{ name: 'error-rate', verdict: 'fail', value: 0.2 }],
        monitoring: { alerts: [{ level: 'warning', metric: 'latency-p95', value: 0.6, threshold: 0.5 }] },
      }),
    );
    const triggers = slack.triggers.length;
    const result = await notify(
      {
        ...trigger(),
        status: 'failure',
        app: 'shop',
        environment: 'production',
        version: '1.4.2',
        report,
        fields: 'region: eu-west-1',
        'mention-on-failure': 'S0ONCALL01',
      },
      { GITHUB_EVENT_PATH: await eventWithCommit('Fix <checkout> & totals') },
    );
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toEqual({ ok: 'true', ts: '', 'thread-ts': '', 'channel-id': '' });
    expect(slack.triggers).toHaveLength(triggers + 1);
    const { variables } = slack.triggers.at(-1)!;
    expect(variables).toMatchObject({
      app: 'shop',
      environment: 'production',
      version: '1.4.2',
      status: 'failure',
      headline: 'shop 1.4.2 deploy to production failed',
      verdict: 'fail',
      failed_checks: 'error-rate',
      alerts: '1 warning',
      // Variables are data: sent as they are, not escaped for mrkdwn.
      commit_message: 'Fix <checkout> & totals',
      commit: SHA,
      run_url: 'https://github.com/acme/shop/actions/runs/4242',
      mentions: '<!subteam^S0ONCALL01>',
      region: 'eu-west-1',
    });
    expect(result.summary).toContain('| Sent to | Workflow Builder trigger |');
    expect(result.log).toContain('Starting the Slack workflow');
  });

  it("a payload file's top-level keys are the variables, filled", async () => {
    await writeFile(
      join(work, 'slack/variables.json'),
      JSON.stringify({ title: '{{app}} {{status}}', link: '{{run_url}}', replicas: 3 }),
    );
    slack.triggerVariables = ['title', 'link', 'replicas'];
    const result = await notify({
      ...trigger(),
      status: 'success',
      app: 'shop',
      'payload-file-path': 'slack/variables.json',
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(slack.triggers.at(-1)!.variables).toEqual({
      title: 'shop success',
      link: 'https://github.com/acme/shop/actions/runs/4242',
      replicas: '3',
    });
  });

  it('a workflow that declares a variable the payload lacks: refused by Slack, said plainly, no retry', async () => {
    slack.triggerVariables = ['title', 'owner'];
    audit.clear();
    const result = await notify({
      ...trigger(),
      status: 'success',
      payload: 'title: "{{app}}"',
      'fail-on-error': 'true',
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.ok).toBe('false');
    expect(result.errors.join('\n')).toContain(
      'Slack answered HTTP 400 invalid_payload (the trigger refused the request: it takes a flat JSON object whose values are all strings, with every variable the workflow declares): variable "owner" is missing',
    );
    expect(audit.entries.map((e) => [e.verb, e.status])).toEqual([['trigger', 400]]);
  });

  it('a trigger whose answer was lost after Slack took it: not sent again (the workflow would run twice)', async () => {
    audit.clear();
    const triggers = slack.triggers.length;
    faults.add({ target: 'slack', match: { verb: 'trigger' }, dropAfterServe: true, times: 1 });
    const result = await notify({ ...trigger(), status: 'success', app: 'shop' });
    expect(result.exitCode).toBe(0);
    expect(result.outputs.ok).toBe('false');
    expect(result.warnings.join('\n')).toMatch(
      /The message to the Workflow Builder trigger may have been delivered: .*ECONNRESET.*a Workflow Builder trigger offers no way to check whether the workflow started\. It was not sent again/,
    );
    expect(result.summary).toContain('Delivered | maybe');
    expect(slack.triggers).toHaveLength(triggers + 1);
    expect(audit.entries.map((e) => e.verb)).toEqual(['trigger']);
  });
});

describe('a canary-step report', () => {
  let sandbox: Sandbox;
  const stable = 'ghcr.io/acme/checkout:1.0.0';

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    sandbox.store.create(
      kind('Deployment'),
      parse(
        deploymentManifest({ name: 'checkout', namespace: 'shop', image: stable, replicas: 3 }),
      ) as KubeObject,
    );
    sandbox.store.create(kind('Service'), {
      ...(parse(serviceManifest('checkout')) as KubeObject),
      metadata: { name: 'checkout', namespace: 'shop' },
    });
    await vi.waitFor(
      () => expect(readyPodImages(sandbox, 'shop', 'checkout')).toEqual(Array(3).fill(stable)),
      { timeout: 20_000, interval: 100 },
    );
  });
  afterAll(async () => sandbox?.stop());

  it('a canary aborted at 5%: its report file, passed on, puts the canary line and the failing check in Slack', async () => {
    const cwd = await workspace({});
    const canary = await runAction({
      action: 'canary-step',
      cwd,
      inputs: {
        kubeconfig: sandbox.kubeconfigFor(CANARY_ROLE),
        namespace: 'shop',
        app: 'checkout',
        images: 'checkout=ghcr.io/acme/checkout:2.0.0',
        steps: '5,25,50,100',
        'step-duration': '2s',
        'check-interval': '250ms',
        'scale-down-delay': '0s',
        checks: '- { kind: command, name: smoke, command: [sh, -c, "exit 1"], critical: true }',
        'report-path': 'reports/canary.json',
      },
      timeoutMs: 120_000,
    });
    expect(canary.exitCode, canary.log).toBe(1);
    expect(canary.outputs.phase).toBe('aborted');
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'checkout'))).toBe(stable);
    expect(canary.outputs.report).toBe(join(cwd, 'reports/canary.json'));
    const report: Json = JSON.parse(await readFile(canary.outputs.report!, 'utf8'));
    expect(report).toMatchObject({
      strategy: 'canary',
      verdict: 'fail',
      phase: 'aborted',
      weight: 0,
      stableVersion: stable,
      canaryVersion: 'ghcr.io/acme/checkout:2.0.0',
      steps: [{ weight: 5, verdict: 'fail' }],
    });
    expect(report.checks.map((c: Json) => [c.name, c.verdict])).toContainEqual(['smoke', 'fail']);

    const rejected = slack.rejected.length;
    const result = await notify(
      {
        'webhook-url': slack.webhookUrl,
        status: 'failure',
        app: 'checkout',
        strategy: 'canary',
        report: canary.outputs.report,
      },
      {},
      cwd,
    );
    expect(result.exitCode, result.log).toBe(0);
    expect(slack.rejected).toHaveLength(rejected);
    const attachment = (slack.messages.at(-1)!.attachments as { blocks: Block[] }[])[0]!;
    const lines = attachment.blocks.find((b) => b.text?.text.includes('Canary'))!.text!.text.split('\n');
    expect(lines[0]).toBe(':red_circle: *Canary aborted at 5%: 5% ✗ fail*');
    // canary-pods may be cut short (inconclusive) by the critical smoke check failing first.
    expect(lines[1]).toMatch(/^:red_circle: \*Gate verdict: fail\* \([12] of 2 checks not passing\)$/);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^• `smoke` fail: threshold exit 0, critical check failed at sample 1: exit 1 in \d+ ms$/,
      ),
    );
    expect(result.summary).toContain('| Canary | Canary aborted at 5%: 5% ✗ fail |');
  });
});

/** A forward proxy for plain-http targets that counts what passes through it. */
async function startProxy(): Promise<{ url: string; seen: string[]; stop: () => Promise<void> }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const target = new URL(req.url ?? '/');
    // Only the path's head: a webhook's last segment is its secret.
    seen.push(`${req.method} ${target.host}${target.pathname.split('/').slice(0, 3).join('/')}`);
    const upstream = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
}

describe('proxies', () => {
  it('goes through HTTP_PROXY, and around it for hosts in NO_PROXY', async () => {
    const proxy = await startProxy();
    try {
      const via = await notify(
        { 'webhook-url': slack.webhookUrl, status: 'success' },
        { HTTP_PROXY: proxy.url },
      );
      expect(via.exitCode).toBe(0);
      expect(via.outputs.ok).toBe('true');
      expect(proxy.seen).toEqual([`POST ${new URL(slack.url).host}/services/T000`]);

      const around = await notify(
        { token: slack.token, channel: '#deploys', status: 'success' },
        { HTTP_PROXY: proxy.url, NO_PROXY: '127.0.0.1' },
      );
      expect(around.outputs.ok).toBe('true');
      expect(proxy.seen).toHaveLength(1);
    } finally {
      await proxy.stop();
    }
  });
});

describe('the bundle', () => {
  it('holds no Kubernetes code', async () => {
    const dir = resolve(import.meta.dirname, '../../dist/notify-slack');
    for (const file of (await readdir(dir)).filter((f) => f.endsWith('.js'))) {
      const code = await readFile(join(dir, file), 'utf8');
      expect(code).not.toContain('KubeConfig');
      expect(code).not.toContain('@kubernetes');
    }
  });
});
