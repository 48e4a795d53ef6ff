/**
 * The gate's vocabulary: what a check is (as parsed from the `checks` input), what one sample of
 * it found, and the decision record a gate ends with. Types only, so every module can share them.
 */
import type { Kube } from '../kube/kube.js';
import type { PrometheusAccess } from './prometheus-access.js';
import type { Condition } from './condition.js';
import type { StatusMatcher } from './http-expect.js';
import type { Look, SequentialEvidence, SequentialOptions } from './stats/sequential.js';

export type CheckKind = 'http' | 'prometheus' | 'pods' | 'command';
export type OnNoData = 'hold' | 'pass' | 'fail';
export type OnInconclusive = 'fail' | 'pass';
export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** How many failed samples a check tolerates before it fails the gate. */
export interface FailureRules {
  /** Fails at the first failed sample. */
  critical: boolean;
  /** Fails when more than this many samples failed in total; undefined: no total limit. */
  failureLimit?: number;
  /** Fails when this many samples in a row failed; undefined when not set. */
  consecutive?: number;
  /** Fails when `failures` of the last `of` samples failed. */
  window?: { failures: number; of: number };
  /** Samples with data the check needs before it may pass. */
  minSamples?: number;
}

interface CheckBase {
  /** Unique within the gate; given or derived (`http-1`, `success-rate`). */
  name: string;
  kind: CheckKind;
  rules: FailureRules;
  /** Overrides the gate's on-no-data for this check. */
  onNoData?: OnNoData;
}

export interface HttpCheck extends CheckBase {
  kind: 'http';
  method: string;
  /** Absolute URL, or for `via: service-proxy` the path on the Service (starting with /). */
  url: string;
  via: 'direct' | 'service-proxy';
  /** For service-proxy: the Service, its namespace and port (name or number). */
  service?: { name: string; namespace?: string; port?: string };
  headers: Record<string, string>;
  body?: string;
  expectStatus: StatusMatcher;
  bodyContains?: string;
  jsonPath?: { path: string; equals: unknown };
  /** Latency budget: a slower answer fails the sample. */
  maxLatencyMs?: number;
  timeoutMs: number;
  tls: { insecureSkipVerify: boolean; ca?: string };
}

export interface PrometheusCheck extends CheckBase {
  kind: 'prometheus';
  query: string;
  condition: Condition;
  /** The template it came from, for the summary. */
  template?: string;
  /** What a template reads, so the monitoring section can watch the same Service. */
  target?: { namespace: string; service: string; version?: string };
  /** Counts the requests behind a rate; below `minRequests` the sample has no data. */
  requestsQuery?: string;
  minRequests: number;
  prometheusUrl?: string;
  /**
   * Judged against a baseline (the stable version) instead of a fixed value: the sample's value
   * is the canary's increase over the baseline and `condition` bounds it.
   */
  compare?: Comparison;
  /** Unit of the value for display: ratio, seconds or per-second. */
  unit: 'ratio' | 'seconds' | 'rps' | 'number';
}

/** Queries for one side of a comparison, each answering one number. */
export interface ComparedSide {
  /** error-rate: the number of failed requests in the window; latency: the quantile in seconds. */
  value: string;
  /** The number of requests in the window. */
  requests: string;
}

export interface Comparison {
  /**
   * error-rate: failed out of all requests, worse only when the canary's rate is above the
   * baseline's by more than the allowed increase with 99% confidence on both sides;
   * latency: worse when the canary's quantile is above the baseline's by more than the allowed share.
   */
  measure: 'error-rate' | 'latency';
  canary: ComparedSide;
  baseline: ComparedSide;
  /** What the baseline is, for the table: "stable". */
  baselineName: string;
  /**
   * error-rate only: judged by the sequential test (stats/sequential.ts) over the counts since the
   * gate began, instead of sample by sample; it may decide before the gate's duration is up.
   */
  sequential?: SequentialOptions;
  /**
   * Sequential only: what a test still undecided when the gate's duration is up says.
   * `inconclusive` (the default, health-gate's): not enough evidence. `pass` (a canary step,
   * whose duration is the time the user gave it): not shown worse over at least the check's
   * `minRequests` canary requests passes; fewer stay inconclusive.
   */
  undecidedAtEnd?: 'inconclusive' | 'pass';
  /**
   * The range of the queries, written `$window` in them: at most `maxMs`, and never reaching back
   * before `since` (epoch ms), so requests of an earlier canary under the same labels never count.
   */
  window: {
    maxMs: number;
    since?: number;
    /**
     * Sequential: the least range read, even right after `since`. Each series needs two scrapes
     * inside the range for increase() to count it; a range too short for one side's error
     * series would count that side's errors as none, and the test would weigh a false split.
     */
    minMs?: number;
  };
}

export interface PodsCheck extends CheckBase {
  kind: 'pods';
  deployment?: string;
  selector?: string;
  namespace?: string;
  /** Restarts above the first sample's count that fail a sample. */
  maxRestarts: number;
}

export interface CommandCheck extends CheckBase {
  kind: 'command';
  /** Program and arguments, never a shell string. */
  command: string[];
  timeoutMs: number;
  cwd?: string;
  env: Record<string, string>;
}

export type CheckSpec = HttpCheck | PrometheusCheck | PodsCheck | CommandCheck;

/** Values a check takes when it does not say (the action's simple inputs feed these). */
export interface CheckDefaults {
  namespace: string;
  prometheusUrl: string | undefined;
  minRequests: number;
  /** Range of the templates' rate() window. */
  windowMs: number;
  httpTimeoutMs: number;
  commandTimeoutMs: number;
  failureLimit: number;
}

export type SampleOutcome = 'ok' | 'fail' | 'no-data';

/** What one look at a check found. */
export interface Sample {
  outcome: SampleOutcome;
  value?: number;
  /** One line for the table: `HTTP 200 in 12 ms`, `0.9931 (1520 requests)`. */
  detail: string;
  /** Requests behind a rate, when known. */
  sampleSize?: number;
  /** Fails the gate at once, whatever the rules (a crash loop will not heal in a gate). */
  fatal?: boolean;
  /** The source could not be read (e.g. Prometheus unreachable): never counts as a pass. */
  error?: boolean;
  /** A sequential comparison's cumulative counts since the gate began. */
  counts?: Look;
}

/** A sequential check's evidence after one look, as the decision record keeps it. */
export type LookEvidence = Omit<SequentialEvidence, 'reason'>;

export interface SampleRecord extends Sample {
  at: string;
  elapsedMs: number;
  threshold: string;
  /** Sequential checks: the test's evidence after this look. */
  evidence?: LookEvidence;
}

export interface CheckRecord {
  name: string;
  kind: CheckKind;
  /** The pass condition in words: `>= 0.99`, `status 2xx`, `ready, no crash loop`. */
  threshold: string;
  query?: string;
  /** How the check was judged: `fixed window` or the sequential test with its settings. */
  test?: string;
  verdict: Verdict;
  reason: string;
  critical: boolean;
  samples: SampleRecord[];
  counts: { ok: number; fail: number; noData: number };
}

export interface GateDecision {
  verdict: Verdict;
  /** After on-inconclusive. */
  passed: boolean;
  reason: string;
  startedAt: string;
  endedAt: string;
  checks: CheckRecord[];
}

export interface GateOptions {
  checks: CheckSpec[];
  durationMs: number;
  intervalMs: number;
  initialDelayMs?: number;
  onNoData?: OnNoData;
  onInconclusive?: OnInconclusive;
  prometheusUrl?: string;
  /** How `prometheusUrl` is reached (credentials, CA, Service proxy); other Prometheus URLs get none of it. */
  prometheus?: PrometheusAccess;
  namespace: string;
  kube?: Kube;
  signal?: AbortSignal;
  log?: (text: string) => void;
}
