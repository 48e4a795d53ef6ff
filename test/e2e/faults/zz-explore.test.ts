import { it } from 'vitest';
import { formatMatrix, runMatrix } from './matrix.js';
import { SCENARIOS } from './scenarios.js';

const only = process.env.ZZ_ONLY ?? 'canary-step';
for (const s of SCENARIOS.filter((x) => x.name.startsWith(only))) {
  it(
    s.name,
    async () => {
      const m = await runMatrix(s, {
      ...(process.env.ZZ_FAULT ? { only: (c) => c.fault === process.env.ZZ_FAULT } : {}),
        onCell: (r) =>
          console.log(
            `${r.cell.row} × ${r.cell.fault}: ${r.hit ? r.verdict.outcome : 'miss'} ${r.verdict.problems.join('+')} ${r.ms}ms — ${r.verdict.traffic.detail}`,
          ),
      });
      console.log(formatMatrix(m));
    },
    3_600_000,
  );
}
