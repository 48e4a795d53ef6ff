/**
 * Delivery of one message by incoming webhook or by the Web API (chat.postMessage, or
 * chat.update for `update-ts`), retried through core's withRetry: 429 waits for Retry-After,
 * an answered 5xx, a connection refused before sending and Slack's transient error codes are
 * retried until the deadline; anything else fails at once with Slack's error code explained.
 *
 * Posting is not idempotent, and neither chat.postMessage nor a webhook takes an idempotency
 * key. So when a post's answer is lost after the request went out (the connection reset or
 * dropped, or no answer in time), Slack may have posted it, and it is never simply sent again:
 * - Web API: every post carries a unique id in its message metadata; after a lost answer we read
 *   the channel (or the thread) for it. Found: that is our message, done. Not there: post again.
 *   When it cannot be looked up (a channel given by name, which conversations.history does not
 *   take; a custom payload with its own metadata; the lookup itself failing, say for want of the
 *   channels:history scope) it ends as a webhook does.
 * - Webhook and Workflow Builder trigger: Slack offers no way to look, so the step reports that
 *   the message may have been delivered (a warning, or a failure with fail-on-error) instead of
 *   risking a duplicate message, or a workflow run twice.
 * chat.update is idempotent: it is retried after a lost answer like any transient failure.
 */
import { randomUUID } from 'node:crypto';
import {
  RetryDeadlineError,
  classifyError,
  httpErrorInfo,
  withRetry,
  type RetryDecision,
} from '../net/retry.js';
import { formatDuration } from '../inputs/duration.js';
import { TRANSIENT_SLACK_ERRORS, explainSlackError, explainTriggerRefusal } from './slack-errors.js';
import { SlackHttpError, createHttpPost, type HttpPost } from './transport.js';
import { destinationName, type Destination } from './deliver-types.js';

/** How long one attempt waits for Slack's answer (never past the deadline) before it counts as lost. */
const ANSWER_TIMEOUT_MS = 10_000;
/** The metadata event type that carries a post's id, for the lookup after a lost answer. */
export const NOTICE_EVENT_TYPE = 'cd_actions_notice';
/** Messages read back per lookup: those posted since just before our first attempt. */
const LOOKUP_LIMIT = 100;
/** Runner and Slack clocks differ; the lookup window starts this much before our first send. */
const CLOCK_SKEW_MS = 60_000;

export { DEFAULT_SLACK_API_URL, type Destination } from './deliver-types.js';

export interface DeliveryRequest {
  destination: Destination;
  /** A Block Kit message; for a trigger, its flat map of string variables. */
  message: Record<string, unknown>;
  /** Update this message instead of posting a new one (Web API only). */
  updateTs?: string;
  /** Post as a reply in this thread. */
  threadTs?: string;
  deadlineMs: number;
  signal?: AbortSignal;
  /** Called before each retry, for the log. */
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** Tests: shorter backoff, and a shorter wait for an answer. */
  baseDelayMs?: number;
  answerTimeoutMs?: number;
  post?: HttpPost;
}

export interface DeliveryResult {
  /** Slack's id of the message (Web API only: webhooks do not return it). */
  ts?: string;
  channelId?: string;
  attempts: number;
}

/**
 * Slack refused the message (`ok: false`, or a webhook's 4xx text); `code` is Slack's error code.
 * `explained` replaces the code's usual explanation (a trigger's refusals are told by status).
 */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly code: string,
    readonly details: string[] = [],
    explained?: string,
  ) {
    super(
      `Slack answered ${explained ?? explainSlackError(code)}${details.length > 0 ? `: ${details.slice(0, 5).join('; ')}` : ''}`,
    );
  }
}

/** Delivery failed for good; the message says why and what to do, without secrets. */
export class SlackDeliveryError extends Error {
  override readonly name = 'SlackDeliveryError';
  /** The request went out and its answer was lost: Slack may have posted the message. */
  readonly maybeDelivered: boolean;
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown; maybeDelivered?: boolean },
  ) {
    super(message, { cause: options?.cause });
    this.maybeDelivered = options?.maybeDelivered ?? false;
  }
}

/** The request went out and no answer came back: Slack may or may not have acted on it. */
class AnswerLost extends Error {
  override readonly name = 'AnswerLost';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the request was sent and its answer was lost (${reason})`, options);
  }
}

/** A post whose answer was lost and which the channel shows was not posted: safe to post again. */
class NotPosted extends Error {
  override readonly name = 'NotPosted';
  constructor(readonly reason: string) {
    super(`${reason}, and the message is not in the channel`);
  }
}

/** A post whose answer was lost and that cannot be looked up: not retried. */
class MaybePosted extends Error {
  override readonly name = 'MaybePosted';
  constructor(
    readonly lost: AnswerLost,
    readonly why: string,
  ) {
    super(`${lost.message}; ${why}`, { cause: lost });
  }
}

function classify(err: unknown): RetryDecision {
  if (err instanceof SlackApiError) return { retry: TRANSIENT_SLACK_ERRORS.has(err.code), reason: err.code };
  if (err instanceof MaybePosted) return { retry: false, reason: err.lost.reason };
  // Only chat.update and the lookup (both safe to repeat) get here with a lost answer: a lost
  // post has been looked up first.
  if (err instanceof AnswerLost) return { retry: true, reason: err.reason };
  if (err instanceof NotPosted) return { retry: true, reason: err.message };
  // Slack does no work before answering 429 or 5xx, so a repeated post is not a duplicate; a
  // network failure of a post reaches here only when the request never left (connection refused).
  return classifyError(err, true);
}

/**
 * Why a failed request may have reached Slack: a network failure after connecting (a reset, a
 * hang-up, a timeout), as opposed to one that proves nothing was sent (refused, DNS), which
 * core's policy lets even a non-idempotent request repeat. undefined when nothing was lost.
 */
function lostAnswer(err: unknown): string | undefined {
  const info = httpErrorInfo(err);
  if (info.status !== undefined || info.code === undefined) return undefined;
  return classifyError(err, false).retry ? undefined : info.code;
}

function apiDetails(answer: Record<string, unknown>): string[] {
  const metadata = answer.response_metadata as { messages?: unknown } | undefined;
  const messages = Array.isArray(metadata?.messages)
    ? metadata.messages
    : Array.isArray(answer.errors)
      ? answer.errors
      : [];
  return messages.filter((m): m is string => typeof m === 'string');
}

function parseApiAnswer(body: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, unknown>;
  } catch {
    // fall through: a proxy or an outage page rather than Slack
  }
  throw new SlackApiError('invalid_response', [`the answer was not Slack JSON: ${body.slice(0, 120)}`]);
}

/** Webhooks answer errors as HTTP 4xx with the code as plain text. */
function webhookError(err: unknown): unknown {
  if (err instanceof SlackHttpError && err.status >= 400 && err.status < 500 && err.status !== 429) {
    const code = /^[a-z_]+$/.test(err.body.trim()) ? err.body.trim() : `http_${err.status}`;
    return new SlackApiError(code);
  }
  return err;
}

/** A trigger's 4xx (other than 429) as a SlackApiError: its JSON `{ ok: false, error }`, or text. */
function triggerError(err: unknown): unknown {
  if (!(err instanceof SlackHttpError) || err.status < 400 || err.status >= 500 || err.status === 429)
    return err;
  let code: string | undefined;
  let details: string[] = [];
  try {
    const parsed = JSON.parse(err.body) as Record<string, unknown>;
    if (typeof parsed.error === 'string') code = parsed.error;
    details = apiDetails(parsed);
  } catch {
    if (/^[a-z_]+$/.test(err.body.trim())) code = err.body.trim();
  }
  return new SlackApiError(code ?? `http_${err.status}`, details, explainTriggerRefusal(err.status, code));
}

/** A trigger's 2xx answer: `{ ok: true }` (or plain `ok`); `{ ok: false, error }` is a refusal. */
function triggerAnswer(body: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return; // "ok", or an empty body: Slack took it
  }
  if (typeof parsed === 'object' && parsed !== null && (parsed as { ok?: unknown }).ok === false) {
    const error = (parsed as { error?: unknown }).error;
    throw new SlackApiError(typeof error === 'string' ? error : 'unknown_error');
  }
}

/**
 * One POST, waiting at most `answerTimeoutMs` for the answer. A failure after the request may
 * have gone out becomes AnswerLost; the deadline and a cancel stay what they are.
 */
async function send(
  post: HttpPost,
  url: string,
  body: string,
  headers: Record<string, string>,
  signal: AbortSignal,
  answerTimeoutMs: number,
): Promise<string> {
  const noAnswer = new AbortController();
  const timer = setTimeout(() => noAnswer.abort(), answerTimeoutMs);
  try {
    return (await post(url, body, headers, AbortSignal.any([signal, noAnswer.signal]))).body;
  } catch (err) {
    if (signal.aborted) throw err;
    if (noAnswer.signal.aborted)
      throw new AnswerLost(`no answer within ${formatDuration(answerTimeoutMs)}`, { cause: err });
    const lost = lostAnswer(err);
    throw lost ? new AnswerLost(lost, { cause: err }) : err;
  } finally {
    clearTimeout(timer);
  }
}

function apiCall(destination: Extract<Destination, { kind: 'api' }>, method: string): string {
  return `${destination.apiUrl.replace(/\/+$/, '')}/${method}`;
}

/** Slack's answer to a Web API call, or its ok:false as a SlackApiError. */
function apiAnswer(body: string): Record<string, unknown> {
  const parsed = parseApiAnswer(body);
  if (parsed.ok !== true)
    throw new SlackApiError(
      typeof parsed.error === 'string' ? parsed.error : 'unknown_error',
      apiDetails(parsed),
    );
  return parsed;
}

async function attempt(
  request: DeliveryRequest,
  post: HttpPost,
  signal: AbortSignal,
  noticeId: string | undefined,
): Promise<Omit<DeliveryResult, 'attempts'>> {
  const { destination, message } = request;
  const answerTimeoutMs = request.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  const json = { 'content-type': 'application/json; charset=utf-8' };
  if (destination.kind === 'trigger') {
    let answer: string;
    try {
      answer = await send(post, destination.url, JSON.stringify(message), json, signal, answerTimeoutMs);
    } catch (err) {
      throw triggerError(err);
    }
    triggerAnswer(answer);
    return {};
  }
  if (destination.kind === 'webhook') {
    const body = JSON.stringify({ ...message, ...(request.threadTs ? { thread_ts: request.threadTs } : {}) });
    try {
      await send(post, destination.url, body, json, signal, answerTimeoutMs);
    } catch (err) {
      throw webhookError(err);
    }
    return {};
  }
  const method = request.updateTs ? 'chat.update' : 'chat.postMessage';
  const args = {
    ...message,
    ...(noticeId ? { metadata: { event_type: NOTICE_EVENT_TYPE, event_payload: { id: noticeId } } } : {}),
    channel: destination.channel,
    ...(request.updateTs ? { ts: request.updateTs } : {}),
    ...(!request.updateTs && request.threadTs ? { thread_ts: request.threadTs } : {}),
  };
  const parsed = apiAnswer(
    await send(
      post,
      apiCall(destination, method),
      JSON.stringify(args),
      { ...json, authorization: `Bearer ${destination.token}` },
      signal,
      answerTimeoutMs,
    ),
  );
  return {
    ...(typeof parsed.ts === 'string' ? { ts: parsed.ts } : {}),
    ...(typeof parsed.channel === 'string' ? { channelId: parsed.channel } : {}),
  };
}

/** Slack's `<seconds>.<microseconds>` for an epoch-ms time. */
function slackTs(ms: number): string {
  return `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, '0')}`;
}

/**
 * Reads the channel (or the thread a reply went to) for the post carrying `noticeId`: its ts
 * when Slack has it, undefined when it does not. Reading is idempotent: retried as any read.
 */
async function findPost(
  request: DeliveryRequest,
  destination: Extract<Destination, { kind: 'api' }>,
  post: HttpPost,
  noticeId: string,
  since: number,
  signal: AbortSignal,
): Promise<Omit<DeliveryResult, 'attempts'> | undefined> {
  const thread = request.threadTs;
  const form = new URLSearchParams({
    channel: destination.channel,
    ...(thread ? { ts: thread } : {}),
    oldest: slackTs(Math.max(0, since - CLOCK_SKEW_MS)),
    limit: String(LOOKUP_LIMIT),
    include_all_metadata: 'true',
  });
  const parsed = await withRetry(
    async (_n, readSignal) =>
      apiAnswer(
        await send(
          post,
          apiCall(destination, thread ? 'conversations.replies' : 'conversations.history'),
          form.toString(),
          {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Bearer ${destination.token}`,
          },
          readSignal,
          request.answerTimeoutMs ?? ANSWER_TIMEOUT_MS,
        ),
      ),
    {
      signal,
      maxAttempts: 3,
      ...(request.baseDelayMs !== undefined ? { baseDelayMs: request.baseDelayMs } : {}),
      classify,
    },
  );
  const messages = Array.isArray(parsed.messages) ? (parsed.messages as Record<string, unknown>[]) : [];
  const ours = messages.find((m) => {
    const metadata = m.metadata as { event_type?: unknown; event_payload?: { id?: unknown } } | undefined;
    return metadata?.event_type === NOTICE_EVENT_TYPE && metadata.event_payload?.id === noticeId;
  });
  if (!ours || typeof ours.ts !== 'string') return undefined;
  return { ts: ours.ts, channelId: destination.channel };
}

/** Why a lost post cannot be looked up in this request, or undefined when it can. */
function noLookup(request: DeliveryRequest): string | undefined {
  const { destination } = request;
  if (destination.kind === 'webhook') return 'a webhook offers no way to check whether it arrived';
  if (destination.kind === 'trigger')
    return 'a Workflow Builder trigger offers no way to check whether the workflow started';
  if (!/^[CGD][A-Z0-9]{6,}$/.test(destination.channel))
    return `the channel was given by name (${destination.channel}), and Slack looks up messages by channel id only`;
  if (request.message.metadata !== undefined)
    return 'the message carries its own metadata, so it has no id of ours to look for';
  return undefined;
}

function describeFailure(err: unknown): string {
  if (err instanceof SlackApiError) return err.message;
  if (err instanceof SlackHttpError) return `Slack answered HTTP ${err.status}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export async function deliver(request: DeliveryRequest): Promise<DeliveryResult> {
  const post = request.post ?? createHttpPost();
  const { destination } = request;
  let attempts = 0;
  const where = destinationName(destination);
  // Only chat.update is safe to repeat: every other request posts a message or starts a workflow.
  const creates = destination.kind !== 'api' || !request.updateTs;
  const cannotLookUp = creates ? noLookup(request) : undefined;
  const noticeId = creates && cannotLookUp === undefined ? randomUUID() : undefined;
  const firstSentAt = Date.now();
  /** A post is out with no answer yet: if the deadline ends it, Slack may have the message. */
  let postInFlight = false;
  try {
    const result = await withRetry(
      async (n, signal) => {
        attempts = n;
        postInFlight = creates;
        try {
          return await attempt(request, post, signal, noticeId);
        } catch (err) {
          if (!(err instanceof AnswerLost) || !creates) throw err;
          if (noticeId === undefined || destination.kind !== 'api')
            throw new MaybePosted(err, cannotLookUp ?? 'it cannot be looked up');
          let found: Omit<DeliveryResult, 'attempts'> | undefined;
          try {
            found = await findPost(request, destination, post, noticeId, firstSentAt, signal);
          } catch (lookupError) {
            if (signal.aborted) throw lookupError;
            throw new MaybePosted(
              err,
              `looking for it in the channel failed: ${describeFailure(lookupError)}`,
            );
          }
          if (found) return found;
          throw new NotPosted(err.reason);
        } finally {
          // Left set when the deadline or a cancel ended the attempt: the post may be in Slack.
          if (!signal.aborted) postInFlight = false;
        }
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
    return { ...result, attempts };
  } catch (err) {
    if (err instanceof MaybePosted) {
      throw new SlackDeliveryError(
        `The message to ${where} may have been delivered: ${err.message}. It was not sent again, to avoid posting it twice; check the channel.`,
        attempts,
        { cause: err, maybeDelivered: true },
      );
    }
    if (err instanceof RetryDeadlineError) {
      const last = err.cause === undefined ? 'no answer' : describeFailure(err.cause);
      // Not flagged maybeDelivered: the cut-off attempt most likely met what the others met.
      const cutOff = postInFlight
        ? ' The last attempt was cut off before its answer: if Slack took it, the message is there.'
        : '';
      throw new SlackDeliveryError(
        `Slack did not take the message for ${where} within the ${Math.round(request.deadlineMs / 1000)} s deadline ` +
          `(${err.attempts} attempt(s); last: ${last}). Slack may be degraded (https://slack-status.com); raise timeout to wait longer.${cutOff}`,
        err.attempts,
        { cause: err },
      );
    }
    const retried = attempts > 1 ? ` after ${attempts} attempts` : '';
    throw new SlackDeliveryError(`Could not post to ${where}${retried}: ${describeFailure(err)}`, attempts, {
      cause: err,
    });
  }
}
