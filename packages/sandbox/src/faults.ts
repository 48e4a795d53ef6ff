/**
 * One fault-injection API for every part of the sandbox, and one audit log of every request.
 * Each server asks `faults.take(target, request)` before answering, applies what the rule says
 * (`applyConnectionFault` for the effects on the connection itself, the same on every server),
 * reports the outcome with `faults.served(...)`, and records it in the audit log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type FaultTarget = 'api' | 'workload' | 'prometheus' | 'slack' | 'github';

export interface FaultMatch {
  /** Kubernetes verb (get, list, watch, create, update, patch, delete) or Slack/GitHub method name. */
  verb?: string;
  /** HTTP method, upper case. */
  method?: string;
  /** Substring of, or pattern for, the request path (without the query). */
  path?: string | RegExp;
  /** Workloads: the pod's version label (else pod-template-hash). */
  version?: string;
  /**
   * API: only dry-run requests (true) or only real ones (false). A dry-run apply and the real
   * apply that follows it share verb and path; this tells them apart.
   */
  dryRun?: boolean;
}

/** What a rule did to a request, as the audit log and `Faults.hits` name it. */
export type FaultKind =
  | 'dropBeforeServe'
  | 'stall'
  | 'status'
  | 'body'
  | 'conflict'
  | 'dropAfterServe'
  | 'stallAfterServe'
  | 'dropWatch'
  | 'latency';

export interface FaultRule {
  target: FaultTarget;
  match?: FaultMatch;
  /** Echoed in audit entries and hits, so a test can tell which of its rules fired where. */
  name?: string;
  /** Answer with this HTTP status instead of serving the request. */
  status?: number;
  /** Sent as Retry-After (seconds) with the status. */
  retryAfterSeconds?: number;
  /** Body of the faulty answer (JSON); a sensible default per target otherwise. */
  body?: unknown;
  /**
   * Delay before serving (applies with or without a status). Cut short, and nothing served,
   * when the client disconnects or the sandbox stops: a write the client gave up on is never
   * stored late, and no timer outlives the sandbox.
   */
  latencyMs?: number;
  /** Probability 0..1 that a matching request is hit; default 1. */
  rate?: number;
  /** How many requests to hit before the rule retires; default unlimited (1 with `nth`). */
  times?: number;
  /**
   * Leave the first nth-1 matching requests alone and hit the nth (1-based, counted once the
   * rule is armed); `times` counts from there and defaults to 1. A fault matrix replays a
   * healthy run and fails exactly one of its requests: "the 3rd PATCH of deployments/web".
   * Every matching request counts, whether or not another rule hit it.
   */
  nth?: number;
  /**
   * Armed only once a request matching this has been served with a 2xx (on `target`, or the
   * one given here; a request whose answer an after-serve rule withheld counts, as it was
   * served): "the first GET of endpointslices after the PUT of services/web" must leave the
   * same reads before the switch alone. Arms on api, slack, github and prometheus requests.
   */
  after?: FaultMatch & { target?: FaultTarget };
  /**
   * Destroy the connection without serving (the request body is read first): the client sees
   * a reset / socket hang up, and nothing happened on the server.
   * Targets api, slack, github and prometheus.
   */
  dropBeforeServe?: boolean;
  /**
   * Serve the request for real (a write is stored, a message posted, a status recorded), then
   * destroy the connection instead of answering. The client sees a reset / socket hang up and
   * cannot tell whether its write happened: the ambiguous case it must resolve by reading (a
   * notifier that simply retries posts twice). Targets api, slack, github and prometheus.
   */
  dropAfterServe?: boolean;
  /**
   * Never answer and serve nothing, until the client gives up or the sandbox stops: proves a
   * client's wait has a deadline. Targets api, slack, github and prometheus.
   */
  stall?: boolean;
  /**
   * Serve the request for real, then never answer: a write that was stored although its
   * client timed out. Targets api, slack, github and prometheus.
   */
  stallAfterServe?: boolean;
  /** API watches: close the stream this many ms after it opened. */
  dropWatchAfterMs?: number;
  /** API writes: answer 409 Conflict as if the resourceVersion were stale. */
  conflict?: boolean;
}

export interface FaultRequest {
  verb?: string;
  method?: string;
  path?: string;
  version?: string;
  dryRun?: boolean;
}

/** A rule as `take` hands it out: the rule plus its id. */
export interface FiredRule extends FaultRule {
  readonly id: number;
}

/** One request a rule hit, logged the moment it was hit (before any latency or stall). */
export interface FaultHit {
  time: string;
  rule: number;
  name?: string;
  kind: FaultKind;
  target: FaultTarget;
  request: FaultRequest;
}

interface ActiveRule extends FiredRule {
  /** Hits left before the rule retires. */
  remaining: number;
  /** Matching requests seen since the rule was armed. */
  seen: number;
  armed: boolean;
}

/** setTimeout's ceiling; a longer wait is a stall. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class Faults {
  /** Every request a rule hit, in order; emptied by `clear()` without a target. */
  readonly hits: FaultHit[] = [];
  private rules: ActiveRule[] = [];
  private nextId = 1;

  /** Adds a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void {
    if (rule.nth !== undefined && !(Number.isInteger(rule.nth) && rule.nth >= 1))
      throw new Error(`fault rule nth must be a whole number from 1, got ${rule.nth}`);
    if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times >= 1))
      throw new Error(`fault rule times must be a whole number from 1, got ${rule.times}`);
    const id = this.nextId++;
    const times = rule.times ?? (rule.nth !== undefined ? 1 : Number.POSITIVE_INFINITY);
    this.rules.push({ ...rule, id, remaining: times, seen: 0, armed: rule.after === undefined });
    return () => this.remove(id);
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(target?: FaultTarget): void {
    this.rules = target ? this.rules.filter((r) => r.target !== target) : [];
    if (!target) this.hits.length = 0;
  }

  /**
   * The first rule that matches and fires for this request, counted against its `times`.
   * Every armed rule that matches counts the request towards its `nth`.
   */
  take(target: FaultTarget, request: FaultRequest): FiredRule | undefined {
    let fired: ActiveRule | undefined;
    for (const rule of [...this.rules]) {
      if (rule.target !== target || !rule.armed || !matches(rule.match, request)) continue;
      rule.seen += 1;
      if (fired || rule.seen < (rule.nth ?? 1)) continue;
      if (rule.rate !== undefined && Math.random() >= rule.rate) continue;
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.remove(rule.id);
      fired = rule;
    }
    if (fired) {
      this.hits.push({
        time: new Date().toISOString(),
        rule: fired.id,
        ...(fired.name !== undefined ? { name: fired.name } : {}),
        kind: faultKind(fired),
        target,
        request,
      });
    }
    return fired;
  }

  /** Tells the rules waiting on `after` how a request ended (status 0: it got no answer). */
  served(target: FaultTarget, request: FaultRequest, status: number): void {
    if (status < 200 || status >= 300) return;
    for (const rule of this.rules) {
      if (rule.armed || !rule.after) continue;
      if ((rule.after.target ?? rule.target) === target && matches(rule.after, request)) rule.armed = true;
    }
  }
}

function matches(match: FaultMatch | undefined, request: FaultRequest): boolean {
  if (!match) return true;
  if (match.verb !== undefined && match.verb !== request.verb) return false;
  if (match.method !== undefined && match.method.toUpperCase() !== request.method?.toUpperCase())
    return false;
  if (match.version !== undefined && match.version !== request.version) return false;
  if (match.dryRun !== undefined && match.dryRun !== (request.dryRun ?? false)) return false;
  if (match.path !== undefined) {
    const path = request.path ?? '';
    if (typeof match.path === 'string' ? !path.includes(match.path) : !match.path.test(path)) return false;
  }
  return true;
}

/** The effect that defines a rule, for the record; one rule usually has one. */
export function faultKind(rule: FaultRule): FaultKind {
  if (rule.dropBeforeServe) return 'dropBeforeServe';
  if (rule.stall) return 'stall';
  if (rule.status !== undefined) return 'status';
  if (rule.body !== undefined) return 'body';
  if (rule.conflict) return 'conflict';
  if (rule.dropAfterServe) return 'dropAfterServe';
  if (rule.stallAfterServe) return 'stallAfterServe';
  if (rule.dropWatchAfterMs !== undefined) return 'dropWatch';
  return 'latency';
}

/** The audit entry's note of the rule that hit a request. */
export function faultNote(rule: FiredRule): NonNullable<AuditEntry['fault']> {
  return { rule: rule.id, kind: faultKind(rule), ...(rule.name !== undefined ? { name: rule.name } : {}) };
}

/**
 * Waits `ms` (Infinity: until aborted) unless `signal` aborts first; true when the time ran
 * out, false when aborted. Clears its timer either way, so it never keeps a process alive.
 */
export function wait(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (ranOut: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ranOut);
    };
    const onAbort = (): void => finish(false);
    const timer = ms <= MAX_TIMER_MS ? setTimeout(finish, Math.max(0, ms), true) : undefined;
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Aborts when the exchange's connection closes: the client left, or the server is stopping. */
function connectionClosed(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  if (res.destroyed) controller.abort();
  else res.once('close', () => controller.abort());
  return controller.signal;
}

/** Resolves once the request body has been read to its end (or the connection closed). */
function drained(req: IncomingMessage, signal: AbortSignal): Promise<void> {
  if (req.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    req.once('end', done);
    signal.addEventListener('abort', done, { once: true });
    req.resume();
  });
}

/**
 * Applies a rule's effects on the connection itself, the same way on every server: latency,
 * then a stall or a drop before serving; for an after-serve rule, takes over `res` so the
 * answer the server goes on to write is withheld (`onAnswer` gets the status it meant to send)
 * and the connection is then destroyed or left silent.
 * Resolves true when the server should serve the request now; false when the exchange is over
 * (dropped, stalled, or the client or the sandbox went away during the latency): serve nothing.
 */
export async function applyConnectionFault(
  rule: FaultRule,
  req: IncomingMessage,
  res: ServerResponse,
  onAnswer: (status: number) => void = () => undefined,
): Promise<boolean> {
  const closed = connectionClosed(res);
  if (rule.latencyMs && !(await wait(rule.latencyMs, closed))) return false;
  if (rule.stall) {
    await wait(Number.POSITIVE_INFINITY, closed);
    return false;
  }
  if (rule.dropBeforeServe) {
    await drained(req, closed);
    res.destroy();
    return false;
  }
  if (rule.dropAfterServe || rule.stallAfterServe)
    withholdAnswer(res, Boolean(rule.dropAfterServe), onAnswer);
  return !closed.aborted;
}

/**
 * Replaces the answer-writing methods of `res`: whatever the server writes goes nowhere; at the
 * first write the status it meant to send is reported and the connection is destroyed (drop)
 * or left open and silent (stall) until the client or the server closes it.
 */
function withholdAnswer(res: ServerResponse, drop: boolean, onAnswer: (status: number) => void): void {
  let answered = false;
  const answer = (status: number): void => {
    if (answered) return;
    answered = true;
    onAnswer(status);
    if (drop) res.destroy();
  };
  res.writeHead = (status: number) => {
    answer(status);
    return res;
  };
  res.flushHeaders = () => answer(res.statusCode);
  res.write = (() => {
    answer(res.statusCode);
    return true;
  }) as ServerResponse['write'];
  res.end = (() => {
    answer(res.statusCode);
    return res;
  }) as ServerResponse['end'];
}

export interface AuditEntry {
  time: string;
  target: FaultTarget;
  /** The token's name (never its value), or 'anonymous'. */
  user: string;
  verb: string;
  method: string;
  /** Without the query. */
  path: string;
  /**
   * The status the server answered with, or meant to when a fault withheld the answer
   * (dropAfterServe, stallAfterServe); 0 when no answer was made (dropped or stalled before
   * serving, or the client left first).
   */
  status: number;
  /** API: the request was a dry run (`?dryRun=All`). */
  dryRun?: boolean;
  /** API lists and watches: the selectors asked for. */
  fieldSelector?: string;
  labelSelector?: string;
  /** The rule that hit this request, if one did. */
  fault?: { rule: number; kind: FaultKind; name?: string };
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/**
 * POSTs that change nothing in the cluster: access reviews (`kubectl auth can-i`, preflight
 * checks) and requests proxied through to a workload.
 */
function isReadOnlyCreate(path: string): boolean {
  return path.endsWith('/selfsubjectaccessreviews') || /\/services\/[^/]+\/proxy(\/|$)/.test(path);
}

export class AuditLog {
  readonly entries: AuditEntry[] = [];

  record(entry: Omit<AuditEntry, 'time'>): void {
    this.entries.push({ time: new Date().toISOString(), ...entry });
  }

  /** Kubernetes API writes that were not dry runs, optionally only those that succeeded. */
  writes(options: { succeededOnly?: boolean } = {}): AuditEntry[] {
    return this.entries.filter(
      (e) =>
        e.target === 'api' &&
        WRITE_VERBS.has(e.verb) &&
        !isReadOnlyCreate(e.path) &&
        !e.dryRun &&
        (!options.succeededOnly || (e.status >= 200 && e.status < 300)),
    );
  }

  clear(): void {
    this.entries.length = 0;
  }
}
