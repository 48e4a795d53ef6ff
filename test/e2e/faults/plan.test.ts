/** How the fault matrix turns a recorded healthy run into cells (no sandbox needed). */
import { describe, expect, it } from 'vitest';
import { Faults } from '../../../packages/sandbox/src/faults.js';
import { locate, planCells, type RecordedRequest } from './matrix.js';

const req = (
  phase: string,
  verb: string,
  path: string,
  extra: Partial<RecordedRequest> = {},
): RecordedRequest => ({
  phase,
  verb,
  path,
  dryRun: false,
  status: 200,
  ...extra,
});

const SERVICE = '/api/v1/namespaces/shop/services/web';
const DEPLOY = '/apis/apps/v1/namespaces/shop/deployments/web-blue';
const LEASES = '/apis/coordination.k8s.io/v1/namespaces/shop/leases';

/** A blue-green run in miniature: reads before the lock, a lock, a polled read, a switch, books. */
const RUN: RecordedRequest[] = [
  req('lock', 'get', SERVICE),
  req('lock', 'patch', DEPLOY, { dryRun: true, status: 201 }),
  req('lock', 'create', LEASES, { status: 201 }),
  req('apply', 'patch', DEPLOY, { status: 201 }),
  req('rollout', 'get', DEPLOY),
  req('rollout', 'get', DEPLOY),
  req('switch', 'get', SERVICE),
  req('switch', 'update', SERVICE),
  req('verify', 'get', SERVICE),
  req('books', 'patch', SERVICE),
  req('books', 'patch', DEPLOY),
  req('release', 'delete', `${LEASES}/cd-actions-lock-web`),
];

describe('planCells', () => {
  const { cells, left } = planCells(RUN, { hangAt: 'switch' });
  const rows = [...new Set(cells.map((c) => c.row))];

  it('has one row per request and phase, from the first write on; a poll repeated in one phase is one row', () => {
    expect(rows).toEqual([
      'lock · CREATE leases',
      'apply · PATCH deployments/web-blue',
      'rollout · GET deployments/web-blue',
      'switch · GET services/web #2',
      'switch · UPDATE services/web',
      'verify · GET services/web #3',
      'books · PATCH services/web',
      'books · PATCH deployments/web-blue #2',
      'release · DELETE leases/cd-actions-lock-web',
    ]);
  });

  it('drops connections after the server stored a request only for writes, and leaves out equivalent read cells', () => {
    const faultsOf = (row: string): string[] => cells.filter((c) => c.row === row).map((c) => c.fault);
    expect(faultsOf('switch · UPDATE services/web')).toEqual([
      '403',
      '500',
      'drop-before',
      'drop-after',
      'slow',
      'hang',
    ]);
    expect(faultsOf('rollout · GET deployments/web-blue')).toEqual(['403', '500', 'slow']);
    expect(faultsOf('verify · GET services/web #3')).toEqual(['403', '500', 'slow', 'hang']);
    expect(left).toEqual([{ count: 3, why: expect.stringContaining('drop-before on get/list') as unknown }]);
  });

  it('hangs the switch write after storing it, and the read after it before serving', () => {
    const hangs = cells.filter((c) => c.fault === 'hang');
    expect(hangs.map((c) => [c.row, c.rule.stallAfterServe, c.rule.stall])).toEqual([
      ['switch · UPDATE services/web', true, undefined],
      ['verify · GET services/web #3', undefined, true],
    ]);
  });

  it('leaves out what a scenario prunes, and says why', () => {
    const pruned = planCells(RUN, {
      prune: { keep: (r) => r.phase === 'switch', why: 'the same as elsewhere' },
    });
    expect([...new Set(pruned.cells.map((c) => c.row))]).toEqual([
      'switch · GET services/web #2',
      'switch · UPDATE services/web',
    ]);
    expect(pruned.left).toContainEqual({ count: 33, why: 'the same as elsewhere' });
  });
});

describe('locate', () => {
  /** Which request of RUN a rule placed by `locate` hits, replayed through the sandbox's own rules. */
  function hitIndex(t: number): number[] {
    const faults = new Faults();
    faults.add({ target: 'api', status: 500, ...locate(RUN, t) });
    const hit: number[] = [];
    RUN.forEach((r, i) => {
      const request = { verb: r.verb, path: r.path, dryRun: r.dryRun };
      if (faults.take('api', request)) hit.push(i);
      else faults.served('api', request, r.status);
    });
    return hit;
  }

  it('finds each request again, and only it, counting from the nearest earlier write', () => {
    for (const t of [2, 3, 4, 6, 7, 8, 9, 10, 11]) expect(hitIndex(t), `request ${t}`).toEqual([t]);
  });

  it('anchors on a write that was the first of its kind, so the anchor arms where it was seen', () => {
    // books · PATCH deployments/web-blue repeats apply's write: it counts from books · PATCH services/web.
    const { nth, after } = locate(RUN, 10);
    expect(nth).toBe(1);
    expect(after).toMatchObject({ verb: 'patch', dryRun: false });
    const path = after?.path as RegExp;
    expect([path.test(SERVICE), path.test(`${SERVICE}-preview`)]).toEqual([true, false]);
  });
});
