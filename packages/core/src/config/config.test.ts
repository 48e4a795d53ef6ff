import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '../runner/io.js';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  actionDefaultsHidingConfig,
  configKeyFor,
  deployInputs,
  loadDeployConfig,
  resolveSettings,
  STRATEGIES,
} from './config.js';
import { InputError, explicitInputs, input, inputSources } from '../inputs/inputs.js';
import { aliasBomb } from '../testing/alias-bomb.js';

vi.mock('../runner/io.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../runner/io.js')>()),
  setSecret: vi.fn(),
  info: vi.fn(),
}));

const root = mkdtempSync(join(tmpdir(), 'cd-actions-config-'));
let workspace: string;
let counter = 0;

beforeEach(() => {
  workspace = join(root, `ws-${++counter}`);
  mkdirSync(join(workspace, '.github'), { recursive: true });
});
afterEach(() => {
  vi.mocked(core.info).mockReset();
  vi.unstubAllEnvs();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function writeConfig(text: string, file = '.github/deploy.yml'): void {
  writeFileSync(join(workspace, file), text);
}

function reader(values: Record<string, string>): (name: string) => string {
  return (name) => values[name] ?? '';
}

function errorOf(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, but the settings were accepted');
}

// A spec shaped like a deploying action with a health gate and a Slack notice.
const spec = {
  ...deployInputs,
  namespace: input.string({ required: true }),
  context: input.string(),
  strategy: input.enum(STRATEGIES, { default: 'rolling' }),
  timeout: input.duration({ default: '5m', max: '30m' }),
  duration: input.duration({ default: '1m' }),
  interval: input.duration({ default: '10s' }),
  'initial-delay': input.duration({ default: '0s', allowZero: true }),
  checks: input.document({ shape: 'list' }),
  'on-no-data': input.enum(['hold', 'pass', 'fail'], { default: 'hold' }),
  'prometheus-url': input.url(),
  channel: input.string(),
  'mention-on-failure': input.list(),
  'dry-run': input.boolean({ default: false }),
};

const STAGING = `environments:
  staging:
    namespace: shop-staging
    context: staging-cluster
    strategy: canary
    timeout: 10m
    gate:
      duration: 2m
      interval: 15s
      checks:
        - kind: http
          url: http://shop/healthz
      prometheus-url: http://prometheus:9090
    slack:
      channel: C0123456789
      mention-on-failure: [S0123, U0456]
  production:
    namespace: shop
`;

describe('resolveSettings: merging', () => {
  it('takes the environment entry, flattening gate and slack onto input names', () => {
    writeConfig(STAGING);
    const settings = resolveSettings(spec, { workspace, read: reader({ environment: 'staging' }) });
    expect(settings).toMatchObject({
      environment: 'staging',
      config: join(workspace, '.github/deploy.yml'),
      namespace: 'shop-staging',
      context: 'staging-cluster',
      strategy: 'canary',
      timeout: 600_000,
      duration: 120_000,
      interval: 15_000,
      initialDelay: 0,
      checks: [{ kind: 'http', url: 'http://shop/healthz' }],
      prometheusUrl: 'http://prometheus:9090',
      channel: 'C0123456789',
      mentionOnFailure: ['S0123', 'U0456'],
      dryRun: false,
    });
    expect(inputSources(settings).get('timeout')).toEqual({
      from: 'config',
      file: '.github/deploy.yml',
      line: 6,
      key: 'environments.staging.timeout',
    });
    expect(inputSources(settings).get('interval')).toMatchObject({ from: 'config', line: 9 });
  });

  it.each([
    ['the action default when nothing else sets it', 'production', {}, 300_000, 'default'],
    ['the environment entry over the action default', 'staging', {}, 600_000, 'config'],
    ['an explicit input over the environment entry', 'staging', { timeout: '2m' }, 120_000, 'input'],
    ['an explicit input over the action default', 'production', { timeout: '3m' }, 180_000, 'input'],
  ])('timeout comes from %s', (_, environment, given: Record<string, string>, expected, from) => {
    writeConfig(STAGING);
    const settings = resolveSettings(spec, { workspace, read: reader({ environment, ...given }) });
    expect(settings.timeout).toBe(expected);
    expect(inputSources(settings).get('timeout')?.from).toBe(from);
    expect(explicitInputs(settings).has('timeout')).toBe(from === 'input');
  });

  it('lets a spec map an input onto another config key, or keep it out of the config', () => {
    writeConfig(STAGING);
    const settings = resolveSettings(
      {
        ...deployInputs,
        'gate-duration': input.duration({ config: 'gate.duration' }),
        'slack-channel': input.string({ config: 'slack.channel' }),
        timeout: input.duration({ default: '1m', config: false }),
      },
      { workspace, read: reader({ environment: 'staging' }) },
    );
    expect(settings).toMatchObject({ gateDuration: 120_000, slackChannel: 'C0123456789', timeout: 60_000 });
  });

  it('rejects a spec that maps an input onto a key the config file cannot have', () => {
    expect(() => configKeyFor('x', 'gate.durration')).toThrow(/unknown config key "gate.durration"/);
  });

  it('needs no config file when none was asked for, even with an environment', () => {
    const settings = resolveSettings(spec, {
      workspace,
      read: reader({ environment: 'staging', namespace: 'shop' }),
    });
    expect(settings).toMatchObject({ namespace: 'shop', timeout: 300_000, environment: 'staging' });
    expect(core.info).toHaveBeenCalledWith(expect.stringContaining('No deploy config at .github/deploy.yml'));
  });

  it('ignores the file when no environment is named', () => {
    writeConfig(STAGING);
    const settings = resolveSettings(spec, { workspace, read: reader({ namespace: 'shop' }) });
    expect(settings.timeout).toBe(300_000);
  });

  it('reads an explicit config path relative to GITHUB_WORKSPACE, and an empty environment entry', () => {
    writeConfig('environments:\n  dev:\n', 'deploy.yaml');
    vi.stubEnv('GITHUB_WORKSPACE', workspace);
    const settings = resolveSettings(spec, {
      read: reader({ environment: 'dev', config: 'deploy.yaml', namespace: 'x' }),
    });
    expect(settings).toMatchObject({ config: join(workspace, 'deploy.yaml'), namespace: 'x' });
  });

  it('accepts one string for a list key', () => {
    writeConfig('environments:\n  dev:\n    slack:\n      mention-on-failure: S0123\n');
    const settings = resolveSettings(spec, {
      workspace,
      read: reader({ environment: 'dev', namespace: 'x' }),
    });
    expect(settings.mentionOnFailure).toEqual(['S0123']);
  });

  it('loadDeployConfig lists the environments of a valid file', () => {
    writeConfig(STAGING);
    const load = loadDeployConfig({ file: '.github/deploy.yml', explicit: true, workspace });
    expect(load.ok && [...(load.config?.environments.keys() ?? [])]).toEqual(['staging', 'production']);
  });
});

describe('resolveSettings: bad config files', () => {
  const header = 'environments:\n  staging:\n    namespace: shop-staging\n';
  const duration = 'a duration such as 30s, 5m, 1h or 1h30m';

  it('matches the documented message for a bad strategy', () => {
    writeConfig(`${header}    context: c\n    timeout: 10m\n    app: shop\n    strategy: bluegreen\n`);
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ environment: 'staging' }) }),
    );
    expect(error.message).toBe(
      'Input "config": .github/deploy.yml:7: environments.staging.strategy: "bluegreen" is not one of rolling, blue-green, canary',
    );
    expect(error.problems[0]).toMatchObject({
      input: 'config',
      file: '.github/deploy.yml',
      line: 7,
      value: 'bluegreen',
    });
  });

  it.each([
    [
      'an unknown top-level key',
      'environment:\n  staging: {}\n',
      1,
      'environment: unknown key',
      'one of environments',
    ],
    [
      'an unknown environment key',
      `${header}    namepsace: shop\n`,
      4,
      'environments.staging.namepsace: unknown key',
      'one of namespace, context, strategy, timeout, app, gate, slack',
    ],
    [
      'an unknown gate key',
      `${header}    gate:\n      durration: 2m\n`,
      5,
      'environments.staging.gate.durration: unknown key',
      'one of duration, interval, initial-delay, checks, on-no-data, on-inconclusive, prometheus-url',
    ],
    [
      'words for a timeout',
      `${header}    timeout: 5 minutes\n`,
      4,
      'environments.staging.timeout: "5 minutes" is not',
      duration,
    ],
    [
      'a number for a timeout',
      `${header}    timeout: 600\n`,
      4,
      'environments.staging.timeout: 600 is not',
      duration,
    ],
    [
      'an empty timeout',
      `${header}    timeout:\n`,
      4,
      'environments.staging.timeout: an empty value is not',
      duration,
    ],
    [
      'a list for a namespace',
      'environments:\n  staging:\n    namespace: [a, b]\n',
      3,
      'environments.staging.namespace: a list is not',
      'a Kubernetes name',
    ],
    [
      'a bad namespace name',
      'environments:\n  staging:\n    namespace: Shop_Staging\n',
      3,
      'environments.staging.namespace: "Shop_Staging" is not',
      'a Kubernetes name',
    ],
    [
      'a list for the gate',
      `${header}    gate: [2m]\n`,
      4,
      'environments.staging.gate: a list is not',
      'a mapping with the keys duration, interval',
    ],
    [
      'a zero interval',
      `${header}    gate:\n      interval: 0s\n`,
      5,
      'environments.staging.gate.interval: "0s" is not',
      duration,
    ],
    [
      'an unknown on-no-data value',
      `${header}    gate:\n      on-no-data: maybe\n`,
      5,
      'environments.staging.gate.on-no-data: "maybe" is not',
      'one of hold, pass, fail',
    ],
    [
      'a bad prometheus URL',
      `${header}    gate:\n      prometheus-url: prometheus:9090\n`,
      5,
      'environments.staging.gate.prometheus-url: "prometheus:9090" is not',
      'an http or https URL such as https://example.com',
    ],
    [
      'a bad prometheus URL with credentials, shown without them',
      `${header}    gate:\n      prometheus-url: ftp://user:s3cr3t@prom.example/p?token=t0k\n`,
      5,
      'environments.staging.gate.prometheus-url: "ftp://prom.example/p" is not',
      'an http or https URL such as https://example.com',
    ],
    [
      'text for the checks list',
      `${header}    gate:\n      checks: http://shop\n`,
      5,
      'environments.staging.gate.checks: "http://shop" is not',
      'a YAML list of checks',
    ],
    [
      'a number for mention-on-failure',
      `${header}    slack:\n      mention-on-failure: 5\n`,
      5,
      'environments.staging.slack.mention-on-failure: 5 is not',
      'a list of Slack user or group IDs',
    ],
    [
      'a mapping inside mention-on-failure',
      `${header}    slack:\n      mention-on-failure:\n        - S0123\n        - {id: U1}\n`,
      7,
      'environments.staging.slack.mention-on-failure[1]: a mapping is not',
      'a string',
    ],
    [
      'a list for environments',
      'environments:\n  - staging\n',
      2,
      'environments: a list is not',
      'a mapping of environment names',
    ],
    [
      'a top-level list',
      '- staging\n',
      1,
      '(top level): a list is not',
      'a mapping with the keys environments',
    ],
    ['broken YAML', `${header}    gate: {duration: 2m\n`, 5, 'Flow map in block collection', 'valid YAML'],
    [
      'a duplicate key',
      `${header}    timeout: 1m\n    timeout: 2m\n`,
      5,
      'Map keys must be unique (column 5)',
      'valid YAML',
    ],
    [
      'bad indentation',
      'environments:\n  staging:\n    namespace: a\n   context: b\n',
      4,
      'All mapping items',
      'valid YAML',
    ],
  ])('reports %s with file, line and key', (_, text, line, detail, accepted) => {
    writeConfig(text);
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ environment: 'staging' }) }),
    );
    const problem = error.problems.find((p) => p.input === 'config');
    expect(problem).toMatchObject({ input: 'config', file: '.github/deploy.yml', line });
    expect(problem?.accepted).toContain(accepted);
    expect(error.message).toContain(`Input "config": .github/deploy.yml:${line}: ${detail}`);
    expect(error.message).toContain(accepted);
    // The broken file may hold the namespace: its absence is not reported on top.
    expect(error.message).not.toContain('Input "namespace"');
  });

  it('reports an unknown environment with the ones the file defines', () => {
    writeConfig(STAGING);
    const error = errorOf(() => resolveSettings(spec, { workspace, read: reader({ environment: 'prod' }) }));
    expect(error.message).toBe(
      'Input "environment" has value "prod": expected one of staging, production (the environments in .github/deploy.yml)',
    );
  });

  it('reports an environment asked of a file that defines none', () => {
    writeConfig('# nothing yet\n');
    const error = errorOf(() => resolveSettings(spec, { workspace, read: reader({ environment: 'prod' }) }));
    expect(error.problems[0]).toMatchObject({
      input: 'environment',
      accepted: 'an environment defined in .github/deploy.yml (it defines none)',
    });
  });

  it('reports a config file that was named but does not exist', () => {
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ config: 'deploy/prod.yml', namespace: 'shop' }) }),
    );
    expect(error.problems).toHaveLength(1);
    expect(error.message).toMatch(
      /^Input "config" has value "deploy\/prod.yml": no such file at .*deploy\/prod.yml; expected the path of a deploy config file, relative to the workspace and inside it$/,
    );
  });

  it('names the input, the file and the line when a config value breaks the action’s own limits', () => {
    writeConfig(`${header}    timeout: 45m\n`);
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ environment: 'staging' }) }),
    );
    expect(error.message).toBe(
      'Input "timeout" has value "45m" (from .github/deploy.yml:4, environments.staging.timeout): expected a duration such as 30s, 5m, 1h or 1h30m, at most 30m',
    );
    expect(error.problems[0]).toMatchObject({ input: 'timeout', file: '.github/deploy.yml', line: 4 });
  });

  it('validates a config list through the action’s document spec', () => {
    writeConfig(`${header}    gate:\n      checks: []\n`);
    const settings = resolveSettings(spec, { workspace, read: reader({ environment: 'staging' }) });
    expect(settings.checks).toEqual([]);
  });

  it('lists problems of the file and of the inputs in one error', () => {
    writeConfig(`${header}    strategy: bluegreen\n    gate:\n      interval: soon\n`);
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ environment: 'staging', 'dry-run': 'yes' }) }),
    );
    expect(error.problems.map((p) => `${p.input}:${p.line ?? '-'}`)).toEqual([
      'config:4',
      'config:6',
      'dry-run:-',
    ]);
    expect(error.message.split('\n')).toHaveLength(3);
  });

  it('still reports a missing required input when the file is fine', () => {
    writeConfig(STAGING);
    const error = errorOf(() =>
      resolveSettings(
        { ...spec, app: input.string({ required: true }) },
        { workspace, read: reader({ environment: 'production' }) },
      ),
    );
    expect(error.message).toBe('Input "app" is required but was not given: expected text');
  });
});

describe('actionDefaultsHidingConfig', () => {
  it('finds action.yml defaults that would always beat the config file', () => {
    const actionYml = `name: deploy
inputs:
  config:
    default: .github/deploy.yml
  timeout:
    description: How long
    default: 10m
  dry-run:
    default: 'false'
  namespace:
    required: false
`;
    expect(actionDefaultsHidingConfig(spec, actionYml)).toEqual(['config', 'timeout']);
  });
});

describe('the config file stays in the workspace, and its text stays out of the log', () => {
  // Lines as /etc/passwd has them: a file that is not a deploy config at all.
  const PASSWD = 'root:x:0:0:root:/root:/bin/bash\nrobot:x:1000:1000:hunter2-sekret:/home/robot:/bin/sh\n';

  it('refuses a config path that leads out, once, before reading anything', () => {
    const error = errorOf(() =>
      resolveSettings(spec, {
        workspace,
        read: reader({ config: '../../etc/passwd', environment: 'staging', namespace: 'shop' }),
      }),
    );
    expect(error.problems).toHaveLength(1);
    expect(error.message).toBe(
      `Input "config" has value "../../etc/passwd": the path leads out of the workspace (${workspace}) through ".."; expected the path of a deploy config file, relative to the workspace and inside it`,
    );
  });

  it('refuses a config file reached through a symbolic link to outside', () => {
    const outside = join(root, `outside-${counter}`);
    mkdirSync(outside);
    writeFileSync(join(outside, 'deploy.yml'), PASSWD);
    symlinkSync(outside, join(workspace, 'shared'));
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ config: 'shared/deploy.yml', namespace: 'shop' }) }),
    );
    expect(error.message).toMatch(
      /^Input "config" has value "shared\/deploy.yml": the path follows a symbolic link to /,
    );
    expect(error.message).not.toContain('hunter2');
  });

  it('names file and line of a file that is not a config, never its text', () => {
    writeConfig(PASSWD, 'passwd');
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ config: 'passwd', environment: 'staging' }) }),
    );
    expect(error.message).toBe(
      'Input "config": passwd:1: (top level): text is not a mapping with the keys environments',
    );
    expect(error.problems[0]).toMatchObject({ file: 'passwd', line: 1, value: '' });
    expect(JSON.stringify(error.problems)).not.toMatch(/root:x|hunter2/);
  });

  it('drops the code frame of a YAML error', () => {
    writeConfig('environments:\n  staging: {\n    namespace: "hunter2-sekret\n', 'broken.yml');
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ config: 'broken.yml', environment: 'staging' }) }),
    );
    expect(error.message).not.toContain('hunter2');
    // One line per problem, each naming file and line, none a line of the file.
    for (const line of error.message.split('\n'))
      expect(line).toMatch(/^Input "config": broken\.yml:\d+: [A-Z]/);
  });

  it('names the file and line of an alias bomb, keeping the alias limit', () => {
    writeConfig(`environments:\n  staging:\n    namespace: shop\n${aliasBomb()}`, 'bomb.yml');
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ config: 'bomb.yml', environment: 'staging' }) }),
    );
    expect(error.message).toBe(
      'Input "config": bomb.yml:5: its aliases expand past 100 copies, which is refused as an alias bomb; expected valid YAML',
    );
  });

  it('names the file of an alias bomb inside an environment entry', () => {
    writeConfig(
      `x: &a [1,1,1,1,1,1,1,1,1,1]\nenvironments:\n  staging:\n    gate:\n      checks: [${Array(200).fill('*a').join(',')}]\n`,
      'bomb2.yml',
    );
    const error = errorOf(() =>
      resolveSettings(spec, { workspace, read: reader({ config: 'bomb2.yml', environment: 'staging' }) }),
    );
    expect(error.message).toMatch(/^Input "config": bomb2\.yml:\d+: its aliases expand past 100 copies/);
  });
});
