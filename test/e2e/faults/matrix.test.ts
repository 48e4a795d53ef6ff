/**
 * The fault matrix, end to end: for deploy-rolling, deploy-blue-green through each route kind,
 * rollback of a rolling and of a blue-green app, and canary-step (a ramp to promotion, and an
 * abort), every write and every confirmation read the action makes is failed once (500, 403,
 * connection dropped before / after the server stored it, a slow answer, and targeted hangs),
 * each in its own run from the same starting state (matrix.ts). Prints each matrix, phase ×
 * fault → outcome; fails on any broken promise.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  brokenCells,
  countOf,
  formatCounts,
  formatMatrix,
  LEGEND,
  runAll,
  type MatrixResult,
} from './matrix.js';
import { SCENARIOS } from './scenarios.js';

const results = new Map<string, MatrixResult>();

beforeAll(async () => {
  for (const m of await runAll(SCENARIOS, { concurrency: 3 })) results.set(m.scenario, m);
}, 20 * 60_000);

describe('fault matrix', () => {
  for (const s of SCENARIOS) {
    it(`${s.name}: every cell keeps the promise`, () => {
      const m = results.get(s.name)!;
      console.log(formatMatrix(m));
      expect(m.error).toBeUndefined();
      // A matrix that ran nothing proves nothing.
      expect(m.cells.length).toBeGreaterThan(10);
      expect(brokenCells([m])).toEqual([]);
    });
  }

  it('false greens, false reds, stranded, unrestored templates and leases left behind: all 0', () => {
    const all = [...results.values()];
    const counts = countOf(all);
    console.log(`\n${LEGEND}\n${formatCounts(counts)}`);
    expect(
      {
        'false greens': counts.problems['false green'],
        'false reds': counts.problems['false red'],
        stranded: counts.problems.stranded,
        'unrestored templates': counts.problems.unrestored,
        'leases left behind': counts.problems['lease left behind'],
        'histories that do not tell': counts.problems.record,
        'runs that never ended': counts.problems.hung,
        'faults that never fired': counts.missed,
      },
      brokenCells(all).join('\n'),
    ).toEqual({
      'false greens': 0,
      'false reds': 0,
      stranded: 0,
      'unrestored templates': 0,
      'leases left behind': 0,
      'histories that do not tell': 0,
      'runs that never ended': 0,
      'faults that never fired': 0,
    });
  });
});
