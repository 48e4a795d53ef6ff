import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as core from '../runner/io.js';
import { afterAll, afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  InputError,
  atMostOneOf,
  exactlyOneOf,
  explicitInputs,
  formatDuration,
  getSettings,
  input,
  inputSources,
  parseDuration,
  type InputSpecMap,
} from './inputs.js';

vi.mock('../runner/io.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../runner/io.js')>()),
  setSecret: vi.fn(),
  info: vi.fn(),
}));

const setSecret = vi.mocked(core.setSecret);

afterEach(() => {
  setSecret.mockReset();
  vi.unstubAllEnvs();
});

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

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s', 90_000],
    ['2h45m10s500ms', 9_910_500],
    ['0s', 0],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toEqual({ ok: true, ms });
  });

  it.each([
    [500, '500ms'],
    [90_000, '1m30s'],
    [5_400_000, '1h30m'],
    [0, '0s'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('getSettings: each kind', () => {
  it.each<[string, InputSpecMap[string], string, unknown]>([
    ['string', input.string(), 'shop', 'shop'],
    [
      'string with pattern',
      input.string({ pattern: /^[a-z]+$/, patternDescription: 'lowercase' }),
      'shop',
      'shop',
    ],
    ['secret', input.secret(), 's3cr3t-token', 's3cr3t-token'],
    ['integer', input.integer({ min: 1, max: 10 }), '10', 10],
    ['negative integer', input.integer(), '-3', -3],
    ['boolean True', input.boolean(), 'True', true],
    ['boolean FALSE', input.boolean(), 'FALSE', false],
    ['duration', input.duration(), '1h30m', 5_400_000],
    ['zero duration when allowed', input.duration({ allowZero: true }), '0s', 0],
    ['enum', input.enum(['rolling', 'canary']), 'canary', 'canary'],
    ['list on commas and lines', input.list(), 'a, b\n\nc,,', ['a', 'b', 'c']],
    ['list on lines only', input.list({ commas: false }), 'sum by (a, b)\nx', ['sum by (a, b)', 'x']],
    ['YAML document', input.document(), 'a: 1\nb: [x, y]', { a: 1, b: ['x', 'y'] }],
    ['JSON document', input.document({ shape: 'list' }), '[{"kind": "http"}]', [{ kind: 'http' }]],
    ['http URL', input.url(), 'http://127.0.0.1:9090/', 'http://127.0.0.1:9090/'],
    ['wss URL when allowed', input.url({ protocols: ['wss'] }), 'wss://example.com/x', 'wss://example.com/x'],
  ])('%s', (_, spec, raw, expected) => {
    const settings = getSettings({ value: spec }, { read: reader({ value: raw }) });
    expect(settings.value).toEqual(expected);
  });

  it('trims values, as core.getInput does', () => {
    expect(getSettings({ n: input.integer() }, { read: reader({ n: '  7\n' }) }).n).toBe(7);
  });

  it('reads through core.getInput from INPUT_ variables by default', () => {
    vi.stubEnv('INPUT_GITHUB-TOKEN', 'ghs_abc');
    vi.stubEnv('INPUT_DRY-RUN', 'true');
    const settings = getSettings({ 'github-token': input.secret(), 'dry-run': input.boolean() });
    expect(settings).toEqual({ githubToken: 'ghs_abc', dryRun: true });
  });
});

describe('getSettings: bad inputs', () => {
  const duration = input.duration();
  const bounded = input.duration({ min: '1s', max: '1h' });
  const durationAccepted = 'a duration such as 30s, 5m, 1h or 1h30m';
  const kubeName = input.string({
    pattern: /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    patternDescription: 'a Kubernetes name (lowercase letters, digits and "-")',
  });

  it.each<[string, string, InputSpecMap[string], string, string]>([
    ['words for a duration', 'timeout', duration, '5 minutes', durationAccepted],
    ['a bare number for a duration', 'timeout', duration, '30', durationAccepted],
    ['a negative duration', 'timeout', duration, '-5m', durationAccepted],
    ['a zero duration', 'interval', duration, '0s', durationAccepted],
    ['a fractional duration', 'timeout', duration, '1.5h', durationAccepted],
    ['an upper-case unit', 'timeout', duration, '5M', durationAccepted],
    ['units out of order', 'timeout', duration, '30m1h', durationAccepted],
    ['a duration with a space', 'timeout', duration, '1h 30m', durationAccepted],
    ['a duration above its max', 'timeout', bounded, '2h', `${durationAccepted}, from 1s to 1h`],
    ['a duration below its min', 'timeout', bounded, '500ms', `${durationAccepted}, from 1s to 1h`],
    [
      'letters for an integer',
      'replicas',
      input.integer({ min: 1, max: 100 }),
      'three',
      'an integer from 1 to 100',
    ],
    [
      'a fraction for an integer',
      'replicas',
      input.integer({ min: 1, max: 100 }),
      '3.5',
      'an integer from 1 to 100',
    ],
    [
      'an integer below min',
      'replicas',
      input.integer({ min: 1, max: 100 }),
      '0',
      'an integer from 1 to 100',
    ],
    [
      'an integer above max',
      'replicas',
      input.integer({ min: 1, max: 100 }),
      '101',
      'an integer from 1 to 100',
    ],
    [
      'a huge integer',
      'replicas',
      input.integer({ min: 0 }),
      '99999999999999999999',
      'an integer of at least 0',
    ],
    ['yes for a strict boolean', 'dry-run', input.boolean(), 'yes', 'true or false'],
    ['1 for a strict boolean', 'dry-run', input.boolean(), '1', 'true or false'],
    ['on for a strict boolean', 'auto-rollback', input.boolean(), 'on', 'true or false'],
    ['mixed case for a strict boolean', 'dry-run', input.boolean(), 'tRUE', 'true or false'],
    [
      'an unknown enum value',
      'on-cancel',
      input.enum(['rollback', 'leave']),
      'undo',
      'one of rollback, leave',
    ],
    [
      'an enum value in the wrong case',
      'on-cancel',
      input.enum(['rollback', 'leave']),
      'Rollback',
      'one of rollback, leave',
    ],
    [
      'a bad list item',
      'images',
      input.list({ item: (item) => (item.includes('=') ? undefined : 'container=image') }),
      'web=shop:2, worker',
      'a list separated by commas or newlines of container=image',
    ],
    ['broken YAML', 'checks', input.document(), 'kind: http\nurl: [unclosed', 'a YAML or JSON document'],
    ['broken JSON', 'checks', input.document(), '{"kind": "http"', 'a YAML or JSON document'],
    [
      'a mapping where a list is wanted',
      'checks',
      input.document({ shape: 'list' }),
      'kind: http',
      'a YAML or JSON list',
    ],
    [
      'duplicate YAML keys',
      'annotations',
      input.document({ shape: 'mapping' }),
      'a: 1\na: 2',
      'a YAML or JSON mapping',
    ],
    [
      'text for a URL',
      'prometheus-url',
      input.url(),
      'prometheus:9090',
      'an http or https URL such as https://example.com',
    ],
    [
      'an ftp URL',
      'prometheus-url',
      input.url(),
      'ftp://example.com/x',
      'an http or https URL such as https://example.com',
    ],
    [
      'http where https is required',
      'webhook',
      input.url({ protocols: ['https'] }),
      'http://x.example',
      'an https URL such as https://example.com',
    ],
    [
      'a bad Kubernetes name',
      'namespace',
      kubeName,
      'Shop_Staging',
      'a Kubernetes name (lowercase letters, digits and "-")',
    ],
    [
      'a string failing a custom check',
      'app',
      input.string({ validate: (v) => (v.length > 5 ? 'at most 5 characters' : undefined) }),
      'shopping',
      'at most 5 characters',
    ],
  ])('%s', (_, name, spec, raw, accepted) => {
    const error = errorOf(() => getSettings({ [name]: spec }, { read: reader({ [name]: raw }) }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ input: name, value: raw, accepted });
    expect(error.message).toContain(`Input "${name}" has value ${JSON.stringify(raw)}`);
    expect(error.message).toContain(`expected ${accepted}`);
  });

  it('matches the documented message exactly', () => {
    const error = errorOf(() =>
      getSettings({ timeout: duration }, { read: reader({ timeout: '5 minutes' }) }),
    );
    expect(error.message).toBe(
      'Input "timeout" has value "5 minutes": expected a duration such as 30s, 5m, 1h or 1h30m',
    );
  });

  it('names the line of a YAML error', () => {
    const error = errorOf(() =>
      getSettings({ checks: input.document() }, { read: reader({ checks: '- kind: http\n  url: [x\n- b' }) }),
    );
    expect(error.message).toMatch(
      /Input "checks" has value ".*": line \d+, column \d+: .+; expected a YAML or JSON document/,
    );
  });

  it('reports a missing required input with its accepted form', () => {
    const error = errorOf(() =>
      getSettings({ namespace: { ...kubeName, required: true } }, { read: reader({}) }),
    );
    expect(error.problems[0]).toMatchObject({ input: 'namespace', value: '' });
    expect(error.message).toBe(
      'Input "namespace" is required but was not given: expected a Kubernetes name (lowercase letters, digits and "-")',
    );
  });

  it('lists every problem at once, one per line, in spec order', () => {
    const spec = {
      timeout: input.duration(),
      replicas: input.integer({ max: 5 }),
      'dry-run': input.boolean(),
      strategy: input.enum(['rolling', 'canary']),
      namespace: input.string({ required: true }),
      app: input.string(),
    };
    const read = reader({ timeout: '10', replicas: '6', 'dry-run': 'yes', strategy: 'bluegreen', app: 'ok' });
    const error = errorOf(() => getSettings(spec, { read }));
    expect(error.problems.map((p) => p.input)).toEqual([
      'timeout',
      'replicas',
      'dry-run',
      'strategy',
      'namespace',
    ]);
    expect(error.message.split('\n')).toHaveLength(5);
  });
});

describe('getSettings: secrets', () => {
  const secretValue = 'xoxb-123-very-secret';

  it('masks a secret right after reading it, before anything is validated', () => {
    const events: string[] = [];
    setSecret.mockImplementation((value) => events.push(`mask ${value}`));
    const spec = {
      timeout: input.duration(),
      token: input.secret({ pattern: /^ghs_/, patternDescription: 'a GitHub token (ghs_...)' }),
      replicas: input.integer(),
    };
    const values = { timeout: 'soon', token: secretValue, replicas: 'many' };
    const read = (name: string): string => {
      events.push(`read ${name}`);
      return values[name as keyof typeof values];
    };
    const error = errorOf(() => getSettings(spec, { read }));
    expect(events).toEqual(['read timeout', 'read token', `mask ${secretValue}`, 'read replicas']);
    expect(error.message).not.toContain(secretValue);
    expect(error.message).toContain('Input "token" has value "***": expected a GitHub token (ghs_...)');
    expect(error.problems.find((p) => p.input === 'token')?.value).toBe('***');
  });

  it.each([
    [
      'a secret URL',
      input.url({ secret: true }),
      `not a url ${secretValue}`,
      'an http or https URL such as https://example.com',
    ],
    [
      'a secret list',
      input.list({ secret: true, item: () => 'an ID' }),
      `${secretValue},x`,
      'a list separated by commas or newlines of an ID',
    ],
  ])('never shows %s in the error', (_, spec, raw, accepted) => {
    const error = errorOf(() => getSettings({ hook: spec }, { read: reader({ hook: raw }) }));
    expect(setSecret).toHaveBeenCalledWith(raw);
    expect(error.message).not.toContain(secretValue);
    expect(error.message).toContain('Input "hook" has value "***"');
    expect(error.message).toContain(accepted);
  });

  it.each([
    ['ftp://user:s3cr3tpass@prom.example/p?token=t0kenvalue', '"ftp://prom.example/p"'],
    ['admin:s3cr3tpass@prom.example?token=t0kenvalue', '"(a URL without a host, not shown)"'],
  ])('shows a URL %s without its credentials', (raw, shownValue) => {
    const error = errorOf(() =>
      getSettings({ 'prometheus-url': input.url() }, { read: reader({ 'prometheus-url': raw }) }),
    );
    expect(error.message).toContain(`Input "prometheus-url" has value ${shownValue}`);
    expect(JSON.stringify(error.problems) + error.message).not.toMatch(/s3cr3tpass|t0kenvalue/);
  });

  it('masks a valid secret too, and does not mask an empty one', () => {
    getSettings({ token: input.secret(), other: input.secret() }, { read: reader({ token: secretValue }) });
    expect(setSecret.mock.calls).toEqual([[secretValue]]);
  });
});

describe('getSettings: defaults, explicit inputs and the result', () => {
  const spec = {
    timeout: input.duration({ default: '10m' }),
    'dry-run': input.boolean({ default: false }),
    replicas: input.integer({ default: 3 }),
    images: input.list({ default: ['a', 'b'] }),
    'github-token': input.secret(),
  };

  it('fills defaults, keys settings in camelCase and records what was given', () => {
    const settings = getSettings(spec, { read: reader({ replicas: '5', 'github-token': ' ' }) });
    expect(settings).toEqual({
      timeout: 600_000,
      dryRun: false,
      replicas: 5,
      images: ['a', 'b'],
      githubToken: undefined,
    });
    expect([...explicitInputs(settings)]).toEqual(['replicas']);
    expect(Object.fromEntries(inputSources(settings))).toEqual({
      timeout: { from: 'default' },
      'dry-run': { from: 'default' },
      replicas: { from: 'input' },
      images: { from: 'default' },
      'github-token': { from: 'unset' },
    });
  });

  it('returns frozen settings with frozen lists and documents', () => {
    const settings = getSettings(
      { images: input.list(), doc: input.document() },
      { read: reader({ images: 'a', doc: 'a: {b: 1}' }) },
    );
    expect(Object.isFrozen(settings)).toBe(true);
    expect(Object.isFrozen(settings.images)).toBe(true);
    expect(Object.isFrozen((settings.doc as { a: object }).a)).toBe(true);
  });

  it('infers setting types from the spec', () => {
    const settings = getSettings(
      {
        ...spec,
        strategy: input.enum(['rolling', 'canary'], { default: 'rolling' }),
        namespace: input.string({ required: true }),
        checks: input.document(),
      },
      { read: reader({ namespace: 'shop' }) },
    );
    expectTypeOf(settings.timeout).toEqualTypeOf<number>();
    expectTypeOf(settings.dryRun).toEqualTypeOf<boolean>();
    expectTypeOf(settings.images).toEqualTypeOf<readonly string[]>();
    expectTypeOf(settings.githubToken).toEqualTypeOf<string | undefined>();
    expectTypeOf(settings.strategy).toEqualTypeOf<'rolling' | 'canary'>();
    expectTypeOf(settings.namespace).toEqualTypeOf<string>();
    expectTypeOf(settings.checks).toEqualTypeOf<unknown>();
    expect(settings.strategy).toBe('rolling');
  });

  it('reports an invalid default as the action author’s bug, naming the input', () => {
    const error = errorOf(() =>
      getSettings({ interval: input.duration({ default: '10' }) }, { read: reader({}) }),
    );
    expect(error.message).toContain('Input "interval" has default value "10"');
  });
});

describe('getSettings: rules across inputs', () => {
  const spec = {
    'webhook-url': input.url({ secret: true }),
    token: input.secret(),
    duration: input.duration({ default: '5m' }),
    interval: input.duration({ default: '10s' }),
  };
  const intervalFits = (settings: { duration: number; interval: number }) =>
    settings.interval > settings.duration
      ? { input: 'interval', accepted: 'a duration no longer than "duration"' }
      : undefined;

  it('passes when exactly one of two inputs is given', () => {
    const settings = getSettings(spec, {
      read: reader({ token: 'xoxb-1' }),
      rules: [exactlyOneOf('webhook-url', 'token'), intervalFits],
    });
    expect(settings.token).toBe('xoxb-1');
  });

  it.each([
    ['neither of two', {}, 'webhook-url', 'exactly one of "webhook-url" and "token"'],
    [
      'both of two',
      { 'webhook-url': 'https://hooks.example/x', token: 'xoxb-1' },
      'webhook-url',
      'exactly one of "webhook-url" and "token"',
    ],
    [
      'an interval longer than the duration',
      { token: 't', interval: '10m' },
      'interval',
      'a duration no longer than "duration"',
    ],
  ])('reports %s', (_, values: Record<string, string>, name, accepted) => {
    const error = errorOf(() =>
      getSettings(spec, {
        read: reader(values),
        rules: [exactlyOneOf('webhook-url', 'token'), intervalFits],
      }),
    );
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toMatchObject({ input: name, accepted });
    expect(error.message).toContain(`"${name}"`);
    expect(error.message).toContain(accepted);
    expect(error.message).not.toContain('xoxb-1');
  });

  it('reports at most one of several', () => {
    const error = errorOf(() =>
      getSettings(
        { app: input.string(), deployment: input.string(), selector: input.string() },
        { read: reader({ app: 'a', selector: 's' }), rules: [atMostOneOf('app', 'deployment', 'selector')] },
      ),
    );
    expect(error.message).toBe(
      'Input "app" and "selector" were both given: expected at most one of "app", "deployment" and "selector"',
    );
  });

  it('runs rules only once every input is valid on its own', () => {
    const rule = vi.fn(() => undefined);
    errorOf(() => getSettings(spec, { read: reader({ token: 't', interval: 'often' }), rules: [rule] }));
    expect(rule).not.toHaveBeenCalled();
  });
});

describe('getSettings: paths stay in the workspace', () => {
  const root = mkdtempSync(join(tmpdir(), 'inputs-paths-'));
  const workspace = join(root, 'ws');
  const runnerTemp = join(root, 'temp');
  mkdirSync(join(workspace, 'k8s'), { recursive: true });
  mkdirSync(runnerTemp);
  symlinkSync('/etc', join(workspace, 'etc-link'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const spec = {
    config: input.path({ what: 'a deploy config file', default: '.github/deploy.yml' }),
    'report-path': input.path({ what: 'the report to write', output: true }),
    manifests: input.paths({ what: 'manifest files' }),
  } satisfies InputSpecMap;

  it('resolves paths to absolute ones inside the workspace (or RUNNER_TEMP for an output)', () => {
    vi.stubEnv('RUNNER_TEMP', runnerTemp);
    const settings = getSettings(spec, {
      workspace,
      read: reader({ 'report-path': join(runnerTemp, 'r.json'), manifests: 'k8s/*.yaml, app.yaml' }),
    });
    expect(settings).toEqual({
      config: join(workspace, '.github/deploy.yml'),
      reportPath: join(runnerTemp, 'r.json'),
      manifests: ['k8s/*.yaml', 'app.yaml'],
    });
  });

  it('takes GITHUB_WORKSPACE, else the current directory, as the workspace', () => {
    vi.stubEnv('GITHUB_WORKSPACE', workspace);
    expect(getSettings(spec, { read: reader({}) }).config).toBe(join(workspace, '.github/deploy.yml'));
    vi.stubEnv('GITHUB_WORKSPACE', '');
    expect(getSettings(spec, { read: reader({}) }).config).toBe(join(process.cwd(), '.github/deploy.yml'));
  });

  it('refuses every way out, naming the input, the value and the accepted form', () => {
    vi.stubEnv('RUNNER_TEMP', runnerTemp);
    const error = errorOf(() =>
      getSettings(spec, {
        workspace,
        read: reader({
          config: '../../etc/passwd',
          'report-path': '../../../../tmp/x.json',
          manifests: 'k8s/app.yaml\netc-link/*.conf',
        }),
      }),
    );
    expect(error.problems.map((p) => p.input)).toEqual(['config', 'report-path', 'manifests']);
    expect(error.message.split('\n')).toEqual([
      `Input "config" has value "../../etc/passwd": the path leads out of the workspace (${workspace}) through ".."; expected the path of a deploy config file, relative to the workspace and inside it`,
      `Input "report-path" has value "../../../../tmp/x.json": the path leads out of the workspace (${workspace}) or RUNNER_TEMP (${runnerTemp}) through ".."; expected the path of the report to write, relative to the workspace, and inside it or RUNNER_TEMP`,
      `Input "manifests" has value "k8s/app.yaml\\netc-link/*.conf": item "etc-link/*.conf": the path follows a symbolic link to /etc, outside the workspace (${workspace}); expected a list separated by commas or newlines of manifest files or globs, relative to the workspace and inside it`,
    ]);
  });

  it('refuses an absolute path elsewhere, and an input file under RUNNER_TEMP', () => {
    vi.stubEnv('RUNNER_TEMP', runnerTemp);
    const error = errorOf(() =>
      getSettings(spec, {
        workspace,
        read: reader({ config: join(runnerTemp, 'deploy.yml'), manifests: '/etc/*.yaml' }),
      }),
    );
    expect(error.problems.map((p) => p.message)).toEqual([
      expect.stringContaining(`: the path is outside the workspace (${workspace}); expected`),
      expect.stringContaining(
        `item "/etc/*.yaml": the path is outside the workspace (${workspace}); expected`,
      ),
    ]);
  });
});

describe('getSettings: long values in messages', () => {
  it('shortens a long list item it quotes', () => {
    const spec = {
      lines: input.list({ commas: false, item: (line) => (line.includes('=') ? undefined : 'k=v') }),
    };
    const long = 'x'.repeat(5000);
    const error = errorOf(() => getSettings(spec, { read: reader({ lines: long }) }));
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toContain(`item "${'x'.repeat(100)}…" is not valid`);
  });

  it('puts a validate reason before the accepted form', () => {
    const spec = {
      lines: input.list({
        validate: (items) =>
          items.length > 2 ? { reason: `${items.length} items`, accepted: 'at most 2 items' } : undefined,
      }),
    };
    expect(errorOf(() => getSettings(spec, { read: reader({ lines: 'a,b,c' }) })).message).toBe(
      'Input "lines" has value "a,b,c": 3 items; expected at most 2 items',
    );
  });
});
