/**
 * deploy-blue-green: validate every input, manifest and check first (no network), then load the
 * cluster client and deploy the idle colour, gate it, switch, gate again, switch back on failure.
 */
import { finish, runAction } from '@cd-actions/core/runner/action';
import { getInputs, getPlan } from './inputs.js';

void runAction(async (ctx) => {
  const settings = getInputs();
  const plan = await getPlan(settings);
  const { deployBlueGreenStep } = await import('./step.js');
  await deployBlueGreenStep(settings, plan, ctx);
}).then(finish);
