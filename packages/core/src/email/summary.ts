/** The job-summary section of an e-mail notice: what was sent where, and how it went. No secrets. */
import { alertCounts, canaryLine } from '../slack/gate-report.js';
import type { DeployFacts } from '../slack/message.js';
import { formatAddress } from './address.js';
import type { EmailOutcome, EmailSettings } from './settings.js';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function emailSummary(
  settings: EmailSettings,
  facts: DeployFacts,
  subject: string,
  outcome: EmailOutcome,
): string {
  const { server } = settings;
  const shown = (addresses: string[]): string => cell(addresses.join(', '));
  const rows: [string, string][] = [
    ['Status', facts.status],
    ['Subject', cell(subject)],
    [
      'Server',
      `${cell(server.host)}:${server.port} (${server.security}${server.auth ? ', authenticated' : ''})`,
    ],
    ['From', cell(formatAddress(settings.from))],
    ['To', cell(settings.to.map(formatAddress).join(', '))],
  ];
  if (settings.cc.length > 0) rows.push(['Cc', cell(settings.cc.map(formatAddress).join(', '))]);
  if (settings.bcc.length > 0) rows.push(['Bcc', cell(settings.bcc.map(formatAddress).join(', '))]);
  rows.push([
    'Delivered',
    outcome.ok
      ? 'yes'
      : outcome.maybeDelivered
        ? 'maybe (the answer was lost; not sent again)'
        : outcome.accepted.length > 0
          ? `partly: to ${shown(outcome.accepted)}`
          : 'no',
  ]);
  if (outcome.rejected.length > 0) rows.push(['Not delivered to', shown(outcome.rejected)]);
  if (outcome.messageId) rows.push(['Message-ID', `\`${cell(outcome.messageId)}\``]);
  if (facts.app) rows.push(['App', cell(facts.app)]);
  if (facts.environment) rows.push(['Environment', cell(facts.environment)]);
  if (facts.version) rows.push(['Version', cell(facts.version)]);
  if (facts.report?.canary) rows.push(['Canary', cell(canaryLine(facts.report.canary))]);
  if (facts.report)
    rows.push([
      'Gate verdict',
      `${cell(facts.report.verdict)} (${facts.report.failing.length} of ${facts.report.total} checks not passing)`,
    ]);
  if (facts.report?.alerts) rows.push(['Monitoring alerts', cell(alertCounts(facts.report.alerts))]);
  const table = ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
  const error = outcome.error ? `\n\n> :warning: ${cell(outcome.error)}` : '';
  return `### E-mail notice\n\n${table}${error}\n`;
}
