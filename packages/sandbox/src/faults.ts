/**
 * One fault-injection API for every part of the sandbox, and one audit log of every request.
 * Each server asks `faults.take(target, request)` before answering and records what it did.
 */
export type FaultTarget = 'api' | 'workload' | 'prometheus' | 'slack' | 'github';

export interface FaultMatch {
  /** Kubernetes verb (get, list, watch, create, update, patch, delete) or Slack/GitHub method name. */
  verb?: string;
  /** HTTP method, upper case. */
  method?: string;
  /** Substring of, or pattern for, the request path. */
  path?: string | RegExp;
  /** Workloads: the pod's version label (else pod-template-hash). */
  version?: string;
}

export interface FaultRule {
  target: FaultTarget;
  match?: FaultMatch;
  /** Answer with this HTTP status instead of serving the request. */
  status?: number;
  /** Sent as Retry-After (seconds) with the status. */
  retryAfterSeconds?: number;
  /** Body of the faulty answer (JSON); a sensible default per target otherwise. */
  body?: unknown;
  /** Delay before answering (applies with or without a status). */
  latencyMs?: number;
  /** Probability 0..1 that a matching request is hit; default 1. */
  rate?: number;
  /** How many requests to hit before the rule retires; default unlimited. */
  times?: number;
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
}

interface ActiveRule extends FaultRule {
  id: number;
  remaining: number;
}

export class Faults {
  private rules: ActiveRule[] = [];
  private nextId = 1;

  /** Adds a rule; returns a function that removes it. */
  add(rule: FaultRule): () => void {
    const id = this.nextId++;
    this.rules.push({ ...rule, id, remaining: rule.times ?? Number.POSITIVE_INFINITY });
    return () => this.remove(id);
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(target?: FaultTarget): void {
    this.rules = target ? this.rules.filter((r) => r.target !== target) : [];
  }

  /** The first rule that matches and fires for this request, counted against its `times`. */
  take(target: FaultTarget, request: FaultRequest): FaultRule | undefined {
    for (const rule of this.rules) {
      if (rule.target !== target || rule.remaining <= 0 || !matches(rule.match, request)) continue;
      if (rule.rate !== undefined && Math.random() >= rule.rate) continue;
      rule.remaining -= 1;
      if (rule.remaining <= 0) this.remove(rule.id);
      return rule;
    }
    return undefined;
  }
}

function matches(match: FaultMatch | undefined, request: FaultRequest): boolean {
  if (!match) return true;
  if (match.verb !== undefined && match.verb !== request.verb) return false;
  if (match.method !== undefined && match.method.toUpperCase() !== request.method?.toUpperCase())
    return false;
  if (match.version !== undefined && match.version !== request.version) return false;
  if (match.path !== undefined) {
    const path = request.path ?? '';
    if (typeof match.path === 'string' ? !path.includes(match.path) : !match.path.test(path)) return false;
  }
  return true;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface AuditEntry {
  time: string;
  target: FaultTarget;
  /** The token's name (never its value), or 'anonymous'. */
  user: string;
  verb: string;
  method: string;
  path: string;
  status: number;
  dryRun?: boolean;
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
