import { it } from 'vitest';
import { planCells, recordHealthy } from './matrix.js';
import { scenario } from './scenarios.js';
import { Stage } from './stage.js';
import { live } from '../fixtures.js';

it('leftover canary after a 403 on its delete', async () => {
  const s = scenario('canary-step (istio host');
  const stage = await Stage.open(s);
  try {
    const { requests } = await recordHealthy(stage);
    const { cells } = planCells(requests, s);
    const cell = cells.find((c) => c.row === 'finish · DELETE deployments/cart-canary' && c.fault === '403')!;
    const run = await stage.run({ fault: cell.rule, keepState: true });
    console.log('EXIT', run.result.exitCode, run.result.warnings, run.verdict.traffic.detail);
    const canary = live(stage.sandbox, 'Deployment', 'shop', 'cart-canary');
    console.log(
      'CANARY RECORD',
      canary?.metadata.annotations?.['cd-actions.dev/record'],
      JSON.stringify(canary?.spec && (canary.spec as { replicas: number }).replicas),
    );
    const status = await stage.run({ inputs: { app: 'cart', action: 'status' }, keepState: true });
    console.log('STATUS', status.result.exitCode, JSON.stringify(status.result.outputs));
    const v3 = await stage.run({
      inputs: { app: 'cart', images: 'cart=ghcr.io/acme/cart:3.0.0', steps: '50,100', 'step-duration': '1s' },
      keepState: true,
    });
    console.log('V3', v3.result.exitCode, v3.result.errors.join('\n'));
    const again = await stage.run({ keepState: true });
    console.log(
      'SAME VERSION AGAIN',
      again.result.exitCode,
      again.result.log.split('\n').slice(-6).join('\n'),
    );
  } finally {
    await stage.close();
  }
}, 300_000);
