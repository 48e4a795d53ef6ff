/**
 * The default deploy notice as Block Kit: a header with the status emoji and app; for a failed
 * or rolled-back deploy, the failed check and a link to the run right under it; then, under an
 * attachment whose colour follows the status, the facts as fields, the commit linked with its
 * message, the report (a canary's steps with their times, the gate's verdict, failing checks and
 * monitoring alerts) and a button to the run. Pure: built from a `DeployFacts` value, so every
 * variation is unit-tested without a network.
 */
import {
  alertCounts,
  canaryLine,
  failedChecks,
  isPassingVerdict,
  stepText,
  type CanaryFacts,
  type CanaryStepFact,
  type ReportAlert,
  type ReportSummary,
} from './gate-report.js';
import { humanDuration } from '../inputs/duration.js';
import { escapeMrkdwn } from './text.js';

export const DEPLOY_STATUSES = ['started', 'success', 'failure', 'cancelled', 'rolled-back'] as const;
export type DeployStatus = (typeof DEPLOY_STATUSES)[number];

export const STATUS_STYLE: Record<DeployStatus, { emoji: string; color: string; verb: string }> = {
  started: { emoji: ':rocket:', color: '#439FE0', verb: 'deploying' },
  success: { emoji: ':white_check_mark:', color: '#2EB67D', verb: 'deployed' },
  failure: { emoji: ':x:', color: '#E01E5A', verb: 'deploy failed' },
  cancelled: { emoji: ':no_entry_sign:', color: '#9E9E9E', verb: 'deploy cancelled' },
  'rolled-back': { emoji: ':rewind:', color: '#ECB22E', verb: 'rolled back' },
};

export interface CommitFacts {
  sha: string;
  url: string;
  message?: string;
}

/** Everything a notice can say. Text here is raw: the builders escape it. */
export interface DeployFacts {
  status: DeployStatus;
  app?: string;
  environment?: string;
  version?: string;
  strategy?: string;
  text?: string;
  /** Extra facts from the `fields` input, in the order given. */
  fields: [string, string][];
  /** Slack ids: users (U..., W...), user groups (S...), or here/channel/everyone. */
  mentions: string[];
  durationMs?: number;
  repository: string;
  commit?: CommitFacts;
  actor?: string;
  runUrl?: string;
  workflow?: string;
  runNumber?: string;
  report?: ReportSummary;
}

export type SlackPayload = Record<string, unknown>;
type Block = Record<string, unknown>;

/** Mentions notify on failure and after a rollback: both need a person. */
export function wantsMentions(status: DeployStatus): boolean {
  return status === 'failure' || status === 'rolled-back';
}

export function mentionMarkup(id: string): string {
  if (id === 'here' || id === 'channel' || id === 'everyone') return `<!${id}>`;
  if (id.startsWith('S')) return `<!subteam^${id}>`;
  return `<@${id}>`;
}

export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/** The subject: the app (or repository), what happened and where, in plain text. */
export function headline(facts: DeployFacts): string {
  const subject = facts.app ?? facts.repository.split('/').pop() ?? facts.repository;
  const where = facts.environment
    ? ` ${facts.status === 'rolled-back' ? 'on' : 'to'} ${facts.environment}`
    : '';
  const version = facts.version ? ` ${facts.version}` : '';
  switch (facts.status) {
    case 'started':
      return `Deploying ${subject}${version}${where}`;
    case 'success':
      return `${subject}${version} deployed${where}`;
    case 'failure':
      return `${subject}${version} deploy${where} failed`;
    case 'cancelled':
      return `${subject}${version} deploy${where} cancelled`;
    case 'rolled-back':
      return `${subject} rolled back${where}`;
  }
}

function field(label: string, value: string): Block {
  return { type: 'mrkdwn', text: `*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}` };
}

function factFields(facts: DeployFacts): Block[] {
  const list: Block[] = [];
  if (facts.environment) list.push(field('Environment', facts.environment));
  if (facts.version) list.push(field('Version', facts.version));
  if (facts.strategy) list.push(field('Strategy', facts.strategy));
  if (facts.durationMs !== undefined) list.push(field('Duration', humanDuration(facts.durationMs)));
  for (const [name, value] of facts.fields) list.push(field(name, value === '' ? '-' : value));
  return list;
}

/** Fields in sections of at most 10, Slack's limit per section. */
function fieldSections(fields: Block[]): Block[] {
  const sections: Block[] = [];
  for (let i = 0; i < fields.length; i += 10)
    sections.push({ type: 'section', fields: fields.slice(i, i + 10) });
  return sections;
}

function commitSection(commit: CommitFacts): Block {
  const link = `<${commit.url}|\`${shortSha(commit.sha)}\`>`;
  const message = commit.message?.trim();
  return {
    type: 'section',
    text: {
      type: 'mrkdwn',
      text: message ? `*Commit* ${link}\n${escapeMrkdwn(message)}` : `*Commit* ${link}`,
    },
  };
}

/** `<!date^1700000000^{time_secs}|22:13:20 UTC>`: Slack shows the time in each reader's own zone. */
function slackTime(iso: string): string {
  const ms = Date.parse(iso);
  return `<!date^${Math.floor(ms / 1000)}^{time_secs}|${new Date(ms).toISOString().slice(11, 19)} UTC>`;
}

const RUN_PATH = /\/actions\/runs\/\d+(?:\/attempts\/\d+)?$/;

/** Another run of this workflow (one canary step per job spreads a canary over runs): this run's link with its id. */
function otherRunUrl(runUrl: string | undefined, runId: string): string | undefined {
  if (!runUrl || !RUN_PATH.test(runUrl) || !/^\d+$/.test(runId)) return undefined;
  return runUrl.replace(RUN_PATH, `/actions/runs/${runId}`);
}

/** `• 14:01:02 UTC 5% ✗ fail · 5.3% of the traffic seen · run 4242`: one step of the timeline. */
function timelineLine(step: CanaryStepFact, runUrl: string | undefined): string {
  const parts = [`${step.at ? slackTime(step.at) : 'at an unknown time'} ${escapeMrkdwn(stepText(step))}`];
  if (step.observed !== undefined) parts.push(`${step.observed}% of the traffic seen`);
  const link = step.runId ? otherRunUrl(runUrl, step.runId) : undefined;
  if (link) parts.push(`<${link}|run ${step.runId}>`);
  return `• ${parts.join(' · ')}`;
}

/**
 * A canary report's own lines: where it stands with the weights reached and their verdicts, the
 * split seen, and, when the report dates its steps, the timeline (one line per step).
 */
function canaryLines(canary: CanaryFacts, runUrl?: string): string[] {
  const failed =
    canary.phase === 'aborted' ||
    canary.steps.some((s) => s.verdict !== undefined && !isPassingVerdict(s.verdict));
  // Paused or on its way: neither done nor failed.
  const emoji = failed
    ? ':red_circle:'
    : canary.phase === 'promoted'
      ? ':large_green_circle:'
      : ':large_yellow_circle:';
  const lines = [`${emoji} *${escapeMrkdwn(canaryLine(canary))}*`];
  if (canary.observedSplit) lines.push(`Observed split: ${escapeMrkdwn(canary.observedSplit)}`);
  if (canary.steps.some((step) => step.at !== undefined))
    lines.push('*Steps*', ...canary.steps.map((step) => timelineLine(step, runUrl)));
  return lines;
}

const ALERT_EMOJI: Record<string, string> = { critical: ':red_circle:', warning: ':large_orange_circle:' };

/** `• :red_circle: *critical* `error-rate` 20.00% (threshold > 5.00%)`, one line per alert. */
function alertLines(alerts: readonly ReportAlert[]): string[] {
  if (alerts.length === 0) return [];
  const lines = [`*Monitoring alerts: ${alertCounts(alerts)}*`];
  for (const alert of alerts) {
    const side = alert.direction === 'above' ? '> ' : alert.direction === 'below' ? '< ' : '';
    lines.push(
      `• ${ALERT_EMOJI[alert.level] ?? ':white_circle:'} *${escapeMrkdwn(alert.level)}* \`${escapeMrkdwn(alert.metric)}\` ${escapeMrkdwn(alert.value)} (threshold ${side}${escapeMrkdwn(alert.threshold)})`,
    );
  }
  return lines;
}

export function reportLines(report: ReportSummary, runUrl?: string): string[] {
  const lines = report.canary ? canaryLines(report.canary, runUrl) : [];
  // A canary run that judged nothing (promote, abort, status) has no gate to speak of.
  if (report.canary && report.verdict === 'none' && report.total === 0) return lines;
  const verdict = `*Gate verdict: ${escapeMrkdwn(report.verdict)}*`;
  const counts =
    report.total > 0
      ? ` (${report.failing.length} of ${report.total} check${report.total === 1 ? '' : 's'} not passing)`
      : '';
  lines.push(`${report.passed ? ':large_green_circle:' : ':red_circle:'} ${verdict}${counts}`);
  for (const check of report.failing) {
    const detail = check.detail ? `: ${escapeMrkdwn(check.detail)}` : '';
    lines.push(`• \`${escapeMrkdwn(check.name)}\` ${escapeMrkdwn(check.verdict)}${detail}`);
  }
  lines.push(...alertLines(report.alerts ?? []));
  return lines;
}

function contextLine(facts: DeployFacts): string {
  const parts: string[] = [];
  if (facts.actor) parts.push(`by *${escapeMrkdwn(facts.actor)}*`);
  parts.push(escapeMrkdwn(facts.repository));
  if (facts.workflow)
    parts.push(`${escapeMrkdwn(facts.workflow)}${facts.runNumber ? ` #${facts.runNumber}` : ''}`);
  return parts.join(' · ');
}

/** The names of the checks a failed or rolled-back deploy failed on; empty for any other status. */
export function failedCheckNames(facts: DeployFacts): string[] {
  if (!wantsMentions(facts.status) || !facts.report) return [];
  return failedChecks(facts.report).map((check) => check.name);
}

/**
 * For a failed or rolled-back deploy, right under the header (an attachment may be folded):
 * the check it failed on, the phase that failed and the link to the run's logs.
 */
function failureLine(facts: DeployFacts): string | undefined {
  if (!wantsMentions(facts.status)) return undefined;
  const parts: string[] = [];
  const names = failedCheckNames(facts);
  if (names.length > 0) {
    const shown = names.slice(0, 5).map((name) => `\`${escapeMrkdwn(name)}\``);
    const more = names.length > 5 ? ` and ${names.length - 5} more` : '';
    parts.push(`*Failed check${names.length === 1 ? '' : 's'}:* ${shown.join(', ')}${more}`);
  }
  if (facts.report?.failedPhase) parts.push(`*Failed phase:* ${escapeMrkdwn(facts.report.failedPhase)}`);
  if (facts.runUrl)
    parts.push(
      `<${facts.runUrl}|View the run${facts.runNumber ? ` #${escapeMrkdwn(facts.runNumber)}` : ''}>`,
    );
  return parts.length > 0 ? parts.join(' · ') : undefined;
}

/** Notification text: what Slack shows in push notices and where blocks cannot render. */
export function fallbackText(facts: DeployFacts): string {
  const mentions = wantsMentions(facts.status) ? facts.mentions.map(mentionMarkup) : [];
  const names = failedCheckNames(facts);
  const failed = names.length > 0 ? ` (failed: ${escapeMrkdwn(names.join(', '))})` : '';
  return [...mentions, `${STATUS_STYLE[facts.status].emoji} ${escapeMrkdwn(headline(facts))}${failed}`].join(
    ' ',
  );
}

export function buildDefaultMessage(facts: DeployFacts): SlackPayload {
  const style = STATUS_STYLE[facts.status];
  const top: Block[] = [
    { type: 'header', text: { type: 'plain_text', text: `${style.emoji} ${headline(facts)}`, emoji: true } },
  ];
  if (wantsMentions(facts.status) && facts.mentions.length > 0) {
    top.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `${facts.mentions.map(mentionMarkup).join(' ')} please take a look` },
    });
  }
  const failure = failureLine(facts);
  if (failure) top.push({ type: 'section', text: { type: 'mrkdwn', text: failure } });
  const details: Block[] = [];
  if (facts.text) details.push({ type: 'section', text: { type: 'mrkdwn', text: escapeMrkdwn(facts.text) } });
  details.push(...fieldSections(factFields(facts)));
  if (facts.commit) details.push(commitSection(facts.commit));
  if (facts.report)
    details.push({
      type: 'section',
      text: { type: 'mrkdwn', text: reportLines(facts.report, facts.runUrl).join('\n') },
    });
  details.push({ type: 'context', elements: [{ type: 'mrkdwn', text: contextLine(facts) }] });
  if (facts.runUrl) {
    details.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'view-run',
          text: { type: 'plain_text', text: 'View run', emoji: true },
          url: facts.runUrl,
          ...(facts.status === 'failure' ? { style: 'danger' } : {}),
        },
      ],
    });
  }
  return { text: fallbackText(facts), blocks: top, attachments: [{ color: style.color, blocks: details }] };
}
