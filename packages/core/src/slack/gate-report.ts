/**
 * Summaries of health-gate and deploy reports for the Slack message and the job summary. Any
 * JSON of the generic shape `{ verdict, checks: [{ name, verdict, ... }] }` is accepted; extra
 * keys of a check (value, threshold, reason, message, samples) are shown when present. A
 * canary-step report (`strategy: 'canary'`) also says where the canary stands, and a report with
 * a monitoring section (health-gate's) brings its graded alerts.
 */
export interface ReportCheck {
  name: string;
  verdict: string;
  /** One line: the check's evidence (value, threshold, reason...), already plain text. */
  detail?: string;
}

/** One weight a canary reached, and how its gate ended (absent: not judged). */
export interface CanaryStepFact {
  weight: number;
  verdict?: string;
  /** When the step was taken (ISO 8601), when the report says. */
  at?: string;
  /** The canary's share of the traffic seen at this step, percent. */
  observed?: number;
  /** The workflow run that took the step (one step per job spreads a canary over runs). */
  runId?: string;
}

/** Where a canary stands, from canary-step's report. */
export interface CanaryFacts {
  /** progressing, paused, promoted, aborted or none. */
  phase: string;
  /** The canary's weight when its step ended. */
  weight: number;
  steps: CanaryStepFact[];
  observedSplit?: string;
}

/** One graded alert of the report's deploy monitoring section (health-gate's `monitoring.alerts`). */
export interface ReportAlert {
  /** critical or warning. */
  level: string;
  metric: string;
  /** The value and threshold as the report shows them (`20.00%`), else the raw numbers. */
  value: string;
  threshold: string;
  /** above or below: which side of the threshold is worse. */
  direction?: string;
}

export interface ReportSummary {
  verdict: string;
  /** Whether the verdict reads as a pass. */
  passed: boolean;
  total: number;
  failing: ReportCheck[];
  canary?: CanaryFacts;
  /** The monitoring alerts, critical first; absent when the report has no monitoring section. */
  alerts?: ReportAlert[];
  /** The deploy phase that failed (canary-step's and the deploy actions' `failedPhase`). */
  failedPhase?: string;
}

const PASSING = new Set(['pass', 'passed', 'ok', 'success', 'succeeded', 'healthy', 'promote', 'promoted']);

export function isPassingVerdict(verdict: string): boolean {
  return PASSING.has(verdict.toLowerCase());
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function scalar(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

const DETAIL_KEYS = ['value', 'threshold', 'samples', 'reason', 'message'] as const;

function detailOf(check: Record<string, unknown>): string | undefined {
  const parts: string[] = [];
  for (const key of DETAIL_KEYS) {
    const text = scalar(check[key]);
    if (text !== undefined && text !== '')
      parts.push(key === 'reason' || key === 'message' ? text : `${key} ${text}`);
  }
  return parts.length > 0 ? parts.join(', ') : undefined;
}

/** The canary part of a canary-step report; undefined for any other report, or one too damaged to read. */
function canaryFacts(report: Record<string, unknown>): CanaryFacts | undefined {
  if (report.strategy !== 'canary' || typeof report.phase !== 'string') return undefined;
  const steps = (Array.isArray(report.steps) ? report.steps : [])
    .filter((step): step is Record<string, unknown> => isObject(step) && typeof step.weight === 'number')
    .map((step): CanaryStepFact => {
      const verdict = scalar(step.verdict);
      const at = typeof step.at === 'string' && !Number.isNaN(Date.parse(step.at)) ? step.at : undefined;
      const runId = scalar(step.runId);
      return {
        weight: step.weight as number,
        ...(verdict ? { verdict } : {}),
        ...(at ? { at } : {}),
        ...(typeof step.observed === 'number' ? { observed: step.observed } : {}),
        ...(runId ? { runId } : {}),
      };
    });
  const observedSplit = scalar(report.observedSplit);
  return {
    phase: report.phase,
    weight: typeof report.weight === 'number' ? report.weight : 0,
    steps,
    ...(observedSplit ? { observedSplit } : {}),
  };
}

/**
 * The alerts of `monitoring.alerts` (or a top-level `alerts`), critical first. An entry without
 * a level or a metric is left out: the notice still goes, with what can be read.
 */
function alertsOf(report: Record<string, unknown>): ReportAlert[] | undefined {
  const list = isObject(report.monitoring) ? report.monitoring.alerts : report.alerts;
  if (!Array.isArray(list)) return undefined;
  const alerts: ReportAlert[] = [];
  for (const entry of list) {
    if (!isObject(entry)) continue;
    const level = scalar(entry.level);
    const metric = scalar(entry.metric);
    if (!level || !metric) continue;
    const direction = scalar(entry.direction);
    alerts.push({
      level,
      metric,
      value: scalar(entry.shownValue) ?? scalar(entry.value) ?? 'unknown',
      threshold: scalar(entry.shownThreshold) ?? scalar(entry.threshold) ?? 'unknown',
      ...(direction ? { direction } : {}),
    });
  }
  const rank = (alert: ReportAlert): number => (alert.level === 'critical' ? 0 : 1);
  return alerts.sort((a, b) => rank(a) - rank(b));
}

/** `1 critical, 2 warning`, or `none`. */
export function alertCounts(alerts: readonly ReportAlert[]): string {
  if (alerts.length === 0) return 'none';
  const counts = new Map<string, number>();
  for (const alert of alerts) counts.set(alert.level, (counts.get(alert.level) ?? 0) + 1);
  return [...counts].map(([level, n]) => `${n} ${level}`).join(', ');
}

/** The checks that failed outright, else every one that did not pass: what a failure notice names. */
export function failedChecks(report: ReportSummary): ReportCheck[] {
  const failed = report.failing.filter((check) => check.verdict.toLowerCase() === 'fail');
  return failed.length > 0 ? failed : report.failing;
}

export function stepText(step: CanaryStepFact): string {
  if (step.verdict === undefined) return `${step.weight}% – not judged`;
  if (isPassingVerdict(step.verdict)) return `${step.weight}% ✓`;
  return `${step.weight}% ${step.verdict === 'fail' ? '✗' : '⚠'} ${step.verdict}`;
}

/**
 * The canary in one plain-text line: its phase, where it stopped and each weight reached with its
 * gate's verdict, e.g. `Canary aborted at 5%: 5% ✗ fail` or `Canary promoted: 5% ✓ · 100% ✓`.
 */
export function canaryLine(canary: CanaryFacts): string {
  const head = canaryHead(canary);
  return canary.steps.length > 0 ? `${head}: ${canary.steps.map(stepText).join(' · ')}` : head;
}

function canaryHead(canary: CanaryFacts): string {
  switch (canary.phase) {
    case 'promoted':
      return 'Canary promoted';
    case 'aborted':
      // After an abort the router holds 0%: where it stopped is the last weight reached.
      return `Canary aborted at ${canary.steps.at(-1)?.weight ?? canary.weight}%`;
    case 'paused':
      return `Canary paused at ${canary.weight}%`;
    case 'progressing':
      return `Canary at ${canary.weight}%`;
    case 'none':
      return 'No canary';
    default:
      return `Canary ${canary.phase}`;
  }
}

/**
 * Reads a parsed report; returns its summary or the reason it is not a report (for the input
 * error). The verdict may be a string or `{ verdict | decision | result }`.
 */
export function summarizeReport(
  report: unknown,
): { ok: true; summary: ReportSummary } | { ok: false; reason: string } {
  if (!isObject(report)) return { ok: false, reason: 'the report is not a JSON object' };
  const verdictValue = report.verdict ?? report.decision ?? report.result;
  const verdict = scalar(verdictValue) ?? (isObject(verdictValue) ? scalar(verdictValue.verdict) : undefined);
  if (verdict === undefined || verdict === '')
    return { ok: false, reason: 'the report has no "verdict" string' };
  const checksValue = report.checks ?? [];
  if (!Array.isArray(checksValue)) return { ok: false, reason: '"checks" is not a list' };
  const failing: ReportCheck[] = [];
  for (const [i, check] of checksValue.entries()) {
    if (!isObject(check)) return { ok: false, reason: `checks[${i}] is not an object` };
    const name = scalar(check.name);
    const checkVerdict = scalar(check.verdict ?? check.result ?? check.status);
    if (name === undefined) return { ok: false, reason: `checks[${i}] has no "name"` };
    if (checkVerdict === undefined) return { ok: false, reason: `checks[${i}] (${name}) has no "verdict"` };
    if (isPassingVerdict(checkVerdict)) continue;
    const detail = detailOf(check);
    failing.push({ name, verdict: checkVerdict, ...(detail !== undefined ? { detail } : {}) });
  }
  const canary = canaryFacts(report);
  const alerts = alertsOf(report);
  const failedPhase = scalar(report.failedPhase);
  return {
    ok: true,
    summary: {
      verdict,
      passed: isPassingVerdict(verdict),
      total: checksValue.length,
      failing,
      ...(canary ? { canary } : {}),
      ...(alerts ? { alerts } : {}),
      ...(failedPhase ? { failedPhase } : {}),
    },
  };
}
