/**
 * One resilience policy for every HTTP and Kubernetes API call: exponential backoff with jitter,
 * Retry-After, an overall deadline and/or AbortSignal, and retries only of what is safe to repeat.
 *
 * Built on cockatiel: it decides what is retried (handleWhen), counts attempts and draws the jittered
 * exponential delays. The wait itself happens inside the attempt wrapper rather than in cockatiel's
 * timer, because cockatiel's timer cannot be cancelled and a cancelled run must stop at once.
 */
import { DelegateBackoff, ExponentialBackoff, handleWhen, retry, type IBackoff } from 'cockatiel';

export interface RetryDecision {
  retry: boolean;
  /** Short words for logs and give-up messages, e.g. `HTTP 503` or `ECONNRESET`. */
  reason: string;
  /** The server asked us to wait at least this long (Retry-After). */
  retryAfterMs?: number;
}

export interface RetryInfo {
  /** The attempt that just failed, 1-based. */
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface RetryOptions {
  /** Overall budget in ms from the call; no attempt or wait runs past it. */
  deadlineMs?: number;
  signal?: AbortSignal;
  /** Whether repeating the request is harmless (GET, PUT of the same body, delete by name). Default false. */
  idempotent?: boolean;
  /** Total attempts including the first. Default 5. */
  maxAttempts?: number;
  /** First backoff delay; tests pass a few ms. Default 200. */
  baseDelayMs?: number;
  /** Ceiling of one backoff delay (not of Retry-After). Default 10 s. */
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: we give up instead. Default 60 s. */
  maxRetryAfterMs?: number;
  onRetry?: (info: RetryInfo) => void;
  /** Replaces the default classification (see classifyError). */
  classify?: (err: unknown) => RetryDecision;
}

/** Thrown when the deadline passes; `cause` is the last failure seen, if any. */
export class RetryDeadlineError extends Error {
  override readonly name = 'RetryDeadlineError';
  constructor(
    message: string,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface HttpErrorInfo {
  /** HTTP status when the server answered. */
  status?: number;
  /** Network error code (ECONNRESET, ...), found anywhere in the cause chain. */
  code?: string;
  retryAfterMs?: number;
  headers?: Record<string, string>;
  body?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EPIPE',
  'ECONNABORTED', // axios: request timed out
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** Failures that happen before a byte of the request leaves: repeating a write is safe after these. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Parses a Retry-After value: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  const text: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof text === 'number') return Math.max(0, text * 1000);
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function headerRecord(headers: unknown): Record<string, string> | undefined {
  if (!isRecord(headers)) return undefined;
  // axios gives AxiosHeaders (has toJSON), client-node a plain object; both keyed in lower case by Node.
  const plain: unknown = typeof headers.toJSON === 'function' ? (headers.toJSON as () => unknown)() : headers;
  if (!isRecord(plain)) return undefined;
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(plain)) {
    if (typeof value === 'string') out[key.toLowerCase()] = value;
    else if (Array.isArray(value)) out[key.toLowerCase()] = value.join(', ');
    else if (typeof value === 'number') out[key.toLowerCase()] = String(value);
  }
  return out;
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (!isRecord(err) || depth > 5) return undefined;
  if (typeof err.code === 'string' && NETWORK_CODES.has(err.code)) return err.code;
  if (typeof err.message === 'string' && /socket hang up/i.test(err.message)) return 'ECONNRESET';
  if (err.name === 'TimeoutError') return 'ETIMEDOUT';
  if (Array.isArray(err.errors)) {
    // Happy-eyeballs connects fail as an AggregateError of one error per address.
    for (const inner of err.errors) {
      const code = networkCode(inner, depth + 1);
      if (code) return code;
    }
  }
  return networkCode(err.cause, depth + 1);
}

/**
 * Reads status, Retry-After and network code from axios errors, client-node v2 `ApiException`
 * (`code`, `headers`, `body`), client-node `Watch` errors (`statusCode`) and Node/undici errors.
 */
export function httpErrorInfo(err: unknown): HttpErrorInfo {
  const info: HttpErrorInfo = {};
  if (!isRecord(err)) return info;
  let headers: Record<string, string> | undefined;
  if (err.isAxiosError === true) {
    const response = err.response;
    if (isRecord(response) && typeof response.status === 'number') {
      info.status = response.status;
      headers = headerRecord(response.headers);
      info.body = response.data;
    }
  } else if (typeof err.code === 'number') {
    // client-node ApiException
    info.status = err.code;
    headers = headerRecord(err.headers);
    info.body = err.body;
  } else if (typeof err.statusCode === 'number') {
    info.status = err.statusCode;
    headers = headerRecord(err.headers);
  } else if (typeof err.status === 'number') {
    info.status = err.status;
    headers = headerRecord(err.headers);
  }
  if (headers) {
    info.headers = headers;
    const retryAfter = parseRetryAfter(headers['retry-after']);
    if (retryAfter !== undefined) info.retryAfterMs = retryAfter;
  }
  if (info.status === undefined) {
    const code = networkCode(err);
    if (code) info.code = code;
  }
  return info;
}

/**
 * The default policy. Idempotent requests retry on network errors, 429, 500, 502, 503 and 504.
 * Writes retry only when the request provably never reached the server (connection refused, DNS
 * try-again, connect timeout) or on 429, which the server sends before doing any work.
 */
export function classifyError(err: unknown, idempotent: boolean): RetryDecision {
  if (isRecord(err) && err.name === 'AbortError') return { retry: false, reason: 'aborted' };
  const info = httpErrorInfo(err);
  const withAfter = (d: RetryDecision): RetryDecision =>
    info.retryAfterMs === undefined ? d : { ...d, retryAfterMs: info.retryAfterMs };
  if (info.status !== undefined) {
    const reason = `HTTP ${info.status}`;
    if (info.status === 429) return withAfter({ retry: true, reason });
    if (idempotent && [500, 502, 503, 504].includes(info.status)) return withAfter({ retry: true, reason });
    return { retry: false, reason };
  }
  if (info.code) {
    return { retry: idempotent || NOT_SENT_CODES.has(info.code), reason: info.code };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { retry: false, reason: message.slice(0, 200) };
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

/** The one abortable sleep: resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` until it succeeds, the failure is not safe to repeat, attempts run out, the deadline
 * passes (RetryDeadlineError) or the signal aborts (its reason is thrown). `fn` receives the
 * attempt number (1-based) and a signal that aborts at the deadline, to pass on to the request.
 */
export async function withRetry<T>(
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const started = Date.now();
  const deadlineAt = options.deadlineMs === undefined ? undefined : started + options.deadlineMs;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const classify = options.classify ?? ((err: unknown) => classifyError(err, options.idempotent ?? false));

  const deadlineController = new AbortController();
  const deadlineTimer =
    deadlineAt === undefined
      ? undefined
      : setTimeout(
          () => deadlineController.abort(new DOMException('Deadline passed', 'TimeoutError')),
          Math.max(0, deadlineAt - started),
        );
  const signals = [deadlineController.signal, ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);

  let attempts = 0;
  let lastError: unknown;
  let lastReason = '';
  let pendingDelay = 0;
  let gaveUpForDeadline = false;
  let jitter: IBackoff<unknown> | undefined;
  const exponential = new ExponentialBackoff({
    initialDelay: options.baseDelayMs ?? 200,
    maxDelay: options.maxDelayMs ?? 10_000,
  });

  const shouldRetry = (err: unknown): boolean => {
    lastError = err;
    if (signal.aborted) return false;
    const decision = classify(err);
    lastReason = decision.reason;
    if (!decision.retry) return false;
    jitter = jitter ? jitter.next(undefined) : exponential.next();
    let delay = Math.round(jitter.duration);
    if (decision.retryAfterMs !== undefined) {
      if (decision.retryAfterMs > maxRetryAfterMs) return false;
      delay = Math.max(delay, decision.retryAfterMs);
    }
    if (deadlineAt !== undefined && Date.now() + delay >= deadlineAt) {
      // Waiting less than the server asked, or retrying at the deadline, would only fail again.
      gaveUpForDeadline = true;
      return false;
    }
    pendingDelay = delay;
    options.onRetry?.({ attempt: attempts, delayMs: delay, reason: decision.reason });
    return true;
  };

  const policy = retry(handleWhen(shouldRetry), {
    maxAttempts: maxAttempts - 1,
    backoff: new DelegateBackoff(() => 0),
  });

  const run = policy.execute(async () => {
    if (attempts > 0) await sleep(pendingDelay, signal);
    attempts += 1;
    return fn(attempts, signal);
  }, signal);

  const deadlineError = (): RetryDeadlineError =>
    new RetryDeadlineError(
      `gave up after ${attempts} attempt(s) in ${Date.now() - started} ms (deadline ${options.deadlineMs} ms)` +
        (lastReason ? `; last failure: ${lastReason}` : ''),
      attempts,
      { cause: lastError },
    );

  try {
    // Race against the signals so an attempt that ignores its signal cannot outlive the deadline.
    const result = await new Promise<T>((resolve, reject) => {
      const onAbort = (): void =>
        reject(deadlineController.signal.aborted ? deadlineError() : abortReason(signal));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      run.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
    return result;
  } catch (err) {
    if (gaveUpForDeadline || (deadlineController.signal.aborted && !(err instanceof RetryDeadlineError))) {
      throw deadlineError();
    }
    throw err;
  } finally {
    if (deadlineTimer) clearTimeout(deadlineTimer);
    run.catch(() => undefined);
  }
}
