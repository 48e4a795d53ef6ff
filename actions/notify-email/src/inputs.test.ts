import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '@cd-actions/core/inputs/errors';
import * as runner from '@cd-actions/core/runner/io';
import { readNotifyEmailSettings } from './inputs.js';

vi.mock('@cd-actions/core/runner/io', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@cd-actions/core/runner/io')>()),
  setSecret: vi.fn(),
  info: vi.fn(),
}));

const PASSWORD = 'hunter2-but-longer';
const BASE = {
  server: 'smtp.example.com',
  username: 'deploy@example.com',
  password: PASSWORD,
  from: 'Deploy Bot <deploy@example.com>',
  to: 'ops@example.com',
  status: 'success',
};

let workspace: string;
beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'notify-email-inputs-'));
});
afterAll(() => rm(workspace, { recursive: true, force: true }));
beforeEach(() => vi.mocked(runner.setSecret).mockReset());

function read(inputs: Record<string, string>) {
  const masked: string[] = [];
  vi.mocked(runner.setSecret).mockImplementation((value) => masked.push(value));
  const run = () =>
    readNotifyEmailSettings({ read: (name) => inputs[name] ?? '', env: { GITHUB_WORKSPACE: workspace } });
  return { run, masked };
}

function problems(inputs: Record<string, string>): string[] {
  try {
    read(inputs).run();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).problems.map((p) => p.message);
  }
  throw new Error('expected an InputError');
}

describe('readNotifyEmailSettings', () => {
  it('reads a notice with its server, login and recipients; masks the password and its base64 forms', () => {
    const { run, masked } = read({
      ...BASE,
      to: 'Ops Team <ops@example.com>, oncall@example.com',
      cc: 'release@example.com',
      bcc: 'audit@example.com\narchive@example.com',
      status: 'Rolled-Back',
      app: 'shop',
      fields: 'region: eu-west-1\nreplicas: 3',
    });
    expect(run()).toEqual({
      server: {
        host: 'smtp.example.com',
        port: 587,
        security: 'starttls',
        auth: { user: 'deploy@example.com', pass: PASSWORD },
      },
      from: { name: 'Deploy Bot', address: 'deploy@example.com' },
      to: [{ name: 'Ops Team', address: 'ops@example.com' }, { address: 'oncall@example.com' }],
      cc: [{ address: 'release@example.com' }],
      bcc: [{ address: 'audit@example.com' }, { address: 'archive@example.com' }],
      status: 'rolled-back',
      app: 'shop',
      fields: [
        ['region', 'eu-west-1'],
        ['replicas', '3'],
      ],
      failOnError: false,
      timeoutMs: 30_000,
    });
    expect(masked.sort()).toEqual(
      [
        PASSWORD,
        Buffer.from(PASSWORD).toString('base64'),
        Buffer.from(`\0deploy@example.com\0${PASSWORD}`).toString('base64'),
      ].sort(),
    );
  });

  it('the port follows security unless given; no login is fine; an IPv6 server loses its brackets', () => {
    const { username: _u, password: _p, ...anonymous } = BASE;
    expect(read({ ...anonymous, security: 'tls' }).run().server).toEqual({
      host: 'smtp.example.com',
      port: 465,
      security: 'tls',
    });
    expect(read({ ...anonymous, server: 'localhost', security: 'none' }).run().server.port).toBe(25);
    expect(read({ ...anonymous, server: '[::1]', security: 'none', port: '2525' }).run().server).toEqual({
      host: '::1',
      port: 2525,
      security: 'none',
    });
  });

  it('a report file is read and summarised while validating', async () => {
    const path = join(workspace, 'gate.json');
    await writeFile(
      path,
      JSON.stringify({ verdict: 'fail', checks: [{ name: 'error-rate', verdict: 'fail' }] }),
    );
    expect(read({ ...BASE, report: 'gate.json' }).run().report).toEqual({
      verdict: 'fail',
      passed: false,
      total: 1,
      failing: [{ name: 'error-rate', verdict: 'fail' }],
    });
  });

  it('lists every bad input at once, naming the input, its value and the accepted form', () => {
    expect(
      problems({
        ...BASE,
        server: 'smtp example com',
        port: '0',
        from: 'deploy at example.com',
        to: 'ops@example.com, Doe, Jane <jane@example.com>',
        subject: 'two\nlines',
        status: 'done',
        timeout: '30',
      }),
    ).toEqual([
      'Input "server" has value "smtp example com": expected a mail server host name such as smtp.example.com, or an IP address',
      'Input "port" has value "0": expected an integer from 1 to 65535',
      'Input "from" has value "deploy at example.com": expected an e-mail address such as ops@example.com or "Ops Team <ops@example.com>"',
      'Input "to" has value "ops@example.com, Doe, Jane <jane@example.com>": item "Doe" is not valid; expected a list separated by commas or newlines of e-mail addresses such as ops@example.com or "Ops Team <ops@example.com>"',
      'Input "subject" has value "two\\nlines": expected one line of at most 250 characters',
      'Input "status" has value "done": expected one of started, success, failure, cancelled, rolled-back',
      'Input "timeout" has value "30": a unit is required (ms, s, m or h); expected a duration such as 30s, 5m, 1h or 1h30m, from 1s to 10m',
    ]);
  });

  it('a username needs a password and the other way round', () => {
    expect(problems({ ...BASE, password: '' })).toEqual([
      'Input "password" is required with "username": expected both "username" and "password" (a server that needs a login), or neither',
    ]);
    const { username: _u, ...withoutUser } = BASE;
    expect(problems(withoutUser)[0]).toContain('Input "username" is required with "password"');
  });

  it('clear text only to this machine', () => {
    expect(problems({ ...BASE, security: 'none' })).toEqual([
      'Input "security" has value "none" with server "smtp.example.com": clear text is allowed only to this machine (localhost, 127.0.0.1, [::1]); expected starttls or tls for smtp.example.com',
    ]);
    expect(read({ ...BASE, server: '127.0.0.1', security: 'none' }).run().server.security).toBe('none');
  });
});
