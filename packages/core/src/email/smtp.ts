/**
 * Delivering one message over SMTP, with core's one retry policy (net/retry.ts) and the rule
 * that decides what may be repeated: an attempt is repeated only when the server cannot have
 * taken the message for anyone it is repeated for.
 *
 * - A 4xx reply (greylisting, a busy server, a temporary auth failure) and a connection lost
 *   before the end of the message was sent are transient: the server discards an unfinished
 *   transaction, so trying again delivers nothing twice.
 * - Recipients are settled one by one: those a server accepted are never sent to again; only
 *   those it deferred with a 4xx are in the next attempt's envelope.
 * - Once the whole message (with its terminating dot) is out, a lost connection is not retried:
 *   the server may have queued it and its answer was lost (RFC 1047), so the error says the
 *   message may have been delivered.
 * - 5xx replies, a refused login and an untrusted certificate are final.
 *
 * nodemailer's SMTPConnection does the protocol; it is imported when the first connection opens,
 * so nothing of it loads before the inputs are valid.
 */
import { Readable } from 'node:stream';
import type { NodemailerError } from 'nodemailer/lib/errors';
import { formatDuration } from '../inputs/duration.js';
import { RetryDeadlineError, withRetry, type RetryDecision } from '../net/retry.js';
import type { SmtpServer } from './settings.js';

/** What the server said about one send: who it took the message for, and who it refused how. */
export interface SendReport {
  accepted: string[];
  rejectedErrors: NodemailerError[];
}

/** An open, authenticated SMTP session. */
export interface SmtpSession {
  /** Sends `message` to `recipients`; rejects with nodemailer's error when the server or the connection fails. */
  send(from: string, recipients: string[], message: Readable): Promise<SendReport>;
  close(): void;
}

/** Opens a session (connect, TLS, EHLO, AUTH); closes it when `signal` aborts. */
export type SmtpConnect = (server: SmtpServer, signal: AbortSignal) => Promise<SmtpSession>;

export interface SendRequest {
  server: SmtpServer;
  from: string;
  /** Envelope recipients (to, cc and bcc), each once. */
  recipients: string[];
  /** The whole message as sent on every attempt, with the same Message-ID. */
  raw: Buffer;
  deadlineMs: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** Tests: shorter backoff, another transport. */
  baseDelayMs?: number;
  connect?: SmtpConnect;
}

export interface SendResult {
  accepted: string[];
  attempts: number;
}

/** One recipient the server would not take, with its reply. */
export interface RefusedRecipient {
  address: string;
  reply: string;
}

/** Delivery failed (for some recipients or all); the message says why and what to do, without secrets. */
export class EmailDeliveryError extends Error {
  override readonly name = 'EmailDeliveryError';
  constructor(
    message: string,
    readonly accepted: string[],
    /** Refused for good, or still deferred when delivery gave up. */
    readonly rejected: RefusedRecipient[],
    readonly attempts: number,
    options?: { cause?: unknown; maybeDelivered?: boolean },
  ) {
    super(message, { cause: options?.cause });
    this.maybeDelivered = options?.maybeDelivered ?? false;
  }
  /** The whole message went out and the server's answer was lost: it may have been delivered. */
  readonly maybeDelivered: boolean;
}

/** One attempt's failure, already judged: whether another attempt may succeed, in plain words. */
class AttemptFailure extends Error {
  override readonly name = 'AttemptFailure';
  constructor(
    message: string,
    readonly transient: boolean,
    options?: { cause?: unknown; maybeDelivered?: boolean },
  ) {
    super(message, { cause: options?.cause });
    this.maybeDelivered = options?.maybeDelivered ?? false;
  }
  readonly maybeDelivered: boolean;
}

/** Where an attempt was when it failed. `sent`: the end of the message is out, no answer yet. */
type Stage = 'session' | 'envelope' | 'sent';

/** Node's codes for a certificate the client does not trust: no retry makes it trusted. */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Network failures every attempt would meet again: an unknown host, a TLS protocol mismatch. */
const FINAL_NETWORK_CODES = new Set(['ENOTFOUND', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER']);

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, originalCode } = e as { code?: unknown; originalCode?: unknown };
    if (typeof code === 'string') codes.push(code);
    if (typeof originalCode === 'string') codes.push(originalCode);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** The server's reply as it gave it, else nodemailer's words for the failure. */
function replyOf(err: NodemailerError): string {
  return (err.response ?? err.message).replace(/\s+/g, ' ').trim();
}

function where(server: SmtpServer): string {
  return `${server.host}:${server.port}`;
}

/** What to check when the two ends disagree on when TLS starts. */
function securityHint(server: SmtpServer): string {
  return server.security === 'tls'
    ? `with security: tls the server must start TLS at once (port 465); a port that greets in plain text first (587, 25) needs security: starttls`
    : `with security: ${server.security} the server must greet in plain text first (port 587 or 25); a port that wants TLS from the first byte (465) needs security: tls`;
}

/** Judges one attempt's failure (never a recipient's: those are settled one by one). */
function judge(err: unknown, stage: Stage, server: SmtpServer): AttemptFailure {
  if (err instanceof AttemptFailure) return err;
  const e = (err ?? {}) as NodemailerError;
  const codes = codesOf(e);
  const status = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const reply = replyOf(e);
  if (status !== undefined && status >= 400) {
    const transient = status < 500;
    if (e.code === 'EAUTH')
      return new AttemptFailure(
        transient
          ? `the server could not check the login now (${reply})`
          : `the server refused the login of "${server.auth?.user ?? ''}" (${reply}); check the username and password inputs`,
        transient,
        { cause: err },
      );
    if (e.command === 'STARTTLS')
      return new AttemptFailure(
        transient
          ? `the server could not start TLS now (${reply})`
          : `the server does not offer STARTTLS (${reply}); use security: tls if it takes TLS from the start (port 465)`,
        transient,
        { cause: err },
      );
    if (e.command === 'MAIL FROM')
      return new AttemptFailure(
        `the server ${transient ? 'deferred' : 'refused'} the sender (${reply})`,
        transient,
        {
          cause: err,
        },
      );
    const what =
      stage === 'sent' || e.code === 'EMESSAGE' || e.command === 'DATA' ? 'the message' : 'the session';
    return new AttemptFailure(
      `the server ${transient ? 'deferred' : 'refused'} ${what} (${reply})`,
      transient,
      {
        cause: err,
      },
    );
  }
  const certificate = codes.find((code) => CERTIFICATE_CODES.has(code));
  if (certificate)
    return new AttemptFailure(
      `the server's TLS certificate is not trusted (${certificate}: ${e.message}); a private CA's certificate can be added with NODE_EXTRA_CA_CERTS`,
      false,
      { cause: err },
    );
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH')
    return new AttemptFailure(`the login failed (${reply})`, false, { cause: err });
  if (codes.includes('ERR_SSL_WRONG_VERSION_NUMBER') || /wrong version number/i.test(e.message))
    return new AttemptFailure(`the server did not answer in TLS; ${securityHint(server)}`, false, {
      cause: err,
    });
  if (e.timeoutType === 'GREETING_TIMEOUT')
    return new AttemptFailure(`the server sent no greeting (${e.message}); ${securityHint(server)}`, true, {
      cause: err,
    });
  const network =
    codes.find((code) => code !== 'ECONNECTION' && code !== 'ESOCKET' && code !== 'ETLS') ??
    e.code ??
    'error';
  if (stage === 'sent')
    return new AttemptFailure(
      `the connection was lost (${network}: ${e.message}) after the whole message was handed to the connection and before the server answered`,
      false,
      { cause: err, maybeDelivered: true },
    );
  const known = [
    'ECONNECTION',
    'ESOCKET',
    'ETIMEDOUT',
    'ETLS',
    'EDNS',
    'ECONNRESET',
    'ECONNREFUSED',
    'EPIPE',
  ];
  if (codes.some((code) => known.includes(code)) && !codes.some((code) => FINAL_NETWORK_CODES.has(code)))
    return new AttemptFailure(`the connection to ${where(server)} failed (${network}: ${e.message})`, true, {
      cause: err,
    });
  return new AttemptFailure(`${e.message || String(err)}`, false, { cause: err });
}

function classify(err: unknown): RetryDecision {
  if (err instanceof AttemptFailure) return { retry: err.transient, reason: err.message };
  if (err instanceof Error && err.name === 'AbortError') return { retry: false, reason: 'aborted' };
  return { retry: false, reason: err instanceof Error ? err.message : String(err) };
}

/** Who is still to get the message, and what happened to the others so far. */
class Recipients {
  readonly accepted: string[] = [];
  readonly refused: RefusedRecipient[] = [];
  /** Deferred with a 4xx so far (address → last reply): in the next attempt's envelope. */
  readonly deferred = new Map<string, string>();
  private readonly pendingSet: Set<string>;

  constructor(recipients: string[]) {
    this.pendingSet = new Set(recipients);
  }

  get pending(): string[] {
    return [...this.pendingSet];
  }

  /** Settles what the server said per recipient; returns the deferred ones' replies. */
  settle(accepted: string[], rejected: NodemailerError[]): string[] {
    for (const address of accepted) {
      this.pendingSet.delete(address);
      this.deferred.delete(address);
      this.accepted.push(address);
    }
    const deferredNow: string[] = [];
    for (const error of rejected) {
      const address = error.recipient ?? '';
      const reply = replyOf(error);
      if (typeof error.responseCode === 'number' && error.responseCode >= 400 && error.responseCode < 500) {
        this.deferred.set(address, reply);
        deferredNow.push(`${address} (${reply})`);
      } else {
        this.pendingSet.delete(address);
        this.deferred.delete(address);
        this.refused.push({ address, reply });
      }
    }
    return deferredNow;
  }

  /** Everyone not delivered to: refused, and those still pending with their last reply. */
  notDelivered(lastFailure: string): RefusedRecipient[] {
    return [
      ...this.refused,
      ...this.pending.map((address) => ({ address, reply: this.deferred.get(address) ?? lastFailure })),
    ];
  }
}

function list(recipients: RefusedRecipient[]): string {
  return recipients.map((r) => `${r.address} (${r.reply})`).join(', ');
}

/**
 * Sends `raw` to every recipient, retrying what is safe to retry until `deadlineMs`. Resolves
 * when every recipient accepted the message; otherwise throws EmailDeliveryError saying who got
 * it, who did not and why.
 */
export async function sendEmail(request: SendRequest): Promise<SendResult> {
  const { server } = request;
  const connect = request.connect ?? nodemailerConnect;
  const recipients = new Recipients(request.recipients);
  const progress: Progress = { attempts: 0, lastFailure: '' };

  const attempt = async (signal: AbortSignal): Promise<void> => {
    let session: SmtpSession | undefined;
    progress.current = 'session';
    try {
      session = await connect(server, signal);
      progress.current = 'envelope';
      const message = Readable.from([request.raw], { objectMode: false });
      // The stream ends once the DATA stream has all of it; the terminating dot goes right after.
      message.once('end', () => {
        progress.current = 'sent';
      });
      let report: SendReport;
      try {
        report = await session.send(request.from, recipients.pending, message);
      } catch (err) {
        const e = err as NodemailerError;
        // Every recipient refused: the error carries the per-recipient replies.
        if (e.code !== 'EENVELOPE' || !Array.isArray(e.rejectedErrors) || e.rejectedErrors.length === 0)
          throw err;
        report = { accepted: [], rejectedErrors: e.rejectedErrors };
      }
      progress.current = undefined;
      const deferred = recipients.settle(report.accepted, report.rejectedErrors);
      if (deferred.length > 0) throw new AttemptFailure(`the server deferred ${deferred.join(', ')}`, true);
    } catch (err) {
      // Cut off by the deadline or a cancel: `current` stays, to say where.
      if (signal.aborted) throw err;
      const failure = judge(err, progress.current ?? 'envelope', server);
      progress.current = undefined;
      progress.lastFailure = failure.message;
      throw failure;
    } finally {
      session?.close();
    }
  };

  try {
    await withRetry(
      async (n, signal) => {
        progress.attempts = n;
        await attempt(signal);
      },
      {
        deadlineMs: request.deadlineMs,
        maxAttempts: 8,
        ...(request.baseDelayMs !== undefined ? { baseDelayMs: request.baseDelayMs } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        classify,
        onRetry: (info) => request.onRetry?.(info.attempt, info.delayMs, info.reason),
      },
    );
  } catch (err) {
    throw deliveryError(err, request, recipients, progress);
  }
  if (recipients.refused.length > 0) {
    throw new EmailDeliveryError(
      `The mail server ${where(server)} refused ${recipients.refused.length} of ${request.recipients.length} recipient(s): ${list(recipients.refused)}.${deliveredTo(recipients)}`,
      recipients.accepted,
      recipients.refused,
      progress.attempts,
    );
  }
  return { accepted: recipients.accepted, attempts: progress.attempts };
}

/** How far delivery got: attempts made, the last judged failure, and the stage of an attempt still in flight. */
interface Progress {
  attempts: number;
  lastFailure: string;
  current?: Stage;
}

function deliveredTo(recipients: Recipients): string {
  return recipients.accepted.length > 0 ? ` It was delivered to ${recipients.accepted.join(', ')}.` : '';
}

/** Where an attempt the deadline or a cancel cut off was, in words. */
function cutOff(stage: Stage, server: SmtpServer): string {
  switch (stage) {
    case 'session':
      return `before the server greeted or finished TLS (${securityHint(server)})`;
    case 'envelope':
      return 'while the server was taking the envelope';
    case 'sent':
      return 'after the whole message was sent and before the server answered: if the server took it, it is delivered';
  }
}

function deliveryError(
  err: unknown,
  request: SendRequest,
  recipients: Recipients,
  progress: Progress,
): EmailDeliveryError {
  const server = where(request.server);
  const delivered = deliveredTo(recipients);
  const notDelivered = recipients.notDelivered(progress.lastFailure || 'not sent');
  const { attempts, current } = progress;
  const cut =
    current === undefined ? '' : ` The last attempt was cut off ${cutOff(current, request.server)}.`;
  const maybeDelivered = current === 'sent';
  if (err instanceof AttemptFailure && err.maybeDelivered) {
    return new EmailDeliveryError(
      `The message may have been delivered: ${err.message}. It was not sent again, to avoid delivering it twice; check the recipients' mailboxes.${delivered}`,
      recipients.accepted,
      notDelivered,
      attempts,
      { cause: err, maybeDelivered: true },
    );
  }
  if (err instanceof RetryDeadlineError) {
    return new EmailDeliveryError(
      `The mail server ${server} did not take the message within the ${formatDuration(request.deadlineMs)} deadline ` +
        `(${err.attempts} attempt(s); last failure: ${progress.lastFailure || 'none'}).${delivered}${cut} Raise timeout to keep trying longer.`,
      recipients.accepted,
      notDelivered,
      err.attempts,
      { cause: err, maybeDelivered },
    );
  }
  const retried = attempts > 1 ? ` (attempt ${attempts})` : '';
  const why = err instanceof Error ? err.message : String(err);
  // A judged failure, or a cancel by the runner.
  return new EmailDeliveryError(
    `Could not send the e-mail through ${server}${retried}: ${why}.${delivered}${err instanceof AttemptFailure ? '' : cut}`,
    recipients.accepted,
    notDelivered,
    attempts,
    { cause: err, maybeDelivered },
  );
}

/** Opens a session with nodemailer's SMTPConnection: TLS checked against the system's CAs, never relaxed. */
const nodemailerConnect: SmtpConnect = async (server, signal) => {
  const { default: SMTPConnection } = await import('nodemailer/lib/smtp-connection');
  signal.throwIfAborted();
  const connection = new SMTPConnection({
    host: server.host,
    port: server.port,
    secure: server.security === 'tls',
    requireTLS: server.security === 'starttls',
    ignoreTLS: server.security === 'none',
    tls: { minVersion: 'TLSv1.2' },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    logger: false,
  });
  // nodemailer reports some failures only as events: each step also ends on those.
  let fail: ((err: Error) => void) | undefined;
  connection.on('error', (err: Error) => fail?.(err));
  connection.on('end', () =>
    fail?.(Object.assign(new Error('Connection closed unexpectedly'), { code: 'ECONNECTION' })),
  );
  const step = <T>(run: (done: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      fail = reject;
      run((err, value) => (err ? reject(err) : resolve(value as T)));
    }).finally(() => {
      fail = undefined;
    });
  const onAbort = (): void => connection.close();
  signal.addEventListener('abort', onAbort, { once: true });
  const close = (): void => {
    signal.removeEventListener('abort', onAbort);
    connection.close();
  };
  try {
    await step<void>((done) => connection.connect((err) => done(err)));
    const auth = server.auth;
    if (auth) await step<boolean>((done) => connection.login({ user: auth.user, pass: auth.pass }, done));
  } catch (err) {
    close();
    throw err;
  }
  return {
    send: (from, recipients, message) =>
      step((done) =>
        connection.send({ from, to: recipients }, message, (err, info) =>
          err
            ? done(err)
            : done(null, { accepted: info.accepted, rejectedErrors: info.rejectedErrors ?? [] }),
        ),
      ),
    close: () => {
      signal.removeEventListener('abort', onAbort);
      // QUIT when the session is healthy; close() tears it down when it is not.
      if (connection.stage === 'connected' && !connection.destroyed) connection.quit();
      else connection.close();
    },
  };
};
