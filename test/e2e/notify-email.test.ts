/**
 * notify-email end to end: the committed bundle run as the runner runs it, against a real
 * Postfix (packages/sandbox/src/mail/postfix.ts) on loopback ports with STARTTLS and implicit
 * TLS (a test CA the action trusts through NODE_EXTRA_CA_CERTS, as a runner with a private CA
 * would), SASL login, and a maildir per mailbox. What arrived is read back from the maildir and
 * parsed: headers, both parts, escaping. A small TCP proxy in front of the server cuts
 * connections where a test wants them cut; the server's policy service defers with a 4xx.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import {
  startMailServer,
  type DeliveredMessage,
  type MailServer,
} from '../../packages/sandbox/src/mail/postfix.js';

const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';
const FROM = 'Deploy Bot <deploy@example.test>';
let mail: MailServer;
let work: string;
const proxies: Proxy[] = [];

beforeAll(async () => {
  mail = await startMailServer({ mailboxes: ['ops', 'oncall', 'audit', 'release'] });
  work = await mkdtemp(join(tmpdir(), 'notify-email-e2e-'));
});
afterAll(async () => {
  await mail?.stop();
  await rm(work, { recursive: true, force: true });
});
afterEach(async () => {
  mail.policy.clear();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.stop()));
});

/** What a cut connection looks like to the client. */
type Cut =
  | { kind: 'never' }
  /** Reset the first `count` connections as soon as they are accepted, before the greeting. */
  | { kind: 'first'; count: number }
  | { kind: 'always' }
  /** Pass everything until the client has sent `bytes` (the message), then reset instead of passing the server's answer. */
  | { kind: 'after-sent'; bytes: number };

interface Proxy {
  port: number;
  connections: number;
  stop(): Promise<void>;
}

/** A TCP proxy to the mail server that cuts connections (with a reset) as `cut` says; TLS passes through untouched. */
async function startProxy(targetPort: number, cut: Cut): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    return socket;
  };
  const proxy: Proxy = { port: 0, connections: 0, stop: () => Promise.resolve() };
  const server: Server = createServer((client) => {
    track(client);
    proxy.connections += 1;
    if (cut.kind === 'always' || (cut.kind === 'first' && proxy.connections <= cut.count)) {
      client.resetAndDestroy();
      return;
    }
    const upstream = track(netConnect({ host: '127.0.0.1', port: targetPort }));
    let sent = 0;
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (cut.kind === 'after-sent' && sent >= cut.bytes) {
        // The server answered the message: the client never hears it.
        client.resetAndDestroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.stop = () => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  proxies.push(proxy);
  return proxy;
}

async function eventWithCommit(message: string): Promise<string> {
  const path = join(work, `event-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, JSON.stringify({ head_commit: { id: SHA, message } }));
  return path;
}

/** The password, and the base64 forms AUTH LOGIN and AUTH PLAIN put on the wire. */
function secrets(password = mail.password): string[] {
  return [
    password,
    Buffer.from(password).toString('base64'),
    Buffer.from(`\0${mail.user}\0${password}`).toString('base64'),
  ];
}

/** The password never reaches the log, the outputs or the summary; it was masked as it was read. */
function expectNoSecrets(result: ActionResult, password = mail.password): void {
  const seen = [result.log, JSON.stringify(result.outputs), result.summary].join('\n');
  for (const secret of secrets(password)) expect(seen).not.toContain(secret);
  expect(result.masks).toContain(password);
}

async function notify(
  inputs: Record<string, string | undefined>,
  env: Record<string, string | undefined> = {},
): Promise<ActionResult> {
  const result = await runAction({
    action: 'notify-email',
    inputs: {
      server: '127.0.0.1',
      port: String(mail.starttlsPort),
      username: mail.user,
      password: mail.password,
      from: FROM,
      status: 'success',
      ...inputs,
    },
    env: { NODE_EXTRA_CA_CERTS: mail.caFile, ...env },
    cwd: work,
    timeoutMs: 45_000,
  });
  const password = 'password' in inputs ? inputs.password : mail.password;
  if (password) expectNoSecrets(result, password);
  return result;
}

/** Waits for the mailbox to hold `count` messages, then a little longer to be sure no more come. */
async function mailbox(local: string, count: number): Promise<DeliveredMessage[]> {
  await mail.waitForMessages(local, count);
  await new Promise((resolve) => setTimeout(resolve, 300));
  return mail.messages(local);
}

function part(message: DeliveredMessage, type: string): string {
  const found = message.parts.find((p) => p.type === type);
  expect(found, `${type} part`).toBeDefined();
  return found!.body;
}

/** Each tag the HTML part uses: the template's own, never one from an input. */
function tagNames(html: string): Set<string> {
  return new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()));
}

describe('bad inputs fail before any connection', { concurrent: false }, () => {
  const cases: [string, Record<string, string>, string][] = [
    ['clear text to a remote server', { server: 'smtp.example.com', security: 'none' }, 'security'],
    ['a username without a password', { password: '' }, 'password'],
    ['a malformed sender', { from: 'deploy at example.test' }, 'from'],
    [
      'a display name with a comma in a list',
      { to: 'ops@example.test, "Doe, Jane" <jane@example.test>' },
      'to',
    ],
    ['no recipient', { to: '' }, 'to'],
    ['a subject on two lines', { subject: 'Deploy\nBcc: evil@example.test' }, 'subject'],
    ['a port out of range', { port: '70000' }, 'port'],
    ['an unknown security', { security: 'ssl' }, 'security'],
    ['an unknown status', { status: 'succeeded' }, 'status'],
    ['a missing report file', { report: 'no/such/report.json' }, 'report'],
    ['fail-on-error: yes', { 'fail-on-error': 'yes' }, 'fail-on-error'],
  ];

  it.each(cases)('%s: exit 1, names the input, no connection', async (_name, given, input) => {
    const listener = await startProxy(mail.starttlsPort, { kind: 'never' });
    const result = await notify({ to: 'ops@example.test', port: String(listener.port), ...given });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain(`"${input}"`);
    expect(result.errors.join('\n')).not.toContain(mail.password);
    expect(result.outputs).toEqual({});
    expect(listener.connections).toBe(0);
  });
});

describe('delivery through Postfix', () => {
  it('STARTTLS with login: one multipart message per mailbox, headers and both parts right, every input escaped', async () => {
    const report = join(work, 'gate.json');
    await writeFile(
      report,
      JSON.stringify({
        verdict: 'fail',
        checks: [
          { name: 'error-rate<script>', verdict: 'fail', value: 0.12, threshold: 0.05 },
          { name: 'latency-p99', verdict: 'pass', value: 180 },
        ],
        monitoring: {
          alerts: [
            {
              level: 'warning',
              metric: 'latency-p95',
              shownValue: '612.0 ms',
              shownThreshold: '500.0 ms',
              direction: 'above',
            },
            {
              level: 'critical',
              metric: 'error-rate',
              shownValue: '20.00%',
              shownThreshold: '5.00%',
              direction: 'above',
            },
          ],
        },
      }),
    );
    const commitMessage = 'Fix totals </div><a href="javascript:alert(1)">click</a> & "more"';
    const result = await notify(
      {
        to: 'Ops Team <ops@example.test>',
        cc: 'oncall@example.test',
        bcc: 'audit@example.test',
        status: 'failure',
        // A line break in a header value would start a new header: it must not.
        app: 'shop<script>alert(1)</script>\nBcc: release@example.test',
        environment: 'production',
        version: '1.4.2',
        strategy: 'canary',
        text: 'Rolled out by <img src=x onerror=alert(1)> & "friends"',
        fields: 'region: eu-west-1\nowner: "<b>team</b>"',
        report,
      },
      { GITHUB_EVENT_PATH: await eventWithCommit(commitMessage) },
    );
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    const messageId = result.outputs['message-id']!;
    expect(messageId).toMatch(/^<[0-9a-f-]{36}@example\.test>$/);
    expect(result.outputs).toEqual({
      ok: 'true',
      'message-id': messageId,
      accepted: 'ops@example.test,oncall@example.test,audit@example.test',
      rejected: '',
    });

    const [ops] = await mailbox('ops', 1);
    expect(await mailbox('oncall', 1)).toHaveLength(1);
    expect(await mailbox('audit', 1)).toHaveLength(1);
    // The Bcc-looking text in the app input reached nobody.
    expect(await mail.messages('release')).toEqual([]);
    expect(await mailbox('ops', 1)).toHaveLength(1);

    const message = ops!;
    expect(message.header('message-id')).toBe(messageId);
    expect(message.header('from')).toBe('Deploy Bot <deploy@example.test>');
    expect(message.header('to')).toBe('Ops Team <ops@example.test>');
    expect(message.header('cc')).toBe('oncall@example.test');
    expect(message.headers.has('bcc')).toBe(false);
    expect(message.raw).not.toContain('audit@example.test');
    expect(message.header('subject')).toBe(
      '❌ shop<script>alert(1)</script> Bcc: release@example.test 1.4.2 deploy to production failed',
    );
    expect(message.header('auto-submitted')).toBe('auto-generated');
    expect(message.header('mime-version')).toBe('1.0');
    expect(message.header('content-type')).toMatch(/^multipart\/alternative; boundary=/);
    // Postfix's own record: TLS, then ESMTPSA (ESMTP with STARTTLS and a login).
    expect(message.header('received')).toMatch(/\(using TLSv1\.[23] with cipher [^)]+\)/);
    expect(message.header('received')).toContain('with ESMTPSA');
    expect(message.parts.map((p) => p.type)).toEqual(['text/plain', 'text/html']);

    const text = part(message, 'text/plain');
    expect(text).toContain(
      'shop<script>alert(1)</script> Bcc: release@example.test 1.4.2 deploy to production failed',
    );
    expect(text).toContain('Failed check: error-rate<script>');
    expect(text).toContain('Rolled out by <img src=x onerror=alert(1)> & "friends"');
    expect(text).toContain(
      'Environment: production\nVersion: 1.4.2\nStrategy: canary\nregion: eu-west-1\nowner: <b>team</b>',
    );
    expect(text).toContain(
      `Commit 3f78685: https://github.com/acme/shop/commit/${SHA}\n    ${commitMessage}`,
    );
    expect(text).toContain(
      'Gate verdict: fail (1 of 2 checks not passing)\n  - error-rate<script> fail: value 0.12, threshold 0.05',
    );
    expect(text).toContain(
      'Monitoring alerts: 1 critical, 1 warning\n  - critical error-rate 20.00% (threshold > 5.00%)\n  - warning latency-p95 612.0 ms (threshold > 500.0 ms)',
    );
    expect(text).toContain('Run: https://github.com/acme/shop/actions/runs/4242');
    expect(text).toContain('by octocat · acme/shop · deploy #17');

    const html = part(message, 'text/html');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('Rolled out by &lt;img src=x onerror=alert(1)&gt; &amp; &quot;friends&quot;');
    expect(html).toContain('&lt;b&gt;team&lt;/b&gt;');
    expect(html).toContain(
      'Fix totals &lt;/div&gt;&lt;a href=&quot;javascript:alert(1)&quot;&gt;click&lt;/a&gt; &amp; &quot;more&quot;',
    );
    expect(html).toContain('<code>error-rate&lt;script&gt;</code> fail: value 0.12, threshold 0.05');
    expect(html).toContain('<strong>critical</strong> <code>error-rate</code> 20.00% (threshold &gt; 5.00%)');
    const template = [
      'a',
      'body',
      'br',
      'code',
      'div',
      'h1',
      'head',
      'html',
      'li',
      'meta',
      'p',
      'span',
      'strong',
      'table',
      'td',
      'title',
      'tr',
      'ul',
    ];
    for (const tag of tagNames(html)) expect(template).toContain(tag);
    const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]);
    expect(hrefs.sort()).toEqual(
      [`https://github.com/acme/shop/commit/${SHA}`, 'https://github.com/acme/shop/actions/runs/4242'].sort(),
    );

    expect(result.summary).toContain('### E-mail notice');
    expect(result.summary).toContain('| Delivered | yes |');
    expect(result.summary).toContain(`| Message-ID | \`${messageId}\` |`);
    expect(result.log).toContain(
      `Sending the failure notice by e-mail through 127.0.0.1:${mail.starttlsPort} (starttls) to 3 recipient(s)`,
    );
    expect(result.log).toContain('after 1 attempt(s)');
  });

  it('implicit TLS (security: tls) by host name, checked against the test CA', async () => {
    const result = await notify({
      server: 'localhost',
      port: String(mail.tlsPort),
      security: 'tls',
      to: 'release@example.test',
      app: 'shop',
      version: '2.0.0',
      environment: 'staging',
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.ok).toBe('true');
    const [message] = await mailbox('release', 1);
    expect(message!.header('subject')).toBe('✅ shop 2.0.0 deployed to staging');
    expect(message!.header('received')).toMatch(/\(using TLSv1\.[23] with cipher /);
    expect(message!.header('received')).toContain('with ESMTPSA');
    expect(message!.header('message-id')).toBe(result.outputs['message-id']);
  });

  it('a certificate the runner does not trust: a clear error, nothing sent, no retry', async () => {
    const result = await notify(
      { port: String(mail.tlsPort), security: 'tls', to: 'ops@example.test', 'fail-on-error': 'true' },
      { NODE_EXTRA_CA_CERTS: undefined },
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain("the server's TLS certificate is not trusted");
    expect(result.errors.join('\n')).toContain('NODE_EXTRA_CA_CERTS');
    expect(result.log).not.toContain('retrying');
    expect(result.outputs.ok).toBe('false');
  });
});

describe('failures give a clear error', () => {
  it('a wrong password: the login is refused once (no retry), exit 1, the password nowhere', async () => {
    const wrong = 'not-the-password-42';
    const before = (await mail.messages('ops')).length;
    const result = await notify({ password: wrong, to: 'ops@example.test', 'fail-on-error': 'true' });
    expect(result.exitCode).toBe(1);
    const error = result.errors.join('\n');
    expect(error).toContain(`the server refused the login of "${mail.user}" (535 5.7.8`);
    expect(error).toContain('check the username and password inputs');
    expect(result.log).not.toContain('retrying');
    expect(result.outputs).toEqual({
      ok: 'false',
      'message-id': result.outputs['message-id'],
      accepted: '',
      rejected: 'ops@example.test',
    });
    expect(result.summary).toContain('| Delivered | no |');
    expect(await mail.messages('ops')).toHaveLength(before);
    expect(await mail.log()).toContain('SASL PLAIN authentication failed');
  });

  it('a refused recipient: the others get it once, the error names who was refused and why', async () => {
    const before = (await mail.messages('ops')).length;
    const result = await notify({
      to: 'ops@example.test, nobody@example.test',
      'fail-on-error': 'true',
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toContain(
      'refused 1 of 2 recipient(s): nobody@example.test (550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown in virtual mailbox table). It was delivered to ops@example.test.',
    );
    expect(result.outputs).toMatchObject({
      ok: 'false',
      accepted: 'ops@example.test',
      rejected: 'nobody@example.test',
    });
    expect(result.summary).toContain('| Delivered | partly: to ops@example.test |');
    expect(await mailbox('ops', before + 1)).toHaveLength(before + 1);
  });

  it('fail-on-error false: a refused recipient is a warning, exit 0, ok=false', async () => {
    const result = await notify({ to: 'nobody@example.test' });
    expect(result.exitCode).toBe(0);
    expect(result.errors).toEqual([]);
    expect(result.warnings.join('\n')).toContain('refused 1 of 1 recipient(s): nobody@example.test (550');
    expect(result.warnings.join('\n')).toContain('fail-on-error is false');
    expect(result.outputs.ok).toBe('false');
  });

  it('a server that drops every connection: retried until the deadline, then a clear error', async () => {
    const proxy = await startProxy(mail.starttlsPort, { kind: 'always' });
    const result = await notify({
      port: String(proxy.port),
      to: 'ops@example.test',
      timeout: '3s',
      'fail-on-error': 'true',
    });
    expect(result.exitCode).toBe(1);
    const error = result.errors.join('\n');
    expect(error).toContain(
      `The mail server 127.0.0.1:${proxy.port} did not take the message within the 3s deadline`,
    );
    expect(error).toMatch(
      /last failure: the connection to 127\.0\.0\.1:\d+ failed \((ECONNRESET|ECONNECTION)/,
    );
    expect(proxy.connections).toBeGreaterThan(1);
    expect(result.durationMs).toBeLessThan(15_000);
  });

  it('a connection reset before the message went out: retried, delivered once', async () => {
    const before = (await mail.messages('oncall')).length;
    const proxy = await startProxy(mail.starttlsPort, { kind: 'first', count: 1 });
    const result = await notify({ port: String(proxy.port), to: 'oncall@example.test' });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.log).toMatch(/E-mail attempt 1 failed \(the connection to 127\.0\.0\.1:\d+ failed/);
    expect(result.log).toContain('after 2 attempt(s)');
    expect(proxy.connections).toBe(2);
    expect(await mailbox('oncall', before + 1)).toHaveLength(before + 1);
  });

  it('a reset after the whole message went out: not sent again, the error says it may have been delivered', async () => {
    const before = (await mail.messages('ops')).length;
    const proxy = await startProxy(mail.tlsPort, { kind: 'after-sent', bytes: 40_000 });
    const result = await notify({
      port: String(proxy.port),
      security: 'tls',
      to: 'ops@example.test',
      // A body far larger than the handshake and envelope, so the proxy knows when it is out.
      text: 'release notes '.repeat(4000),
      'fail-on-error': 'true',
    });
    expect(result.exitCode).toBe(1);
    const error = result.errors.join('\n');
    expect(error).toContain('The message may have been delivered: the connection was lost');
    expect(error).toContain('It was not sent again, to avoid delivering it twice');
    expect(result.log).not.toContain('retrying');
    expect(proxy.connections).toBe(1);
    expect(result.summary).toContain('| Delivered | maybe (the answer was lost; not sent again) |');
    // The server did take it: exactly one copy, never two.
    expect(await mailbox('ops', before + 1)).toHaveLength(before + 1);
  });

  it('a 4xx (greylisting) for one recipient: retried for that recipient only, each gets exactly one copy', async () => {
    const ops = (await mail.messages('ops')).length;
    const oncall = (await mail.messages('oncall')).length;
    mail.policy.deferRecipient('oncall@example.test', 1);
    const result = await notify({ to: 'ops@example.test', cc: 'oncall@example.test' });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.log).toContain(
      'E-mail attempt 1 failed (the server deferred oncall@example.test (450 4.2.0 <oncall@example.test>: Recipient address rejected: greylisted, try again shortly))',
    );
    expect(result.log).toContain('after 2 attempt(s)');
    expect(result.outputs).toMatchObject({ ok: 'true', accepted: 'ops@example.test,oncall@example.test' });
    // The second envelope named only the deferred recipient.
    const asked = mail.policy.requests.filter((r) => r.state === 'RCPT').map((r) => r.recipient);
    expect(asked).toEqual(['ops@example.test', 'oncall@example.test', 'oncall@example.test']);
    expect(await mailbox('ops', ops + 1)).toHaveLength(ops + 1);
    expect(await mailbox('oncall', oncall + 1)).toHaveLength(oncall + 1);
  });

  it('a 4xx at the end of the message: the server kept nothing, so it is sent again, once', async () => {
    const before = (await mail.messages('release')).length;
    mail.policy.deferMessage(1);
    const result = await notify({ to: 'release@example.test' });
    expect(result.exitCode).toBe(0);
    expect(result.log).toContain('E-mail attempt 1 failed (the server deferred the message (451 4.3.0');
    expect(await mailbox('release', before + 1)).toHaveLength(before + 1);
  });
});
