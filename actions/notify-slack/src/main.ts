/**
 * notify-slack: validate every input, then (and only then) load the delivery code and send.
 * Input problems fail the step; a failed send is a warning unless fail-on-error is true.
 * runAction turns the runner's cancel into the signal that stops waiting on Slack.
 */
import { finish, runAction } from '@cd-actions/core/runner/action';
import { createWorkflowIo } from '@cd-actions/core/runner/io';
import { readNotifySlackSettings } from './inputs.js';

void runAction(async ({ signal }) => {
  const settings = readNotifySlackSettings();
  const { runNotifySlack } = await import('@cd-actions/core/slack/notify');
  await runNotifySlack(settings, createWorkflowIo(), { signal });
}).then(finish);
