/**
 * notify-email: validate every input, then (and only then) load the mail code and send.
 * Input problems fail the step; a failed send is a warning unless fail-on-error is true.
 * runAction turns the runner's cancel into the signal that stops waiting on the mail server.
 */
import { finish, runAction } from '@cd-actions/core/runner/action';
import { createWorkflowIo } from '@cd-actions/core/runner/io';
import { readNotifyEmailSettings } from './inputs.js';

void runAction(async ({ signal }) => {
  const settings = readNotifyEmailSettings();
  const { runNotifyEmail } = await import('@cd-actions/core/email/notify');
  await runNotifyEmail(settings, createWorkflowIo(), { signal });
}).then(finish);
