/** The job-summary section of an e-mail notice: what was sent where, and how it went. No secrets. */
import { alertCounts } from '../slack/gate-report.js';
import type { DeployFacts } from '../slack/message.js';
import { cell, deployRows, summarySection } from '../slack/summary.js';
import { formatAddress } from './address.js';
import type { EmailOutcome, EmailSettings } from './settings.js';

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
  rows.push(...deployRows(facts));
  if (facts.report?.alerts) rows.push(['Monitoring alerts', cell(alertCounts(facts.report.alerts))]);
  return summarySection('E-mail notice', rows, outcome.error);
}
