/** Slack's error codes, each with what it means for a deploy notice and what to do about it. */
const EXPLANATIONS: Record<string, string> = {
  channel_not_found:
    'the channel does not exist or the app cannot see it: check the channel id, and invite the app to a private channel',
  not_in_channel:
    'the app is not a member of the channel: invite it (/invite @your-app) or grant chat:write.public',
  is_archived: 'the channel is archived: unarchive it or choose another channel',
  channel_is_archived: 'the channel is archived: unarchive it or create a new webhook',
  invalid_auth: 'the token is not valid: check the token secret (a bot token starts with xoxb-)',
  not_authed: 'no token reached Slack: check that the token input is set',
  account_inactive: 'the token belongs to a deactivated user or an uninstalled app: reinstall the app',
  token_revoked: 'the token was revoked: create a new one and update the secret',
  token_expired: 'the token expired: refresh it or use a non-expiring bot token',
  missing_scope:
    'the token lacks a scope: the app needs chat:write (and chat:write.public for channels it has not joined)',
  message_not_found:
    'update-ts does not name a message in this channel: pass the ts output of the earlier step and the same channel',
  cant_update_message:
    'only messages posted by this app with the Web API can be updated (not webhook messages)',
  edit_window_closed: 'the message is too old to be edited: post a new one instead',
  invalid_blocks: 'Slack refused the blocks: check the payload against Block Kit',
  invalid_blocks_format: 'the blocks are not a JSON list of blocks',
  invalid_attachments: 'Slack refused the attachments',
  too_many_attachments: 'a message takes at most 100 attachments',
  msg_too_long: 'the message text is too long',
  no_text: 'the message has no text, blocks or attachments',
  invalid_arguments: 'Slack found an argument missing or malformed',
  invalid_json: 'Slack could not read the request as JSON',
  invalid_payload: 'the webhook could not read the message: check the payload against Block Kit',
  no_service: 'the webhook URL is wrong, or the webhook was removed: create a new one and update the secret',
  invalid_token: 'the webhook URL is no longer valid (revoked or its app uninstalled): create a new webhook',
  no_service_id: 'the webhook URL is incomplete: copy it again from the app settings',
  no_team: 'the webhook URL names an unknown workspace: copy it again from the app settings',
  team_disabled: 'the workspace is disabled',
  action_prohibited: 'a workspace admin restricted posting to this channel',
  restricted_action: 'a workspace setting keeps this app from posting here',
  posting_to_general_channel_denied: 'only admins may post to #general in this workspace',
  team_access_not_granted: 'the token has no access to the workspace of this channel',
  ratelimited: 'Slack rate-limited the app for longer than the deadline allows',
  rate_limited: 'Slack rate-limited the webhook for longer than the deadline allows',
  internal_error: 'Slack had an internal error: usually brief, try again',
  fatal_error: 'Slack had an internal error: usually brief, try again',
  service_unavailable: 'Slack is unavailable: see https://slack-status.com',
  request_timeout: 'Slack timed out reading the request',
};

/** Errors Slack asks to retry: they say nothing about the request itself. */
export const TRANSIENT_SLACK_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

/**
 * A Workflow Builder trigger's refusals by HTTP status: Slack does not document its error codes
 * for triggers, so the status says what went wrong and the code (when it sends one) is shown as
 * given.
 */
const TRIGGER_REFUSALS: Record<number, string> = {
  400: 'the trigger refused the request: it takes a flat JSON object whose values are all strings, with every variable the workflow declares',
  401: "the trigger URL is not valid: copy it again from the workflow's webhook step",
  403: "the trigger URL is not valid: copy it again from the workflow's webhook step",
  404: 'no trigger at this URL: the workflow or its webhook step was removed or unpublished, or the URL is incomplete',
};

/** What a trigger's 4xx means, e.g. `HTTP 400 invalid_payload (the trigger refused ...)`. */
export function explainTriggerRefusal(status: number, code: string | undefined): string {
  const what = TRIGGER_REFUSALS[status] ?? 'the trigger refused the request';
  return `HTTP ${status}${code ? ` ${code}` : ''} (${what})`;
}

/** `code (what it means and what to do)`, or the code alone when Slack's docs are the best help. */
export function explainSlackError(code: string): string {
  const explanation = EXPLANATIONS[code];
  return explanation ? `${code} (${explanation})` : `${code} (see https://docs.slack.dev/reference/methods)`;
}
