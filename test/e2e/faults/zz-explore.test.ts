import { it } from 'vitest';
import { planCells, recordHealthy } from './matrix.js';
import { SCENARIOS } from './scenarios.js';
import { Stage } from './stage.js';

for (const s of SCENARIOS.filter((x) => x.action === 'canary-step')) {
  it(s.name, async () => {
    const stage = await Stage.open(s);
    try {
      const t = Date.now();
      const r = await stage.run({});
      console.log(s.name, 'healthy ms', Date.now() - t, r.verdict, r.result.exitCode);
      console.log(r.result.log.split('\n').filter((l) => !/: \[\d/.test(l)).join('\n'));
      const { requests, phases } = await recordHealthy(stage);
      console.log(phases);
      for (const q of requests) console.log(q.phase.padEnd(10), q.verb, q.path, q.dryRun ? 'dry' : '', q.status);
      const { cells, left } = planCells(requests, s);
      console.log('cells', cells.length, left, [...new Set(cells.map((c) => c.row))].join('\n'));
    } finally {
      await stage.close();
    }
  }, 300_000);
}
