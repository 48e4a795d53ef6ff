/** Where a message goes; apart from deliver.ts so input validation can name it without loading delivery. */
export const DEFAULT_SLACK_API_URL = 'https://slack.com/api';

export type Destination =
  { kind: 'webhook'; url: string } | { kind: 'api'; token: string; channel: string; apiUrl: string };
