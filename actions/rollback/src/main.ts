/** rollback: validate inputs, then (loaded after validation) restore a revision the cluster holds. */
import { finish, runAction } from '@cd-actions/core/runner/action';
import { getInputs } from './inputs.js';

void runAction(async (ctx) => {
  const settings = getInputs();
  const { rollbackStep } = await import('./step.js');
  await rollbackStep(settings, ctx);
}).then(finish);
