/** The job-summary section of a Slack notice: what was sent where, and how it went. No secrets. */
import { alertCounts, canaryLine } from './gate-report.js';
import { failedCheckNames, type DeployFacts } from './message.js';
import type { NotifyOutcome, NotifySettings } from './notify-types.js';

/** Text made safe for one markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** The rows every notice's summary shows about the deploy: app, environment, version, canary, gate. */
export function deployRows(facts: DeployFacts): [string, string][] {
  const rows: [string, string][] = [];
  if (facts.app) rows.push(['App', cell(facts.app)]);
  if (facts.environment) rows.push(['Environment', cell(facts.environment)]);
  if (facts.version) rows.push(['Version', cell(facts.version)]);
  if (facts.report?.canary) rows.push(['Canary', cell(canaryLine(facts.report.canary))]);
  if (facts.report)
    rows.push([
      'Gate verdict',
      `${cell(facts.report.verdict)} (${facts.report.failing.length} of ${facts.report.total} checks not passing)`,
    ]);
  return rows;
}

/** A notice's summary section: its title, a two-column table, and the error if it failed. */
export function summarySection(title: string, rows: [string, string][], error: string | undefined): string {
  const table = ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  return `### ${title}\n\n${table}${error ? `\n\n> :warning: ${cell(error)}` : ''}\n`;
}

export function notifySummary(settings: NotifySettings, facts: DeployFacts, outcome: NotifyOutcome): string {
  const destination =
    settings.destination.kind === 'webhook'
      ? 'incoming webhook'
      : settings.destination.kind === 'trigger'
        ? 'Workflow Builder trigger'
        : `channel \`${cell(settings.destination.channel)}\``;
  const rows: [string, string][] = [
    ['Status', facts.status],
    ['Sent to', destination],
    [
      'Action',
      settings.destination.kind === 'trigger'
        ? 'workflow started with variables'
        : settings.updateTs
          ? `update of ${settings.updateTs}`
          : settings.threadTs
            ? `reply in ${settings.threadTs}`
            : 'new message',
    ],
    [
      'Delivered',
      outcome.ok
        ? `yes${outcome.ts ? ` (ts ${outcome.ts})` : ''}`
        : outcome.maybeDelivered
          ? 'maybe (the answer was lost; not sent again)'
          : 'no',
    ],
  ];
  rows.push(...deployRows(facts));
  const failed = failedCheckNames(facts);
  if (failed.length > 0) rows.push(['Failed checks', failed.map((name) => `\`${cell(name)}\``).join(', ')]);
  if (facts.report?.failedPhase) rows.push(['Failed phase', cell(facts.report.failedPhase)]);
  if (facts.report?.alerts) rows.push(['Monitoring alerts', cell(alertCounts(facts.report.alerts))]);
  return summarySection('Slack notice', rows, outcome.error);
}
