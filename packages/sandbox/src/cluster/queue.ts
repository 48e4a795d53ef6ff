/**
 * One FIFO work queue shared by every controller. Store listeners run inside the write that
 * fired them, so they only enqueue; the queue runs the work on a later turn. Sharing one FIFO
 * keeps the order a real cluster tends to show: an old ReplicaSet's pods go before the next
 * scale-up is acted on, so pod counts stay within maxSurge/maxUnavailable.
 */
import { isConflict, isNotFound } from './util.js';

export type Work = () => void;

const BATCH = 200;
const RETRY_DELAY_MS = 20;

export class WorkQueue {
  private readonly pending = new Map<string, Work>();
  private scheduled = false;
  private stopped = false;
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();

  constructor(private readonly onError: (key: string, error: unknown) => void) {}

  /** Queues work under a key; a key already waiting keeps its place and takes the newest work. */
  enqueue(key: string, work: Work): void {
    if (this.stopped) return;
    this.pending.set(key, work);
    this.schedule();
  }

  /**
   * Runs the work after a delay, for things only time changes (readiness, deadlines). One
   * timer per key: the earliest asked-for time wins, so repeated syncs do not pile up timers.
   */
  enqueueAfter(key: string, work: Work, delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + Math.max(0, delayMs);
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.enqueue(key, work);
      },
      Math.max(0, delayMs),
    );
    this.timers.set(key, { timer, at });
  }

  stop(): void {
    this.stopped = true;
    this.pending.clear();
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    for (let i = 0; i < BATCH && !this.stopped; i++) {
      const next = this.pending.entries().next();
      if (next.done) return;
      const [key, work] = next.value;
      this.pending.delete(key);
      try {
        work();
      } catch (error) {
        // A conflict means someone wrote in between: run again on fresh reads.
        if (isConflict(error)) this.enqueueAfter(key, work, 0);
        else if (!isNotFound(error)) {
          this.onError(key, error);
          this.enqueueAfter(key, work, RETRY_DELAY_MS * 10);
        }
      }
    }
    if (this.pending.size > 0) this.schedule();
  }
}
