/** Where a message goes; apart from deliver.ts so input validation can name it without loading delivery. */
export const DEFAULT_SLACK_API_URL = 'https://slack.com/api';

/**
 * An incoming webhook posts a Block Kit message to its channel; a Workflow Builder trigger
 * (`webhook-type: webhook-trigger`) starts a workflow with a flat map of string variables; the
 * Web API posts (or updates) with a bot token.
 */
export type Destination =
  | { kind: 'webhook'; url: string }
  | { kind: 'trigger'; url: string }
  | { kind: 'api'; token: string; channel: string; apiUrl: string };

/** How the log, the summary and errors name a destination (never its secret URL). */
export function destinationName(destination: Destination): string {
  switch (destination.kind) {
    case 'webhook':
      return 'the incoming webhook';
    case 'trigger':
      return 'the Workflow Builder trigger';
    case 'api':
      return `channel ${destination.channel}`;
  }
}
