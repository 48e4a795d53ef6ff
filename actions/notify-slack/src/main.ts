/**
 * notify-slack: validate every input, then (and only then) load the delivery code and send.
 * Input problems fail the step; a failed send is a warning unless fail-on-error is true.
 */
import { InputError } from '../../../packages/core/src/errors.js';
import { createWorkflowIo } from '../../../packages/core/src/runner-io.js';
import { readNotifySlackSettings } from './inputs.js';

async function main(): Promise<void> {
  const io = createWorkflowIo();
  let settings;
  try {
    settings = readNotifySlackSettings();
  } catch (err) {
    io.setFailed(err instanceof InputError ? err.message : `notify-slack: ${String(err)}`);
    return;
  }
  // The runner cancels with SIGINT: stop waiting on Slack rather than be killed mid-retry.
  const cancel = new AbortController();
  process.once('SIGINT', () => cancel.abort(new Error('the run was cancelled')));
  process.once('SIGTERM', () => cancel.abort(new Error('the run was cancelled')));
  try {
    const { runNotifySlack } = await import('../../../packages/core/src/slack/notify.js');
    await runNotifySlack(settings, io, { signal: cancel.signal });
  } catch (err) {
    io.setFailed(`notify-slack failed unexpectedly: ${err instanceof Error ? err.message : String(err)}`);
  }
}

await main();
