/**
 * canary-step: validate every input, manifest, step and check first (no network), then load the
 * cluster client and run, continue, promote, abort or report the canary.
 */
import { finish, runAction } from '@cd-actions/core/runner/action';
import { getInputs, getPlan } from './inputs.js';

void runAction(async (ctx) => {
  const settings = getInputs();
  const plan = await getPlan(settings);
  const { canaryStep } = await import('./step.js');
  await canaryStep(settings, plan, ctx);
}).then(finish);
