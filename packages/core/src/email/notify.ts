/**
 * notify-email after validation: compose the notice from the deploy facts, build the MIME
 * message (text and HTML alternatives), send it, and report. Loaded by the action only once its
 * inputs are valid; nodemailer loads later still, when the message is built.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowIo } from '../runner/io.js';
import type { DeployFacts } from '../slack/message.js';
import { noticeFacts } from '../slack/run-facts.js';
import { uniqueAddresses } from './address.js';
import { composeEmail, type EmailContent } from './message.js';
import type { EmailOutcome, EmailSettings } from './settings.js';
import { EmailDeliveryError, sendEmail, type SmtpConnect } from './smtp.js';
import { emailSummary } from './summary.js';

export type { EmailOutcome, EmailSettings } from './settings.js';

export function deployFacts(settings: EmailSettings, env: NodeJS.ProcessEnv): DeployFacts {
  // Mentions are Slack's; an e-mail reaches its people by its recipients.
  return { ...noticeFacts(settings, env), mentions: [] };
}

/** The whole message, headers and both parts, as it goes on the wire. */
export async function buildMessage(
  settings: EmailSettings,
  content: EmailContent,
  messageId: string,
  date = new Date(),
): Promise<Buffer> {
  const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
  const address = (a: { name?: string; address: string }) =>
    a.name ? { name: a.name, address: a.address } : a.address;
  const composer = new MailComposer({
    from: address(settings.from),
    to: settings.to.map(address),
    ...(settings.cc.length > 0 ? { cc: settings.cc.map(address) } : {}),
    // Bcc is envelope only: never a header.
    subject: content.subject,
    text: content.text,
    html: content.html,
    messageId,
    date,
    headers: {
      // RFC 3834: no auto-replies (out-of-office) to a machine's notice.
      'Auto-Submitted': 'auto-generated',
      'X-Auto-Response-Suppress': 'All',
    },
    textEncoding: 'quoted-printable',
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return composer.compile().build();
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export async function runNotifyEmail(
  settings: EmailSettings,
  io: WorkflowIo,
  options: {
    env?: NodeJS.ProcessEnv;
    signal?: AbortSignal;
    baseDelayMs?: number;
    connect?: SmtpConnect;
  } = {},
): Promise<EmailOutcome> {
  const env = options.env ?? process.env;
  const facts = deployFacts(settings, env);
  const content = composeEmail(facts, settings.subject);
  const messageId = `<${randomUUID()}@${domainOf(settings.from.address)}>`;
  const recipients = uniqueAddresses([...settings.to, ...settings.cc, ...settings.bcc]);
  const { server } = settings;
  io.info(
    `Sending the ${settings.status} notice by e-mail through ${server.host}:${server.port} (${server.security}) to ${recipients.length} recipient(s)`,
  );

  let outcome: EmailOutcome;
  try {
    const raw = await buildMessage(settings, content, messageId);
    const result = await sendEmail({
      server,
      from: settings.from.address,
      recipients,
      raw,
      deadlineMs: settings.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.baseDelayMs !== undefined ? { baseDelayMs: options.baseDelayMs } : {}),
      ...(options.connect ? { connect: options.connect } : {}),
      onRetry: (attempt, delayMs, reason) =>
        io.info(`E-mail attempt ${attempt} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`),
    });
    outcome = { ok: true, messageId, accepted: result.accepted, rejected: [] };
    io.info(
      `The mail server took the message ${messageId} for ${result.accepted.join(', ')} after ${result.attempts} attempt(s)`,
    );
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    const delivery = err instanceof EmailDeliveryError ? err : undefined;
    outcome = {
      ok: false,
      messageId,
      accepted: delivery?.accepted ?? [],
      rejected: delivery ? delivery.rejected.map((r) => r.address) : recipients,
      error,
      ...(delivery?.maybeDelivered ? { maybeDelivered: true } : {}),
    };
    if (settings.failOnError) io.setFailed(error);
    else io.warning(`${error} (fail-on-error is false: the step goes on)`);
  }

  io.setOutput('ok', String(outcome.ok));
  io.setOutput('message-id', outcome.messageId ?? '');
  io.setOutput('accepted', outcome.accepted.join(','));
  io.setOutput('rejected', outcome.rejected.join(','));
  io.appendSummary(emailSummary(settings, facts, content.subject, outcome));
  return outcome;
}
