/**
 * notify-slack after validation: build the message (default or custom payload) and meet Slack's
 * limits, or for a Workflow Builder trigger its variables; deliver it, and report. Loaded by the
 * action only once its inputs are valid, so a bad input never pays for this code.
 */
import { destinationName } from './deliver-types.js';
import { deliver, SlackDeliveryError } from './deliver.js';
import { enforceLimits } from './limits.js';
import { buildDefaultMessage, fallbackText, type DeployFacts } from './message.js';
import type { NotifyOutcome, NotifySettings } from './notify-types.js';
import { renderPayload, triggerVariables } from './placeholders.js';
import { noticeFacts, sinceTs } from './run-facts.js';
import { notifySummary } from './summary.js';
import type { WorkflowIo } from '../runner/io.js';

export type { NotifyOutcome, NotifySettings } from './notify-types.js';

export function deployFacts(settings: NotifySettings, env: NodeJS.ProcessEnv, now = Date.now()): DeployFacts {
  // A later status measures from the `started` message it updates or replies to.
  const durationMs =
    settings.status === 'started' ? undefined : sinceTs(settings.updateTs ?? settings.threadTs, now);
  return {
    ...noticeFacts(settings, env),
    mentions: settings.mentions,
    ...(durationMs !== undefined ? { durationMs } : {}),
  };
}

/** The Block Kit message to send, or a trigger's flat variables; `notes` say what limits cut. */
export function composeMessage(
  settings: NotifySettings,
  facts: DeployFacts,
): { message: Record<string, unknown>; notes: string[] } {
  if (settings.destination.kind === 'trigger')
    return { message: triggerVariables(settings.payload, facts), notes: [] };
  let message = settings.payload ? renderPayload(settings.payload, facts) : buildDefaultMessage(facts);
  // Slack wants notification text with blocks; a custom payload may leave it out.
  if (typeof message.text !== 'string' || message.text.trim() === '')
    message = { ...message, text: fallbackText(facts) };
  return enforceLimits(message);
}

export async function runNotifySlack(
  settings: NotifySettings,
  io: WorkflowIo,
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; baseDelayMs?: number } = {},
): Promise<NotifyOutcome> {
  const env = options.env ?? process.env;
  const facts = deployFacts(settings, env);
  const { message, notes } = composeMessage(settings, facts);
  for (const note of notes) io.info(`Slack limits: ${note}`);
  const target = destinationName(settings.destination);
  if (settings.destination.kind === 'trigger')
    io.info(
      `Starting the Slack workflow with the ${settings.status} notice's variables (${target}): ${Object.keys(message).join(', ')}`,
    );
  else
    io.info(
      `${settings.updateTs ? 'Updating' : 'Posting'} the ${settings.status} notice to Slack (${target})`,
    );

  let outcome: NotifyOutcome;
  try {
    const result = await deliver({
      destination: settings.destination,
      message,
      ...(settings.updateTs ? { updateTs: settings.updateTs } : {}),
      ...(settings.threadTs ? { threadTs: settings.threadTs } : {}),
      deadlineMs: settings.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.baseDelayMs !== undefined ? { baseDelayMs: options.baseDelayMs } : {}),
      onRetry: (attempt, delayMs, reason) =>
        io.info(`Slack attempt ${attempt} failed (${reason}); retrying in ${(delayMs / 1000).toFixed(1)} s`),
    });
    const ts = settings.updateTs ?? result.ts;
    outcome = {
      ok: true,
      ...(ts ? { ts } : {}),
      // The thread later steps reply under: the one given, else this message itself.
      ...((settings.threadTs ?? ts) ? { threadTs: settings.threadTs ?? ts } : {}),
      ...(result.channelId ? { channelId: result.channelId } : {}),
    };
    io.info(`Slack accepted the message${ts ? ` (ts ${ts})` : ''} after ${result.attempts} attempt(s)`);
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    outcome = {
      ok: false,
      error,
      ...(err instanceof SlackDeliveryError && err.maybeDelivered ? { maybeDelivered: true } : {}),
      ...(settings.threadTs ? { threadTs: settings.threadTs } : {}),
    };
    if (settings.failOnError) io.setFailed(error);
    else io.warning(`${error} (fail-on-error is false: the step goes on)`);
  }

  io.setOutput('ok', String(outcome.ok));
  io.setOutput('ts', outcome.ts ?? '');
  io.setOutput('thread-ts', outcome.threadTs ?? '');
  io.setOutput('channel-id', outcome.channelId ?? '');
  io.appendSummary(notifySummary(settings, facts, outcome));
  return outcome;
}
