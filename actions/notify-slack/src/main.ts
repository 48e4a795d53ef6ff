/**
 * notify-slack: validate every input, then (and only then) load the delivery code and send.
 * Input problems fail the step; a failed send is a warning unless fail-on-error is true.
 * runAction turns the runner's cancel into the signal that stops waiting on Slack.
 */
import { finish, runAction } from '../../../packages/core/src/action.js';
import { createWorkflowIo } from '../../../packages/core/src/runner-io.js';
import { readNotifySlackSettings } from './inputs.js';

void runAction(async ({ signal }) => {
  const settings = readNotifySlackSettings();
  const { runNotifySlack } = await import('../../../packages/core/src/slack/notify.js');
  await runNotifySlack(settings, createWorkflowIo(), { signal });
}).then(finish);
