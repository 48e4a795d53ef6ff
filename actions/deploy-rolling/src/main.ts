/**
 * deploy-rolling: validate every input and manifest, then (loaded only after validation, so a
 * bad input fails fast) apply, watch the rollout and roll back on failure.
 */
import { finish, runAction } from '@cd-actions/core/runner/action';
import { getInputs, getPlan } from './inputs.js';

void runAction(async (ctx) => {
  const settings = getInputs();
  const plan = await getPlan(settings);
  const { deployRollingStep } = await import('./step.js');
  await deployRollingStep(settings, plan, ctx);
}).then(finish);
