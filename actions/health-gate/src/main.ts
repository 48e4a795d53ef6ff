/**
 * health-gate: validate every input and check first (fast, no network), then load the gate and
 * its clients and observe.
 */
import { finish, runAction } from '@cd-actions/core/runner/action';
import { getInputs } from './inputs.js';

void runAction(async (ctx) => {
  const inputs = getInputs();
  const { healthGateStep } = await import('./step.js');
  await healthGateStep(inputs, ctx);
}).then(finish);
