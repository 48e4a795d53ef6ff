/**
 * The retry rule of sendEmail against scripted sessions: what is repeated, for whom, and what
 * never is. The real server (Postfix) meets the same cases in test/e2e/notify-email.test.ts.
 */
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { NodemailerError } from 'nodemailer/lib/errors';
import type { SmtpServer } from './settings.js';
import {
  EmailDeliveryError,
  sendEmail,
  type SendReport,
  type SmtpConnect,
  type SmtpSession,
} from './smtp.js';

const SERVER: SmtpServer = {
  host: 'smtp.example.com',
  port: 587,
  security: 'starttls',
  auth: { user: 'deploy', pass: 'pw' },
};

function smtpError(code: string, response?: string, extra: Partial<NodemailerError> = {}): NodemailerError {
  const error = new Error(response ? `failed: ${response}` : `failed (${code})`) as NodemailerError;
  error.code = code;
  if (response) {
    error.response = response;
    error.responseCode = Number(response.slice(0, 3));
  }
  return Object.assign(error, extra);
}

function rejected(address: string, response: string): NodemailerError {
  return smtpError('EENVELOPE', response, { recipient: address, command: 'RCPT TO' });
}

/** What one attempt does: fail to open, or open and answer the send (after reading the message, or not). */
type Script =
  | { open: NodemailerError }
  | { send: (recipients: string[]) => SendReport | NodemailerError; readsMessage?: boolean }
  | { hangAfterMessage: true };

interface Recorded {
  connect: SmtpConnect;
  envelopes: string[][];
  closed: number;
}

function scripted(...scripts: Script[]): Recorded {
  const recorded: Recorded = { envelopes: [], closed: 0, connect: undefined as unknown as SmtpConnect };
  let n = 0;
  recorded.connect = (_server, signal) => {
    const script = scripts[Math.min(n++, scripts.length - 1)]!;
    if ('open' in script) return Promise.reject(script.open);
    const session: SmtpSession = {
      async send(_from: string, recipients: string[], message: Readable) {
        recorded.envelopes.push(recipients);
        if ('hangAfterMessage' in script) {
          for await (const _chunk of message) void _chunk;
          return new Promise<SendReport>((_resolve, reject) =>
            signal.addEventListener('abort', () => reject(smtpError('ECONNECTION')), { once: true }),
          );
        }
        if (script.readsMessage !== false) for await (const _chunk of message) void _chunk;
        const answer = script.send(recipients);
        if (answer instanceof Error) throw answer;
        return answer;
      },
      close: () => {
        recorded.closed += 1;
      },
    };
    return Promise.resolve(session);
  };
  return recorded;
}

const accept = (recipients: string[]): SendReport => ({ accepted: recipients, rejectedErrors: [] });

async function send(recorded: Recorded, recipients = ['ops@example.com'], deadlineMs = 5000) {
  const retries: string[] = [];
  const result = await sendEmail({
    server: SERVER,
    from: 'deploy@example.com',
    recipients,
    raw: Buffer.from('Subject: hi\r\n\r\nhello\r\n'),
    deadlineMs,
    baseDelayMs: 5,
    connect: recorded.connect,
    onRetry: (_attempt, _delay, reason) => retries.push(reason),
  });
  return { result, retries };
}

async function failure(
  recorded: Recorded,
  recipients?: string[],
  deadlineMs?: number,
): Promise<EmailDeliveryError> {
  const error = await send(recorded, recipients, deadlineMs).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(EmailDeliveryError);
  return error as EmailDeliveryError;
}

describe('sendEmail', () => {
  it('a connection lost before the message went out is retried', async () => {
    const recorded = scripted(
      { open: smtpError('ECONNECTION', undefined, { message: 'Connection closed unexpectedly' }) },
      { send: accept },
    );
    const { result, retries } = await send(recorded);
    expect(result).toEqual({ accepted: ['ops@example.com'], attempts: 2 });
    expect(retries).toEqual([
      'the connection to smtp.example.com:587 failed (ECONNECTION: Connection closed unexpectedly)',
    ]);
  });

  it('a reset while the envelope is being sent is retried: the server has no message yet', async () => {
    const recorded = scripted(
      { send: () => smtpError('ESOCKET', undefined, { originalCode: 'ECONNRESET' }), readsMessage: false },
      { send: accept },
    );
    expect((await send(recorded)).result.attempts).toBe(2);
  });

  it('a reset after the whole message went out is not retried: it may have been delivered', async () => {
    const recorded = scripted(
      {
        send: () =>
          smtpError('ESOCKET', undefined, { originalCode: 'ECONNRESET', message: 'read ECONNRESET' }),
      },
      { send: accept },
    );
    const error = await failure(recorded);
    expect(recorded.envelopes).toHaveLength(1);
    expect(error.maybeDelivered).toBe(true);
    expect(error.message).toBe(
      "The message may have been delivered: the connection was lost (ECONNRESET: read ECONNRESET) after the whole message was handed to the connection and before the server answered. It was not sent again, to avoid delivering it twice; check the recipients' mailboxes.",
    );
  });

  it('recipients are settled one by one: only a deferred one is in the next envelope', async () => {
    const recorded = scripted(
      {
        send: () => ({
          accepted: ['ops@example.com'],
          rejectedErrors: [rejected('oncall@example.com', '450 4.2.0 greylisted')],
        }),
      },
      { send: accept },
    );
    const { result, retries } = await send(recorded, ['ops@example.com', 'oncall@example.com']);
    expect(recorded.envelopes).toEqual([['ops@example.com', 'oncall@example.com'], ['oncall@example.com']]);
    expect(result.accepted).toEqual(['ops@example.com', 'oncall@example.com']);
    expect(retries).toEqual(['the server deferred oncall@example.com (450 4.2.0 greylisted)']);
  });

  it('a recipient refused for good is not retried; the others still get it, and the error says who did not', async () => {
    const recorded = scripted({
      send: () => ({
        accepted: ['ops@example.com'],
        rejectedErrors: [rejected('nobody@example.com', '550 5.1.1 User unknown')],
      }),
    });
    const error = await failure(recorded, ['ops@example.com', 'nobody@example.com']);
    expect(recorded.envelopes).toHaveLength(1);
    expect(error.accepted).toEqual(['ops@example.com']);
    expect(error.rejected).toEqual([{ address: 'nobody@example.com', reply: '550 5.1.1 User unknown' }]);
    expect(error.message).toBe(
      'The mail server smtp.example.com:587 refused 1 of 2 recipient(s): nobody@example.com (550 5.1.1 User unknown). It was delivered to ops@example.com.',
    );
  });

  it('every recipient refused (nodemailer throws): settled per recipient the same way', async () => {
    const all = smtpError('EENVELOPE', '550 5.1.1 User unknown', {
      rejectedErrors: [rejected('nobody@example.com', '550 5.1.1 User unknown')],
    });
    const error = await failure(scripted({ send: () => all }), ['nobody@example.com']);
    expect(error.accepted).toEqual([]);
    expect(error.rejected.map((r) => r.address)).toEqual(['nobody@example.com']);
  });

  it('a 4xx at the end of the message sends it again to the same recipients; a 5xx does not', async () => {
    const deferred = scripted(
      { send: () => smtpError('EMESSAGE', '451 4.3.0 try again', { command: 'DATA' }) },
      { send: accept },
    );
    expect((await send(deferred)).retries).toEqual(['the server deferred the message (451 4.3.0 try again)']);
    expect(deferred.envelopes).toEqual([['ops@example.com'], ['ops@example.com']]);

    const refused = scripted({ send: () => smtpError('EMESSAGE', '554 5.7.1 spam', { command: 'DATA' }) });
    const error = await failure(refused);
    expect(refused.envelopes).toHaveLength(1);
    expect(error.message).toBe(
      'Could not send the e-mail through smtp.example.com:587: the server refused the message (554 5.7.1 spam).',
    );
  });

  it('a refused login is final; a temporary one (454) is retried', async () => {
    const refused = scripted({
      open: smtpError('EAUTH', '535 5.7.8 authentication failed', { command: 'AUTH PLAIN' }),
    });
    const error = await failure(refused);
    expect(error.message).toBe(
      'Could not send the e-mail through smtp.example.com:587: the server refused the login of "deploy" (535 5.7.8 authentication failed); check the username and password inputs.',
    );
    expect(error.rejected).toEqual([
      { address: 'ops@example.com', reply: expect.stringContaining('535 5.7.8') as string },
    ]);

    const temporary = scripted(
      { open: smtpError('EAUTH', '454 4.7.0 try later', { command: 'AUTH PLAIN' }) },
      { send: accept },
    );
    expect((await send(temporary)).result.attempts).toBe(2);
  });

  it('an untrusted certificate or a server without STARTTLS is final, with what to do', async () => {
    const certificate = await failure(
      scripted({
        open: smtpError('ESOCKET', undefined, {
          originalCode: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
          message: 'unable to verify the first certificate',
        }),
      }),
    );
    expect(certificate.message).toContain(
      "the server's TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    );
    expect(certificate.message).toContain('NODE_EXTRA_CA_CERTS');

    const noStarttls = await failure(
      scripted({ open: smtpError('ETLS', '502 5.5.1 command not implemented', { command: 'STARTTLS' }) }),
    );
    expect(noStarttls.message).toContain(
      'the server does not offer STARTTLS (502 5.5.1 command not implemented); use security: tls',
    );
  });

  it('gives up at the deadline, saying what the last attempt met and who did not get it', async () => {
    const recorded = scripted({
      send: () => ({
        accepted: [],
        rejectedErrors: [rejected('oncall@example.com', '450 4.2.0 greylisted')],
      }),
    });
    const error = await failure(recorded, ['oncall@example.com'], 300);
    expect(error.message).toMatch(
      /^The mail server smtp\.example\.com:587 did not take the message within the 300ms deadline \(\d+ attempt\(s\); last failure: the server deferred oncall@example\.com \(450 4\.2\.0 greylisted\)\)\. Raise timeout to keep trying longer\.$/,
    );
    expect(error.rejected).toEqual([{ address: 'oncall@example.com', reply: '450 4.2.0 greylisted' }]);
    expect(error.maybeDelivered).toBe(false);
    expect(recorded.closed).toBe(recorded.envelopes.length);
  });

  it('a deadline that cuts off an attempt after the message went out: may have been delivered', async () => {
    const error = await failure(scripted({ hangAfterMessage: true }), undefined, 300);
    expect(error.maybeDelivered).toBe(true);
    expect(error.message).toContain(
      'The last attempt was cut off after the whole message was sent and before the server answered: if the server took it, it is delivered.',
    );
  });
});
