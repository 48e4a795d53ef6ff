/** notify-slack's validated settings; apart from notify.ts so validation loads no delivery code. */
import type { Destination } from './deliver-types.js';
import type { ReportSummary } from './gate-report.js';
import type { DeployStatus } from './message.js';

export interface NotifySettings {
  destination: Destination;
  status: DeployStatus;
  app?: string;
  environment?: string;
  version?: string;
  strategy?: string;
  text?: string;
  fields: [string, string][];
  mentions: string[];
  updateTs?: string;
  threadTs?: string;
  report?: ReportSummary;
  /** A parsed custom payload whose structure was checked; placeholders still to fill. */
  payload?: Record<string, unknown>;
  failOnError: boolean;
  timeoutMs: number;
}

export interface NotifyOutcome {
  ok: boolean;
  ts?: string;
  threadTs?: string;
  channelId?: string;
  error?: string;
}
