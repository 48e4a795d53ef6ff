import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../../packages/core/src/errors.js';
import { readNotifySlackSettings } from './inputs.js';

const TOKEN = 'xoxb-123-456-abcdef';
const HOOK = 'https://hooks.slack.com/services/T000/B000/s3cretWebhookPart';

function read(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const masked: string[] = [];
  const run = () =>
    readNotifySlackSettings({ read: (name) => inputs[name] ?? '', mask: (v) => masked.push(v) }, env);
  return { run, masked };
}

describe('readNotifySlackSettings', () => {
  it('reads a webhook notice with its facts', () => {
    const { run, masked } = read({
      'webhook-url': HOOK,
      status: 'Success',
      app: 'shop',
      fields: 'zone: b\nregion: eu-west-1\nreplicas: 3',
      'mention-on-failure': 'U0ABCDEFG1, S0ONCALL01\nhere',
    });
    expect(run()).toEqual({
      destination: { kind: 'webhook', url: HOOK },
      status: 'success',
      app: 'shop',
      fields: [
        ['zone', 'b'],
        ['region', 'eu-west-1'],
        ['replicas', '3'],
      ],
      mentions: ['U0ABCDEFG1', 'S0ONCALL01', 'here'],
      failOnError: false,
      timeoutMs: 30_000,
    });
    expect(masked).toEqual([HOOK, 's3cretWebhookPart']);
  });

  it('reads a Web API notice; SLACK_API_URL overrides the Slack base URL', () => {
    const inputs = { token: TOKEN, channel: '#deploys', status: 'started', timeout: '5s' };
    expect(read(inputs).run().destination).toEqual({
      kind: 'api',
      token: TOKEN,
      channel: '#deploys',
      apiUrl: 'https://slack.com/api',
    });
    expect(read(inputs, { SLACK_API_URL: 'http://127.0.0.1:1/api' }).run()).toMatchObject({
      destination: { apiUrl: 'http://127.0.0.1:1/api' },
      timeoutMs: 5000,
    });
  });

  it('allows plain http only to this machine', () => {
    expect(
      read({ 'webhook-url': 'http://127.0.0.1:8080/services/a/b/c', status: 'success' }).run().destination,
    ).toEqual({
      kind: 'webhook',
      url: 'http://127.0.0.1:8080/services/a/b/c',
    });
    expect(() => read({ 'webhook-url': 'http://10.0.0.1/hook', status: 'success' }).run()).toThrow(
      /scheme http:/,
    );
  });

  it('lists every problem at once, never showing a secret', () => {
    const { run, masked } = read({ token: 'xoxb-bad token', status: 'done', 'thread-ts': 'yesterday' });
    let error: unknown;
    try {
      run();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const problems = (error as InputError).problems;
    expect(problems.map((p) => p.input)).toEqual(['token', 'status', 'thread-ts', 'channel']);
    expect((error as Error).message).not.toContain('xoxb-bad token');
    expect(masked).toEqual(['xoxb-bad token']);
  });

  it('checks a custom payload at validation: structure and placeholder names', () => {
    const ok = read({
      'webhook-url': HOOK,
      status: 'success',
      payload: '{"text": "{{app}} is {{status}}"}',
    }).run();
    expect(ok.payload).toEqual({ text: '{{app}} is {{status}}' });
    expect(() =>
      read({ 'webhook-url': HOOK, status: 'success', payload: 'blocks: [{ type: divider, x: 1 }]' }).run(),
    ).toThrow(/Input "payload".*blocks\[0\]\.x: unknown property/);
  });
});

describe('defaults from the deploy config', () => {
  let workspace: string;
  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'notify-config-'));
    await mkdir(join(workspace, '.github'));
    await writeFile(
      join(workspace, '.github/deploy.yml'),
      [
        'environments:',
        '  production:',
        '    app: shop',
        '    strategy: canary',
        '    slack:',
        '      channel: "#deploys"',
        '      mention-on-failure: [S0ONCALL01, U0ABCDEFG1]',
        '  staging:',
        '    slack:',
        '      channel: "not a channel"',
      ].join('\n'),
    );
    await writeFile(join(workspace, 'broken.yml'), 'environments:\n  production:\n    strategy: yolo\n');
  });
  afterAll(() => rm(workspace, { recursive: true, force: true }));

  it('takes channel, mentions, app and strategy from the environment entry; inputs win', () => {
    const settings = read(
      { token: TOKEN, status: 'failure', environment: 'production', strategy: 'blue-green' },
      { GITHUB_WORKSPACE: workspace },
    ).run();
    expect(settings).toMatchObject({
      destination: { kind: 'api', channel: '#deploys' },
      app: 'shop',
      strategy: 'blue-green',
      mentions: ['S0ONCALL01', 'U0ABCDEFG1'],
    });
  });

  it('says where a bad config value came from', () => {
    const { run } = read(
      { token: TOKEN, status: 'success', environment: 'staging' },
      { GITHUB_WORKSPACE: workspace },
    );
    expect(run).toThrow('(from .github/deploy.yml:10 (environments.staging.slack.channel))');
  });

  it('refuses a config file that breaks the schema, with file and line', () => {
    const { run } = read(
      { 'webhook-url': HOOK, status: 'success', environment: 'production', config: 'broken.yml' },
      { GITHUB_WORKSPACE: workspace },
    );
    expect(run).toThrow(/Input "config": broken\.yml:3: environments\.production\.strategy/);
  });

  it('needs a config file only when one is named', () => {
    const env = { GITHUB_WORKSPACE: join(workspace, 'nowhere') };
    expect(
      read({ 'webhook-url': HOOK, status: 'success', environment: 'production' }, env).run().app,
    ).toBeUndefined();
    expect(
      read({ 'webhook-url': HOOK, status: 'success', environment: 'production', config: 'deploy.yml' }, env)
        .run,
    ).toThrow(/Input "config": deploy\.yml: no such file/);
  });
});
