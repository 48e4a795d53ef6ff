import { describe, expect, it } from 'vitest';
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
