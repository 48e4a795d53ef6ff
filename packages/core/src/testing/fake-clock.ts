/**
 * For tests that prove a wait ends on time: timers and Date on vitest's fake clock, while sockets
 * stay real. The test first lets the real traffic it needs happen (`untilReal`), then moves the
 * clock and asks whether the wait had ended by then (`track`). A busy machine can slow the
 * traffic but cannot move the clock, so these tests do not bound wall-clock time.
 */
import { setTimeout as realDelay } from 'node:timers/promises';
import { vi } from 'vitest';

/** setImmediate, queueMicrotask and nextTick stay real: Node's sockets and streams need them. */
export function useFakeClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
}

/** Waits in real time (node:timers/promises, which the fake clock leaves alone), at most 10 s. */
export async function untilReal(what: string, check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited >= 10_000) throw new Error(`never happened: ${what}`);
    await realDelay(10);
  }
}

export interface Tracked {
  /** Whether the promise had settled, either way. */
  settled(): boolean;
  /** Its value, or its rejection as a value. */
  outcome: Promise<unknown>;
}

/** Follows a promise, so a test can ask whether it had ended at a point on the fake clock. */
export function track(promise: Promise<unknown>): Tracked {
  let settled = false;
  const outcome = promise.then(
    (value) => {
      settled = true;
      return value;
    },
    (err: unknown) => {
      settled = true;
      return err;
    },
  );
  return { settled: () => settled, outcome };
}
