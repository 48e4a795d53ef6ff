import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '@cd-actions/core/inputs/errors';
import * as runner from '@cd-actions/core/runner/io';
import { readNotifySlackSettings } from './inputs.js';

vi.mock('@cd-actions/core/runner/io', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@cd-actions/core/runner/io')>()),
  setSecret: vi.fn(),
  info: vi.fn(),
}));

const TOKEN = 'xoxb-123-456-abcdef';
const HOOK = 'https://hooks.slack.com/services/T000/B000/s3cretWebhookPart';

beforeEach(() => {
  vi.mocked(runner.setSecret).mockReset();
  vi.mocked(runner.info).mockReset();
});

function read(inputs: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const masked: string[] = [];
  const run = () => {
    vi.mocked(runner.setSecret).mockImplementation((value) => masked.push(value));
    return readNotifySlackSettings({ read: (name) => inputs[name] ?? '', env });
  };
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
    expect(masked.sort()).toEqual([HOOK, 's3cretWebhookPart'].sort());
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

  it('lists every problem at once, never showing a secret; checks across inputs follow', () => {
    const problemsOf = (run: () => unknown): InputError['problems'] => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        expect((error as Error).message).not.toContain('xoxb-bad token');
        return (error as InputError).problems;
      }
      throw new Error('expected an InputError');
    };
    const { run, masked } = read({ token: 'xoxb-bad token', status: 'done', 'thread-ts': 'yesterday' });
    expect(problemsOf(run).map((p) => p.input)).toEqual(['token', 'status', 'thread-ts']);
    expect(masked).toEqual(['xoxb-bad token']);
    // Core's rules compare parsed values, so they run once every input is valid on its own.
    const fixed = read({ token: TOKEN, status: 'success', 'thread-ts': '1700000000.000100' });
    expect(problemsOf(fixed.run)).toEqual([
      {
        input: 'channel',
        value: '',
        accepted: 'a Slack channel id such as C0123456789',
        message:
          'Input "channel" is required with "token": expected a Slack channel id such as C0123456789, or #name',
      },
    ]);
  });

  it('names both destinations when both are given, with the webhook shown as ***', () => {
    expect(() => read({ 'webhook-url': HOOK, token: TOKEN, status: 'success' }).run()).toThrow(
      'Inputs "webhook-url" and "token" were both given: expected either "webhook-url", or "token" with "channel"',
    );
    expect(() => read({ 'webhook-url': HOOK, channel: '#deploys', status: 'success' }).run()).toThrow(
      /Input "channel" was given with "webhook-url"/,
    );
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
        '  timed:',
        '    timeout: 45m',
        '    slack:',
        '      channel: C0DEPLOYS1',
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

  it('ignores the configured channel for a webhook, which has its own', () => {
    const settings = read(
      { 'webhook-url': HOOK, status: 'failure', environment: 'production' },
      { GITHUB_WORKSPACE: workspace },
    ).run();
    expect(settings).toMatchObject({
      destination: { kind: 'webhook', url: HOOK },
      app: 'shop',
      strategy: 'canary',
      mentions: ['S0ONCALL01', 'U0ABCDEFG1'],
    });
  });

  it("keeps the environment's timeout (the deploy's) out of Slack's timeout", () => {
    const settings = read(
      { token: TOKEN, status: 'success', environment: 'timed' },
      { GITHUB_WORKSPACE: workspace },
    ).run();
    expect(settings.timeoutMs).toBe(30_000);
    expect(settings.destination).toMatchObject({ channel: 'C0DEPLOYS1' });
  });

  it('refuses an environment the config file does not define, naming the ones it does', () => {
    const { run } = read(
      { 'webhook-url': HOOK, status: 'success', environment: 'preview' },
      { GITHUB_WORKSPACE: workspace },
    );
    expect(run).toThrow(
      'Input "environment" has value "preview": expected one of production, staging, timed (the environments in .github/deploy.yml)',
    );
  });

  it('says where a bad config value came from', () => {
    const { run } = read(
      { token: TOKEN, status: 'success', environment: 'staging' },
      { GITHUB_WORKSPACE: workspace },
    );
    expect(run).toThrow(
      'Input "channel" has value "not a channel" (from .github/deploy.yml:10, environments.staging.slack.channel): expected a Slack channel id',
    );
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
    ).toThrow(/Input "config" has value "deploy\.yml": no such file/);
  });
});

describe('readNotifySlackSettings: report', () => {
  let workspace: string;
  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'notify-report-'));
    await writeFile(
      join(workspace, 'gate.json'),
      JSON.stringify({ verdict: 'pass', checks: [{ name: 'http', verdict: 'pass' }] }),
    );
    await writeFile(join(workspace, 'passwd'), 'root:x:0:0:hunter2:/root:/bin/bash\n');
  });
  afterAll(() => rm(workspace, { recursive: true, force: true }));

  const given = (report: string) => ({ 'webhook-url': HOOK, status: 'success', report });

  it('reads a report inside the workspace', () => {
    const settings = read(given('gate.json'), { GITHUB_WORKSPACE: workspace }).run();
    expect(settings.report).toMatchObject({ verdict: 'pass' });
  });

  it('reads a report an earlier step left in RUNNER_TEMP (health-gate and canary-step write there by default)', async () => {
    const temp = await mkdtemp(join(tmpdir(), 'notify-runner-temp-'));
    await writeFile(join(temp, 'canary-step-1.json'), JSON.stringify({ verdict: 'fail', checks: [] }));
    vi.stubEnv('RUNNER_TEMP', temp);
    vi.stubEnv('GITHUB_WORKSPACE', workspace);
    try {
      const settings = read(given(join(temp, 'canary-step-1.json')), { GITHUB_WORKSPACE: workspace }).run();
      expect(settings.report).toMatchObject({ verdict: 'fail' });
    } finally {
      vi.unstubAllEnvs();
      await rm(temp, { recursive: true, force: true });
    }
  });

  it.each([
    ['a path that leads out', '../../etc/passwd', 'the path leads out of the workspace'],
    ['an absolute path elsewhere', '/etc/passwd', 'the path is outside the workspace'],
  ])('refuses %s before reading it', (_title, report, reason) => {
    const { run } = read(given(report), {
      GITHUB_WORKSPACE: workspace,
      RUNNER_TEMP: join(workspace, 'temp'),
    });
    expect(run).toThrow(InputError);
    expect(run).toThrow(`Input "report" has value ${JSON.stringify(report)}: ${reason}`);
  });

  it('does not echo a file that is not a report', () => {
    const { run } = read(given('passwd'), { GITHUB_WORKSPACE: workspace });
    expect(run).toThrow(
      'Input "report" has value "passwd": the file is not JSON; expected the path of a JSON report',
    );
    expect(run).not.toThrow(/hunter2|root:x/);
  });
});

describe('readNotifySlackSettings: payload-file-path and webhook-type', () => {
  const TRIGGER = 'https://hooks.slack.com/triggers/T000/3141592653589/s3cretTriggerPart';
  let workspace: string;
  beforeAll(async () => {
    workspace = await mkdtemp(join(tmpdir(), 'notify-payload-'));
    await mkdir(join(workspace, 'slack'));
    const files: Record<string, string> = {
      'slack/notice.yml': 'text: "{{ app }} {{status}}"\nblocks:\n  - type: divider\n',
      'slack/notice.json': '{\n  "text": "{{app}}",\n  "blocks": [{ "type": "divider" }]\n}\n',
      'slack/unknown.yml':
        'text: ok\nblocks:\n  - type: section\n    text: { type: mrkdwn, text: "{{ sha }}" }\n',
      'slack/broken.yml': 'text: ok\nblocks: [\n',
      'slack/bad-block.json':
        '{\n  "text": "x",\n  "blocks": [\n    { "type": "header", "text": { "type": "mrkdwn", "text": "x" } }\n  ]\n}\n',
      'slack/variables.yml': 'title: "{{app}} {{status}}"\nreplicas: 3\n',
      'slack/nested.yml': 'title: "{{app}}"\ndetails:\n  region: eu\n',
    };
    for (const [name, text] of Object.entries(files)) await writeFile(join(workspace, name), text);
  });
  afterAll(() => rm(workspace, { recursive: true, force: true }));

  const run = (inputs: Record<string, string>) =>
    read({ status: 'success', ...inputs }, { GITHUB_WORKSPACE: workspace }).run;

  it('reads a YAML or JSON file from the workspace as the payload, for a webhook and for the Web API', () => {
    expect(run({ 'webhook-url': HOOK, 'payload-file-path': 'slack/notice.yml' })().payload).toEqual({
      text: '{{ app }} {{status}}',
      blocks: [{ type: 'divider' }],
    });
    const api = run({ token: TOKEN, channel: '#deploys', 'payload-file-path': 'slack/notice.json' })();
    expect(api).toMatchObject({ destination: { kind: 'api' }, payload: { text: '{{app}}' } });
  });

  it('names the file and line of an unknown placeholder, a YAML error or a block Slack would refuse', () => {
    expect(run({ 'webhook-url': HOOK, 'payload-file-path': 'slack/unknown.yml' })).toThrow(
      /^Input "payload-file-path" has value "slack\/unknown\.yml": unknown placeholder \{\{sha\}\} at slack\/unknown\.yml:4 \(the placeholders are app, /,
    );
    expect(run({ 'webhook-url': HOOK, 'payload-file-path': 'slack/broken.yml' })).toThrow(
      /^Input "payload-file-path" has value "slack\/broken\.yml": slack\/broken\.yml:3: .*not valid YAML or JSON; expected the path of a JSON or YAML file/,
    );
    expect(run({ 'webhook-url': HOOK, 'payload-file-path': 'slack/bad-block.json' })).toThrow(
      'Input "payload-file-path" is not valid Block Kit: slack/bad-block.json:4: blocks[0].text.type: must be plain_text',
    );
  });

  it('keeps the file inside the workspace, and takes payload or payload-file-path, not both', () => {
    expect(run({ 'webhook-url': HOOK, 'payload-file-path': '../outside.json' })).toThrow(
      /Input "payload-file-path" has value "\.\.\/outside\.json": the path leads out of the workspace/,
    );
    expect(run({ 'webhook-url': HOOK, 'payload-file-path': 'slack/missing.yml' })).toThrow(
      'Input "payload-file-path" has value "slack/missing.yml": the file does not exist',
    );
    expect(
      run({ 'webhook-url': HOOK, payload: 'text: hi', 'payload-file-path': 'slack/notice.yml' }),
    ).toThrow('Inputs "payload" and "payload-file-path" were both given');
    expect(run({ 'webhook-url': HOOK, fields: 'a: b', 'payload-file-path': 'slack/notice.yml' })).toThrow(
      'Input "payload-file-path" was given with "fields"',
    );
  });

  it('webhook-trigger: the destination is the trigger, and a payload is its flat variables', () => {
    const { run: trigger, masked } = read(
      {
        'webhook-url': TRIGGER,
        'webhook-type': 'webhook-trigger',
        status: 'failure',
        'payload-file-path': 'slack/variables.yml',
      },
      { GITHUB_WORKSPACE: workspace },
    );
    expect(trigger()).toMatchObject({
      destination: { kind: 'trigger', url: TRIGGER },
      payload: { title: '{{app}} {{status}}', replicas: 3 },
    });
    expect(masked).toContain('s3cretTriggerPart');
    // Not Block Kit, and that is fine for a trigger; but nothing nested.
    expect(
      run({
        'webhook-url': TRIGGER,
        'webhook-type': 'webhook-trigger',
        'payload-file-path': 'slack/nested.yml',
      }),
    ).toThrow(
      'Input "payload-file-path" is not a Workflow Builder trigger\'s variables: slack/nested.yml:3: variable "details" is a map',
    );
    expect(run({ 'webhook-url': TRIGGER, 'webhook-type': 'webhook-trigger', payload: 'a: [1]' })).toThrow(
      'Input "payload" is not a Workflow Builder trigger\'s variables: line 1: variable "a" is a list',
    );
  });

  it('webhook-type must match the URL, goes with webhook-url only, and a trigger has no thread', () => {
    expect(run({ 'webhook-url': TRIGGER })).toThrow(
      'Input "webhook-url" is a Workflow Builder trigger URL but "webhook-type" is incoming-webhook: set webhook-type: webhook-trigger',
    );
    expect(run({ 'webhook-url': HOOK, 'webhook-type': 'webhook-trigger' })).toThrow(
      'Input "webhook-url" is an incoming webhook URL but "webhook-type" is webhook-trigger: set webhook-type: incoming-webhook',
    );
    expect(run({ token: TOKEN, channel: '#deploys', 'webhook-type': 'webhook-trigger' })).toThrow(
      'Input "webhook-type" is webhook-trigger but "token" was given',
    );
    // The runner passes the default with every step: harmless beside a token.
    expect(run({ token: TOKEN, channel: '#deploys', 'webhook-type': 'incoming-webhook' })).not.toThrow();
    expect(run({ 'webhook-url': HOOK, 'webhook-type': 'trigger' })).toThrow(
      'Input "webhook-type" has value "trigger": expected one of incoming-webhook, webhook-trigger',
    );
    const trigger = { 'webhook-url': TRIGGER, 'webhook-type': 'webhook-trigger' };
    expect(run({ ...trigger, 'thread-ts': '1700000000.000100' })).toThrow(
      'Input "thread-ts" was given with webhook-type webhook-trigger',
    );
    expect(run({ ...trigger, fields: 'region: eu\nversion: 2' })).toThrow(
      'Input "fields" names "version", one of the variables the trigger is sent already',
    );
    expect(run({ ...trigger, fields: 'region: eu' })()).toMatchObject({ fields: [['region', 'eu']] });
    // A gateway's URL says nothing either way: webhook-type decides.
    expect(
      run({ 'webhook-url': 'https://gateway.example/slack/abc', 'webhook-type': 'webhook-trigger' })()
        .destination,
    ).toEqual({
      kind: 'trigger',
      url: 'https://gateway.example/slack/abc',
    });
  });
});
