/** notify-email's validated settings; apart from delivery so validation loads no SMTP code. */
import type { ReportSummary } from '../slack/gate-report.js';
import type { DeployFacts } from '../slack/message.js';
import type { MailAddress } from './address.js';

/** starttls: plain connection upgraded before anything is sent (port 587); tls: TLS from the start (465). */
export const SMTP_SECURITY = ['starttls', 'tls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

export const DEFAULT_PORTS: Record<SmtpSecurity, number> = { starttls: 587, tls: 465, none: 25 };

export interface SmtpServer {
  host: string;
  port: number;
  security: SmtpSecurity;
  /** Absent: the server is used without authentication. */
  auth?: { user: string; pass: string };
}

/** What the step was told; the run's own facts (commit, actor, run link) are read later. */
export interface EmailSettings extends Pick<
  DeployFacts,
  'status' | 'app' | 'environment' | 'version' | 'strategy' | 'text' | 'fields'
> {
  server: SmtpServer;
  from: MailAddress;
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  /** Replaces the default subject (the headline with the status symbol). */
  subject?: string;
  report?: ReportSummary;
  failOnError: boolean;
  timeoutMs: number;
}

export interface EmailOutcome {
  ok: boolean;
  messageId?: string;
  /** Envelope recipients the server took the message for. */
  accepted: string[];
  /** Envelope recipients the server refused (for good, or still deferred at the deadline). */
  rejected: string[];
  error?: string;
  /** Not ok, but the message went out and the server's answer was lost: it may have been delivered. */
  maybeDelivered?: boolean;
}
