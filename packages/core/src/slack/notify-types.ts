/** notify-slack's validated settings; apart from notify.ts so validation loads no delivery code. */
import type { Destination } from './deliver-types.js';
import type { ReportSummary } from './gate-report.js';
import type { DeployFacts } from './message.js';

/** What the step was told; the run's own facts (commit, actor, run link) are read later. */
export interface NotifySettings extends Pick<
  DeployFacts,
  'status' | 'app' | 'environment' | 'version' | 'strategy' | 'text' | 'fields' | 'mentions'
> {
  destination: Destination;
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
  /** Not ok, but the request reached Slack and its answer was lost: the message may be there. */
  maybeDelivered?: boolean;
}
