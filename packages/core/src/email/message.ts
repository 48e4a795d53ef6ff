/**
 * The deploy notice as an e-mail: a one-line subject and the same content twice, as plain text
 * and as HTML that renders in common clients (tables and inline styles only: no stylesheet,
 * no images, no scripts). Built from the same DeployFacts as the Slack message, through one view
 * both renderers read, so the two parts cannot drift apart. Pure: every variation is unit-tested.
 */
import {
  alertCounts,
  canaryLine,
  isPassingVerdict,
  stepText,
  type CanaryFacts,
  type ReportSummary,
} from '../slack/gate-report.js';
import {
  failedCheckNames,
  headline,
  shortSha,
  STATUS_STYLE,
  wantsMentions,
  type DeployFacts,
  type DeployStatus,
} from '../slack/message.js';
import { escapeHtml, escapeLines, safeHref } from './html.js';

/** Unicode in place of Slack's emoji codes: mail clients show these as they are. */
export const STATUS_SYMBOL: Record<DeployStatus, string> = {
  started: '🚀',
  success: '✅',
  failure: '❌',
  cancelled: '🚫',
  'rolled-back': '⏪',
};

const ALERT_SYMBOL: Record<string, string> = { critical: '🔴', warning: '🟠' };

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

interface AlertView {
  level: string;
  metric: string;
  value: string;
  /** `> 5.00%`: the side of the threshold that is worse, then the threshold. */
  threshold: string;
}

interface ReportView {
  canary?: {
    line: string;
    failed: boolean;
    promoted: boolean;
    observedSplit?: string;
    /** When the report dates its steps: one line per step, `14:01:02 UTC 5% ✗ fail · 5.3% of the traffic seen`. */
    timeline: string[];
  };
  gate?: { verdict: string; passed: boolean; counts: string };
  failing: { name: string; verdict: string; detail?: string }[];
  alerts?: { counts: string; items: AlertView[] };
}

/** What the notice says, before it is text or HTML. All strings raw: renderers escape. */
interface NoticeView {
  status: DeployStatus;
  headline: string;
  /** On a failed or rolled-back deploy: the checks and the phase that failed, right under the headline. */
  failedChecks: string[];
  failedPhase?: string;
  text?: string;
  facts: [string, string][];
  commit?: { short: string; url: string; message?: string };
  report?: ReportView;
  runUrl?: string;
  footer: string;
}

/** One line, as a header must be: a value with line breaks cannot start a new header. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function timeline(canary: CanaryFacts): string[] {
  if (!canary.steps.some((step) => step.at !== undefined)) return [];
  return canary.steps.map((step) =>
    [
      `${step.at ? `${new Date(step.at).toISOString().slice(11, 19)} UTC` : 'at an unknown time'} ${stepText(step)}`,
      ...(step.observed !== undefined ? [`${step.observed}% of the traffic seen`] : []),
    ].join(' · '),
  );
}

function reportView(report: ReportSummary): ReportView {
  const view: ReportView = { failing: report.failing };
  if (report.canary) {
    const canary = report.canary;
    view.canary = {
      line: canaryLine(canary),
      failed:
        canary.phase === 'aborted' ||
        canary.steps.some((s) => s.verdict !== undefined && !isPassingVerdict(s.verdict)),
      promoted: canary.phase === 'promoted',
      ...(canary.observedSplit ? { observedSplit: canary.observedSplit } : {}),
      timeline: timeline(canary),
    };
  }
  // A canary run that judged nothing (promote, abort, status) has no gate to speak of.
  if (!(report.canary && report.verdict === 'none' && report.total === 0)) {
    view.gate = {
      verdict: report.verdict,
      passed: report.passed,
      counts:
        report.total > 0
          ? `${report.failing.length} of ${report.total} check${report.total === 1 ? '' : 's'} not passing`
          : '',
    };
  }
  if (report.alerts && report.alerts.length > 0) {
    view.alerts = {
      counts: alertCounts(report.alerts),
      items: report.alerts.map((a) => ({
        level: a.level,
        metric: a.metric,
        value: a.value,
        threshold: `${a.direction === 'above' ? '> ' : a.direction === 'below' ? '< ' : ''}${a.threshold}`,
      })),
    };
  }
  return view;
}

function noticeView(facts: DeployFacts): NoticeView {
  const list: [string, string][] = [];
  if (facts.environment) list.push(['Environment', facts.environment]);
  if (facts.version) list.push(['Version', facts.version]);
  if (facts.strategy) list.push(['Strategy', facts.strategy]);
  for (const [name, value] of facts.fields) list.push([name, value === '' ? '-' : value]);
  const footer = [
    ...(facts.actor ? [`by ${facts.actor}`] : []),
    facts.repository,
    ...(facts.workflow ? [`${facts.workflow}${facts.runNumber ? ` #${facts.runNumber}` : ''}`] : []),
  ].join(' · ');
  const message = facts.commit?.message?.trim();
  const failedPhase = wantsMentions(facts.status) ? facts.report?.failedPhase : undefined;
  return {
    status: facts.status,
    headline: oneLine(headline(facts)),
    failedChecks: failedCheckNames(facts),
    ...(failedPhase ? { failedPhase } : {}),
    ...(facts.text ? { text: facts.text } : {}),
    facts: list,
    ...(facts.commit
      ? {
          commit: {
            short: shortSha(facts.commit.sha),
            url: facts.commit.url,
            ...(message ? { message } : {}),
          },
        }
      : {}),
    ...(facts.report ? { report: reportView(facts.report) } : {}),
    ...(facts.runUrl ? { runUrl: facts.runUrl } : {}),
    footer,
  };
}

export function defaultSubject(facts: DeployFacts): string {
  return `${STATUS_SYMBOL[facts.status]} ${oneLine(headline(facts))}`;
}

function indent(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => (line.trim() === '' ? '' : `    ${line}`))
    .join('\n');
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

function failureText(view: NoticeView): string[] {
  return [
    ...(view.failedChecks.length > 0
      ? [`Failed ${plural(view.failedChecks.length, 'check')}: ${view.failedChecks.join(', ')}`]
      : []),
    ...(view.failedPhase ? [`Failed phase: ${view.failedPhase}`] : []),
  ];
}

function reportText(report: ReportView): string[] {
  const lines: string[] = [];
  if (report.canary) {
    lines.push(report.canary.line);
    if (report.canary.observedSplit) lines.push(`Observed split: ${report.canary.observedSplit}`);
    lines.push(...report.canary.timeline.map((step) => `  - ${step}`));
  }
  if (report.gate) {
    lines.push(`Gate verdict: ${report.gate.verdict}${report.gate.counts ? ` (${report.gate.counts})` : ''}`);
    for (const check of report.failing)
      lines.push(`  - ${check.name} ${check.verdict}${check.detail ? `: ${check.detail}` : ''}`);
  }
  if (report.alerts) {
    lines.push(`Monitoring alerts: ${report.alerts.counts}`);
    for (const a of report.alerts.items)
      lines.push(`  - ${a.level} ${a.metric} ${a.value} (threshold ${a.threshold})`);
  }
  return lines;
}

function renderText(view: NoticeView): string {
  const blocks: string[] = [`${STATUS_SYMBOL[view.status]} ${view.headline}`];
  const failure = failureText(view);
  if (failure.length > 0) blocks.push(failure.join('\n'));
  if (view.text) blocks.push(view.text);
  if (view.facts.length > 0) blocks.push(view.facts.map(([k, v]) => `${k}: ${v}`).join('\n'));
  if (view.commit)
    blocks.push(
      `Commit ${view.commit.short}: ${view.commit.url}${view.commit.message ? `\n${indent(view.commit.message)}` : ''}`,
    );
  if (view.report) blocks.push(reportText(view.report).join('\n'));
  if (view.runUrl) blocks.push(`Run: ${view.runUrl}`);
  blocks.push(view.footer);
  return `${blocks.join('\n\n')}\n`;
}

const FONT = "-apple-system,'Segoe UI',Helvetica,Arial,sans-serif";
const MUTED = '#616061';
const RED = '#E01E5A';

function row(content: string, padding = '8px 24px'): string {
  return `<tr><td style="padding:${padding};">${content}</td></tr>`;
}

function link(url: string, label: string): string {
  const href = safeHref(url);
  return href ? `<a href="${href}" style="color:#1264a3;">${label}</a>` : label;
}

function factsHtml(facts: [string, string][]): string {
  const rows = facts
    .map(
      ([k, v]) =>
        `<tr><td style="padding:2px 16px 2px 0;color:${MUTED};vertical-align:top;white-space:nowrap;">${escapeHtml(k)}</td>` +
        `<td style="padding:2px 0;vertical-align:top;">${escapeLines(v)}</td></tr>`,
    )
    .join('');
  return `<table role="presentation" cellpadding="0" cellspacing="0" style="font-size:14px;">${rows}</table>`;
}

function dot(color: string): string {
  return `<span style="color:${color};">&#9679;</span>`;
}

function list(items: string[]): string {
  return `<ul style="margin:0 0 6px;padding-left:20px;">${items.map((item) => `<li>${item}</li>`).join('')}</ul>`;
}

function failureHtml(view: NoticeView): string {
  const parts: string[] = [];
  if (view.failedChecks.length > 0) {
    const names = view.failedChecks.map((name) => `<code>${escapeHtml(name)}</code>`).join(', ');
    parts.push(`<strong>Failed ${plural(view.failedChecks.length, 'check')}:</strong> ${names}`);
  }
  if (view.failedPhase) parts.push(`<strong>Failed phase:</strong> ${escapeHtml(view.failedPhase)}`);
  return `<p style="margin:0;color:${RED};">${parts.join(' · ')}</p>`;
}

function reportHtml(report: ReportView): string {
  const parts: string[] = [];
  if (report.canary) {
    const color = report.canary.failed ? RED : report.canary.promoted ? '#2EB67D' : '#ECB22E';
    parts.push(
      `<p style="margin:0 0 6px;">${dot(color)} <strong>${escapeHtml(report.canary.line)}</strong></p>`,
    );
    if (report.canary.observedSplit)
      parts.push(`<p style="margin:0 0 6px;">Observed split: ${escapeHtml(report.canary.observedSplit)}</p>`);
    if (report.canary.timeline.length > 0) parts.push(list(report.canary.timeline.map(escapeHtml)));
  }
  if (report.gate) {
    const counts = report.gate.counts ? ` (${escapeHtml(report.gate.counts)})` : '';
    parts.push(
      `<p style="margin:0 0 6px;">${dot(report.gate.passed ? '#2EB67D' : RED)} <strong>Gate verdict: ${escapeHtml(report.gate.verdict)}</strong>${counts}</p>`,
    );
    if (report.failing.length > 0)
      parts.push(
        list(
          report.failing.map(
            (c) =>
              `<code>${escapeHtml(c.name)}</code> ${escapeHtml(c.verdict)}${c.detail ? `: ${escapeHtml(c.detail)}` : ''}`,
          ),
        ),
      );
  }
  if (report.alerts) {
    parts.push(
      `<p style="margin:0 0 6px;"><strong>Monitoring alerts: ${escapeHtml(report.alerts.counts)}</strong></p>`,
    );
    parts.push(
      list(
        report.alerts.items.map(
          (a) =>
            `${ALERT_SYMBOL[a.level] ?? '⚪'} <strong>${escapeHtml(a.level)}</strong> <code>${escapeHtml(a.metric)}</code> ${escapeHtml(a.value)} (threshold ${escapeHtml(a.threshold)})`,
        ),
      ),
    );
  }
  return parts.join('\n');
}

function renderHtml(view: NoticeView, subject: string): string {
  const color = STATUS_STYLE[view.status].color;
  const rows: string[] = [
    row(
      `<h1 style="margin:0;font-size:20px;line-height:1.3;">${STATUS_SYMBOL[view.status]} ${escapeHtml(view.headline)}</h1>`,
      '20px 24px 8px',
    ),
  ];
  if (view.failedChecks.length > 0 || view.failedPhase) rows.push(row(failureHtml(view)));
  if (view.text) rows.push(row(`<p style="margin:0;">${escapeLines(view.text)}</p>`));
  if (view.facts.length > 0) rows.push(row(factsHtml(view.facts)));
  if (view.commit) {
    const message = view.commit.message
      ? `<div style="margin-top:4px;padding:8px 12px;background:#f8f8f8;border-left:3px solid #dddddd;font-family:Menlo,Consolas,monospace;font-size:13px;">${escapeLines(view.commit.message)}</div>`
      : '';
    rows.push(
      row(
        `<strong>Commit</strong> ${link(view.commit.url, `<code>${escapeHtml(view.commit.short)}</code>`)}${message}`,
      ),
    );
  }
  if (view.report) rows.push(row(reportHtml(view.report)));
  const runHref = safeHref(view.runUrl);
  if (runHref)
    rows.push(
      row(
        `<a href="${runHref}" style="display:inline-block;padding:8px 16px;background:${color};color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold;">View run</a>`,
        '12px 24px',
      ),
    );
  rows.push(
    row(`<span style="color:${MUTED};font-size:12px;">${escapeHtml(view.footer)}</span>`, '8px 24px 20px'),
  );
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title></head>`,
    '<body style="margin:0;padding:0;background:#f4f5f7;">',
    '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7;"><tr><td align="center" style="padding:24px 12px;">',
    `<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="max-width:600px;width:100%;background:#ffffff;border-top:6px solid ${color};font-family:${FONT};font-size:14px;line-height:1.5;color:#1d1c1d;">`,
    ...rows,
    '</table>',
    '</td></tr></table>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The notice for `facts`; `subject` replaces the default one (still made one line). */
export function composeEmail(facts: DeployFacts, subject?: string): EmailContent {
  const view = noticeView(facts);
  const finalSubject = subject === undefined ? defaultSubject(facts) : oneLine(subject);
  return { subject: finalSubject, text: renderText(view), html: renderHtml(view, finalSubject) };
}
