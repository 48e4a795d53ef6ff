/**
 * Summaries of health-gate and deploy reports for the Slack message and the job summary. Any
 * JSON of the generic shape `{ verdict, checks: [{ name, verdict, ... }] }` is accepted; extra
 * keys of a check (value, threshold, reason, message, samples) are shown when present.
 */
export interface ReportCheck {
  name: string;
  verdict: string;
  /** One line: the check's evidence (value, threshold, reason...), already plain text. */
  detail?: string;
}

export interface ReportSummary {
  verdict: string;
  /** Whether the verdict reads as a pass. */
  passed: boolean;
  total: number;
  failing: ReportCheck[];
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
  return {
    ok: true,
    summary: { verdict, passed: isPassingVerdict(verdict), total: checksValue.length, failing },
  };
}
