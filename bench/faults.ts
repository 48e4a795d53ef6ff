/**
 * The fault matrix (test/e2e/faults): every write and confirmation read of deploy-rolling,
 * deploy-blue-green (each route kind), rollback and canary-step, failed once per run, each run
 * judged against the invariant. Prints each matrix, phase × fault → outcome, and the counts of
 * broken promises.
 */
import { countOf, formatCounts, formatMatrix, LEGEND, runAll } from '../test/e2e/faults/matrix.js';
import { SCENARIOS } from '../test/e2e/faults/scenarios.js';

export async function faults(): Promise<void> {
  const started = Date.now();
  // BENCH_FAULTS_ONLY=canary: the scenarios whose name holds it (one strategy's while working on it).
  const only = process.env.BENCH_FAULTS_ONLY;
  const scenarios = only ? SCENARIOS.filter((s) => s.name.includes(only)) : SCENARIOS;
  const results = await runAll(scenarios, {
    concurrency: Number(process.env.BENCH_FAULTS_CONCURRENCY ?? 3),
    onMatrix: (m) => console.log(formatMatrix(m)),
  });
  console.log(`\n${LEGEND}`);
  console.log(`${formatCounts(countOf(results))}; ${Math.round((Date.now() - started) / 1000)} s in all`);
}
