import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  classifyError,
  httpErrorInfo,
  parseRetryAfter,
  RetryDeadlineError,
  withRetry,
  type RetryInfo,
} from './retry.js';
import { track, useFakeClock } from '../testing/fake-clock.js';

/** Shapes as thrown by client-node v2 (ApiException), axios and Node's network stack. */
function apiException(code: number, headers: Record<string, string> = {}, body = ''): Error {
  return Object.assign(new Error(`HTTP-Code: ${code}`), { code, headers, body });
}
function axiosError(status: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`Request failed with status code ${status}`), {
    isAxiosError: true,
    code: 'ERR_BAD_RESPONSE',
    response: { status, headers, data: { ok: false } },
  });
}
function netError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code });
}

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('0.5')).toBe(500);
  });
  it('reads an HTTP date relative to now', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });
  it('ignores garbage', () => {
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe('httpErrorInfo', () => {
  it('reads status and Retry-After from a client-node ApiException', () => {
    const info = httpErrorInfo(apiException(429, { 'retry-after': '3' }, '{"kind":"Status"}'));
    expect(info).toMatchObject({ status: 429, retryAfterMs: 3000, body: '{"kind":"Status"}' });
  });
  it('reads status and Retry-After from an axios error', () => {
    expect(httpErrorInfo(axiosError(503, { 'retry-after': '1' }))).toMatchObject({
      status: 503,
      retryAfterMs: 1000,
    });
  });
  it('finds a network code in a fetch cause chain and in an AggregateError', () => {
    const fetchFailed = new TypeError('fetch failed', {
      cause: new AggregateError([netError('ECONNREFUSED')], 'connect failed'),
    });
    expect(httpErrorInfo(fetchFailed).code).toBe('ECONNREFUSED');
    expect(httpErrorInfo(new Error('socket hang up')).code).toBe('ECONNRESET');
  });
});

describe('classifyError', () => {
  it('retries 5xx only for idempotent requests, 429 always', () => {
    expect(classifyError(apiException(500), true).retry).toBe(true);
    expect(classifyError(apiException(500), false).retry).toBe(false);
    expect(classifyError(apiException(503), false).retry).toBe(false);
    expect(classifyError(apiException(429), false).retry).toBe(true);
  });
  it('never retries other 4xx', () => {
    for (const status of [400, 401, 403, 404, 409, 422]) {
      expect(classifyError(apiException(status), true)).toEqual({ retry: false, reason: `HTTP ${status}` });
    }
  });
  it('retries a write only when the request cannot have reached the server', () => {
    expect(classifyError(netError('ECONNREFUSED'), false).retry).toBe(true);
    expect(classifyError(netError('ECONNRESET'), false).retry).toBe(false);
    expect(classifyError(netError('ECONNRESET'), true).retry).toBe(true);
    expect(classifyError(netError('ETIMEDOUT'), true).retry).toBe(true);
    expect(classifyError(netError('EAI_AGAIN'), true).retry).toBe(true);
  });
  it('does not retry programming errors', () => {
    expect(classifyError(new TypeError('x is not a function'), true).retry).toBe(false);
  });
});

describe('withRetry', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries 503 for an idempotent call and returns the success', async () => {
    const seen: RetryInfo[] = [];
    let calls = 0;
    const result = await withRetry(
      (attempt) => {
        calls = attempt;
        return attempt < 3 ? Promise.reject(apiException(503)) : Promise.resolve('ok');
      },
      { ...fast, idempotent: true, onRetry: (info) => seen.push(info) },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
    expect(seen.map((s) => [s.attempt, s.reason])).toEqual([
      [1, 'HTTP 503'],
      [2, 'HTTP 503'],
    ]);
  });

  it('waits at least Retry-After on 429', async () => {
    useFakeClock();
    const seen: RetryInfo[] = [];
    let calls = 0;
    const run = track(
      withRetry(
        (attempt) => {
          calls = attempt;
          return attempt === 1
            ? Promise.reject(axiosError(429, { 'retry-after': '0.15' }))
            : Promise.resolve(1);
        },
        { ...fast, onRetry: (info) => seen.push(info) },
      ),
    );
    await vi.advanceTimersByTimeAsync(149);
    expect(seen[0]?.delayMs).toBe(150);
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await run.outcome).toBe(1);
    expect(calls).toBe(2);
  });

  it('does not retry 422', async () => {
    let calls = 0;
    const err = apiException(422);
    await expect(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(err);
        },
        { ...fast, idempotent: true },
      ),
    ).rejects.toBe(err);
    expect(calls).toBe(1);
  });

  it('stops after maxAttempts with the last error', async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(netError('ECONNRESET'));
        },
        { ...fast, idempotent: true, maxAttempts: 3 },
      ),
    ).rejects.toMatchObject({ code: 'ECONNRESET' });
    expect(calls).toBe(3);
  });

  it('gives up at once when Retry-After would pass the deadline', async () => {
    // On a fake clock: waiting for the deadline instead would end at 1000 ms, not at 0.
    useFakeClock();
    let calls = 0;
    const run = track(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(apiException(429, { 'retry-after': '30' }));
        },
        { ...fast, deadlineMs: 1000 },
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(run.settled()).toBe(true);
    const error = await run.outcome;
    expect(error).toBeInstanceOf(RetryDeadlineError);
    expect((error as Error).message).toMatch(/gave up after 1 attempt\(s\) in 0 ms .*last failure: HTTP 429/);
    expect(calls).toBe(1);
  });

  it('ends an attempt that hangs past the deadline', async () => {
    const failure = withRetry(() => new Promise<never>(() => undefined), { ...fast, deadlineMs: 50 });
    await expect(failure).rejects.toBeInstanceOf(RetryDeadlineError);
    await expect(failure).rejects.toThrow(/gave up after 1 attempt\(s\)/);
  });

  it('passes a signal to the attempt that aborts at the deadline', async () => {
    let attemptSignal: AbortSignal | undefined;
    await expect(
      withRetry(
        (_attempt, signal) => {
          attemptSignal = signal;
          return new Promise<never>(() => undefined);
        },
        { deadlineMs: 30 },
      ),
    ).rejects.toBeInstanceOf(RetryDeadlineError);
    expect(attemptSignal?.aborted).toBe(true);
  });

  it('stops waiting between attempts when the caller aborts', async () => {
    // On a fake clock: the abort comes 10 ms into a 5 s backoff; waiting it out would end at 5 s.
    useFakeClock();
    const controller = new AbortController();
    let calls = 0;
    const run = track(
      withRetry(
        () => {
          calls += 1;
          return Promise.reject(apiException(503));
        },
        {
          idempotent: true,
          baseDelayMs: 5000,
          maxDelayMs: 5000,
          signal: controller.signal,
          onRetry: () => setTimeout(() => controller.abort(new Error('cancelled by the runner')), 10),
        },
      ),
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(run.settled()).toBe(true);
    expect(await run.outcome).toMatchObject({ message: 'cancelled by the runner' });
    expect(calls).toBe(1);
  });

  it('uses a custom classifier', async () => {
    let calls = 0;
    const value = await withRetry(
      (attempt) => {
        calls = attempt;
        return attempt < 2 ? Promise.reject(new Error('flaky')) : Promise.resolve('done');
      },
      { ...fast, classify: (err) => ({ retry: String(err).includes('flaky'), reason: 'flaky' }) },
    );
    expect(value).toBe('done');
    expect(calls).toBe(2);
  });
});
