/**
 * Delivery of one message by incoming webhook or by the Web API (chat.postMessage, or
 * chat.update for `update-ts`), retried through core's withRetry: 429 waits for Retry-After,
 * 5xx, network failures and Slack's transient error codes are retried until the deadline;
 * anything else fails at once with Slack's error code explained.
 */
import { RetryDeadlineError, classifyError, withRetry, type RetryDecision } from '../retry.js';
import { TRANSIENT_SLACK_ERRORS, explainSlackError } from './slack-errors.js';
import { SlackHttpError, createHttpPost, type HttpPost } from './transport.js';
import type { Destination } from './deliver-types.js';

export { DEFAULT_SLACK_API_URL, type Destination } from './deliver-types.js';

export interface DeliveryRequest {
  destination: Destination;
  message: Record<string, unknown>;
  /** Update this message instead of posting a new one (Web API only). */
  updateTs?: string;
  /** Post as a reply in this thread. */
  threadTs?: string;
  deadlineMs: number;
  signal?: AbortSignal;
  /** Called before each retry, for the log. */
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** Tests: shorter backoff. */
  baseDelayMs?: number;
  post?: HttpPost;
}

export interface DeliveryResult {
  /** Slack's id of the message (Web API only: webhooks do not return it). */
  ts?: string;
  channelId?: string;
  attempts: number;
}

/** Slack refused the message (`ok: false`, or a webhook's 4xx text); `code` is Slack's error code. */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly code: string,
    readonly details: string[] = [],
  ) {
    super(
      `Slack answered ${explainSlackError(code)}${details.length > 0 ? `: ${details.slice(0, 5).join('; ')}` : ''}`,
    );
  }
}

/** Delivery failed for good; the message says why and what to do, without secrets. */
export class SlackDeliveryError extends Error {
  override readonly name = 'SlackDeliveryError';
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function classify(err: unknown): RetryDecision {
  if (err instanceof SlackApiError) return { retry: TRANSIENT_SLACK_ERRORS.has(err.code), reason: err.code };
  // Slack does no work before answering 429 or 5xx, so a repeated post is not a duplicate.
  return classifyError(err, true);
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

async function attempt(
  request: DeliveryRequest,
  post: HttpPost,
  signal: AbortSignal,
): Promise<Omit<DeliveryResult, 'attempts'>> {
  const { destination, message } = request;
  if (destination.kind === 'webhook') {
    const body = JSON.stringify({ ...message, ...(request.threadTs ? { thread_ts: request.threadTs } : {}) });
    try {
      await post(destination.url, body, { 'content-type': 'application/json; charset=utf-8' }, signal);
    } catch (err) {
      throw webhookError(err);
    }
    return {};
  }
  const method = request.updateTs ? 'chat.update' : 'chat.postMessage';
  const args = {
    ...message,
    channel: destination.channel,
    ...(request.updateTs ? { ts: request.updateTs } : {}),
    ...(!request.updateTs && request.threadTs ? { thread_ts: request.threadTs } : {}),
  };
  const answer = await post(
    `${destination.apiUrl.replace(/\/+$/, '')}/${method}`,
    JSON.stringify(args),
    { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${destination.token}` },
    signal,
  );
  const parsed = parseApiAnswer(answer.body);
  if (parsed.ok !== true)
    throw new SlackApiError(
      typeof parsed.error === 'string' ? parsed.error : 'unknown_error',
      apiDetails(parsed),
    );
  return {
    ...(typeof parsed.ts === 'string' ? { ts: parsed.ts } : {}),
    ...(typeof parsed.channel === 'string' ? { channelId: parsed.channel } : {}),
  };
}

function describeFailure(err: unknown): string {
  if (err instanceof SlackApiError) return err.message;
  if (err instanceof SlackHttpError) return `Slack answered HTTP ${err.status}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

export async function deliver(request: DeliveryRequest): Promise<DeliveryResult> {
  const post = request.post ?? createHttpPost();
  let attempts = 0;
  const where =
    request.destination.kind === 'webhook'
      ? 'the incoming webhook'
      : `channel ${request.destination.channel}`;
  try {
    const result = await withRetry(
      (n, signal) => {
        attempts = n;
        return attempt(request, post, signal);
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
    if (err instanceof RetryDeadlineError) {
      const last = err.cause === undefined ? 'no answer' : describeFailure(err.cause);
      throw new SlackDeliveryError(
        `Slack did not take the message for ${where} within the ${Math.round(request.deadlineMs / 1000)} s deadline ` +
          `(${err.attempts} attempt(s); last: ${last}). Slack may be degraded (https://slack-status.com); raise timeout to wait longer.`,
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
