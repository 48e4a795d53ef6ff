/**
 * The fault matrix of one scenario. A healthy run first, recording from the sandbox's audit log
 * every request the action made and the engine phase (log group) it was made in. Then, for every
 * write and every read after the first write (once per phase: a request repeated in another
 * phase is another cell, found again by `nth` counted from the nearest earlier write, `after`),
 * one run per fault from the same starting state with that one request failed. Each run is
 * judged against the invariant (stage.ts); the test and `npm run bench -- faults` print the
 * matrix, phase × fault → outcome, and the counts of broken promises.
 */
import type { AuditEntry, FaultRule } from '../../../packages/sandbox/src/faults.js';
import type { Scenario } from './scenarios.js';
import { isLease, isWrite, PROBLEMS, Stage, type Problem, type Verdict } from './stage.js';

export interface RecordedRequest {
  verb: string;
  path: string;
  dryRun: boolean;
  status: number;
  /** The engine phase it was made in; lock before the phases, books after them, release for the lock's end. */
  phase: string;
}

type FaultSpec = Omit<FaultRule, 'target' | 'name' | 'match' | 'nth' | 'after'>;

/** The faults every cell gets; `writes`: only where the server can have stored something. */
export const FAULTS: Record<string, { spec: FaultSpec; writes?: boolean }> = {
  '500': { spec: { status: 500 } },
  '403': { spec: { status: 403 } },
  'drop-before': { spec: { dropBeforeServe: true } },
  'drop-after': { spec: { dropAfterServe: true }, writes: true },
  slow: { spec: { latencyMs: 4000 } },
};
/**
 * Cells left out of every scenario because another cell of the same request takes the same path
 * through the client. A get or list dropped before the server served it, and one answered 500,
 * are both classified as transient by the one retry policy (retry.ts, classifyError) and
 * repeated; a watch keeps both, as its stream handles a dropped connection itself.
 */
export const EQUIVALENT: { fault: string; applies(r: RecordedRequest): boolean; why: string }[] = [
  {
    fault: 'drop-before',
    applies: (r) => r.verb === 'get' || r.verb === 'list',
    why: 'drop-before on get/list: the same retried path as 500 (retry.ts classifies both as transient for a read)',
  },
];

/** Targeted: the answer never comes, until the client's own deadline cuts the call. */
const HANG = 'hang';
export const COLUMNS = [...Object.keys(FAULTS), HANG];

export interface Cell {
  row: string;
  fault: string;
  rule: Omit<FaultRule, 'target' | 'name'>;
}

export interface CellResult {
  cell: Cell;
  /** Whether the fault fired: a cell whose request never came tested nothing. */
  hit: boolean;
  verdict: Verdict;
  ms: number;
}

export interface MatrixResult {
  scenario: string;
  rows: string[];
  cells: CellResult[];
  /** Cells not run, how many and why (equivalent to cells that are run). */
  left: { count: number; why: string }[];
  ms: number;
  /** Set when the scenario could not be run at all (its set-up or healthy run failed). */
  error?: string;
}

const READ_VERBS = new Set(['get', 'list', 'watch']);

/** Labels each request of a run with the log group open when it was made. */
export class PhaseTap {
  private buffer = '';
  private readonly marks: { at: number; phase: string }[] = [];
  constructor(private readonly apiRequests: () => number) {}

  readonly onOutput = (text: string): void => {
    this.buffer += text;
    const lines = this.buffer.split('\n');
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      const open = /^::group::(.+)$/.exec(line.trim());
      if (open) this.marks.push({ at: this.apiRequests(), phase: open[1]! });
      else if (line.trim() === '::endgroup::') this.marks.push({ at: this.apiRequests(), phase: 'books' });
    }
  };

  phaseOf(index: number, request: { path: string }): string {
    const phase = this.marks.filter((m) => m.at <= index).at(-1)?.phase;
    if (isLease(request)) return phase ? 'release' : 'lock';
    return phase ?? 'lock';
  }

  /** The phases in the order they opened. */
  phases(): string[] {
    return [...new Set(this.marks.map((m) => m.phase).filter((p) => p !== 'books'))];
  }
}

/** Runs the scenario healthy and records its requests, each with its phase; throws unless it ends as a healthy run does. */
export async function recordHealthy(
  stage: Stage,
): Promise<{ requests: RecordedRequest[]; phases: string[] }> {
  const apiEntries = (): AuditEntry[] => stage.sandbox.audit.entries.filter((e) => e.target === 'api');
  const tap = new PhaseTap(() => apiEntries().length);
  const healthy = await stage.run({ onOutput: tap.onOutput });
  const expected = stage.scenario.healthy ?? 'ok';
  if (healthy.verdict.outcome !== expected)
    throw new Error(
      `${stage.scenario.name}: the healthy run is not ${expected} (${healthy.verdict.problems.join(', ')}):\n${healthy.result.log}`,
    );
  const requests = healthy.audit.map((e, i) => ({
    verb: e.verb,
    path: e.path,
    dryRun: e.dryRun ?? false,
    status: e.status,
    phase: tap.phaseOf(i, e),
  }));
  return { requests, phases: tap.phases() };
}

const signature = (r: RecordedRequest): string => `${r.verb} ${r.path}${r.dryRun ? ' dry-run' : ''}`;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function matchOf(r: RecordedRequest): NonNullable<FaultRule['match']> {
  return { verb: r.verb, path: new RegExp(`^${escapeRegExp(r.path)}$`), dryRun: r.dryRun };
}

/**
 * How to find request `t` again in a faulted run: its nth occurrence counted from the nearest
 * earlier write that succeeded and was the first of its kind (so `after` arms exactly there).
 * Counting from a nearby write rather than from the start keeps polls earlier in the run,
 * whose number varies, out of the count.
 */
export function locate(requests: RecordedRequest[], t: number): Pick<FaultRule, 'match' | 'nth' | 'after'> {
  const target = requests[t]!;
  const sig = signature(target);
  let anchor = -1;
  for (let a = t - 1; a >= 0; a--) {
    const r = requests[a]!;
    if (!isWrite(r) || r.status < 200 || r.status >= 300 || signature(r) === sig) continue;
    if (requests.findIndex((x) => signature(x) === signature(r)) !== a) continue;
    anchor = a;
    break;
  }
  const nth = requests.slice(anchor + 1, t + 1).filter((x) => signature(x) === sig).length;
  return {
    match: matchOf(target),
    nth,
    ...(anchor >= 0 ? { after: matchOf(requests[anchor]!) } : {}),
  };
}

function shortPath(path: string): string {
  return path.replace(/^\/apis?\/(?:[^/]+\/)?v\d\w*\/(?:namespaces\/[^/]+\/)?/, '');
}

function rowLabel(requests: RecordedRequest[], t: number): string {
  const r = requests[t]!;
  const k = requests.slice(0, t + 1).filter((x) => signature(x) === signature(r)).length;
  return `${r.phase} · ${r.verb.toUpperCase()} ${shortPath(r.path)}${k > 1 ? ` #${k}` : ''}`;
}

/** Every cell of the matrix of a recorded healthy run, and the cells left out as equivalent. */
export function planCells(
  requests: RecordedRequest[],
  scenario: Pick<Scenario, 'prune' | 'hangAt'>,
): { cells: Cell[]; left: MatrixResult['left'] } {
  const cells: Cell[] = [];
  const first = requests.findIndex(isWrite);
  const seen = new Set<string>();
  const left = new Map<string, number>();
  const leaveOut = (why: string, count: number): void => void left.set(why, (left.get(why) ?? 0) + count);
  for (let i = Math.max(first, 0); first >= 0 && i < requests.length; i++) {
    const r = requests[i]!;
    const write = isWrite(r);
    if (!write && !(READ_VERBS.has(r.verb) && i > first)) continue;
    const key = `${r.phase} ${signature(r)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const applicable = Object.entries(FAULTS).filter(([, f]) => write || !f.writes);
    if (scenario.prune && !scenario.prune.keep(r)) {
      leaveOut(scenario.prune.why, applicable.length);
      continue;
    }
    const faults = applicable.filter(([name]) => {
      const same = EQUIVALENT.find((e) => e.fault === name && e.applies(r));
      if (same) leaveOut(same.why, 1);
      return !same;
    });
    const at = locate(requests, i);
    for (const [fault, f] of faults)
      cells.push({ row: rowLabel(requests, i), fault, rule: { ...at, ...f.spec } });
  }
  if (scenario.hangAt) {
    const w = requests.findIndex((r) => r.phase === scenario.hangAt && isWrite(r) && !isLease(r));
    const read = requests.findIndex((r, i) => i > w && READ_VERBS.has(r.verb));
    // The write is stored, then its answer never comes: the ambiguous case, resolved by reading.
    if (w >= 0)
      cells.push({
        row: rowLabel(requests, w),
        fault: HANG,
        rule: { ...locate(requests, w), stallAfterServe: true },
      });
    if (w >= 0 && read >= 0)
      cells.push({
        row: rowLabel(requests, read),
        fault: HANG,
        rule: { ...locate(requests, read), stall: true },
      });
  }
  return { cells, left: [...left].map(([why, count]) => ({ count, why })) };
}

/**
 * Runs the scenarios' matrices, `concurrency` sandboxes at a time: a run spends most of its time
 * waiting (process start, pods starting, latencies), so a few at once fill two cores.
 */
export async function runAll(
  scenarios: Scenario[],
  options: { concurrency?: number; onMatrix?: (m: MatrixResult) => void } = {},
): Promise<MatrixResult[]> {
  const results: MatrixResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < scenarios.length) {
      const scenario = scenarios[next++]!;
      const started = Date.now();
      const m = await runMatrix(scenario).catch((error: unknown): MatrixResult => ({
        scenario: scenario.name,
        rows: [],
        cells: [],
        left: [],
        ms: Date.now() - started,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }));
      results.push(m);
      options.onMatrix?.(m);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 3, scenarios.length) }, worker));
  return scenarios.map((s) => results.find((m) => m.scenario === s.name)!);
}

/** Runs a scenario's whole matrix in one sandbox. `onCell` sees each result as it comes (progress). */
export async function runMatrix(
  scenario: Scenario,
  options: { onCell?: (r: CellResult) => void; only?: (cell: Cell) => boolean } = {},
): Promise<MatrixResult> {
  const started = Date.now();
  const stage = await Stage.open(scenario);
  try {
    const { requests } = await recordHealthy(stage);
    const { cells, left } = planCells(requests, scenario);
    const results: CellResult[] = [];
    for (const cell of cells.filter(options.only ?? (() => true))) {
      const t = Date.now();
      const run = await stage.run({ fault: cell.rule });
      const result = { cell, hit: run.hit, verdict: run.verdict, ms: Date.now() - t };
      results.push(result);
      options.onCell?.(result);
    }
    return {
      scenario: scenario.name,
      rows: [...new Set(cells.map((c) => c.row))],
      cells: results,
      left,
      ms: Date.now() - started,
    };
  } finally {
    await stage.close();
  }
}

const TAGS: Record<Problem, string> = {
  'false green': 'FALSE-GREEN',
  'false red': 'FALSE-RED',
  stranded: 'STRANDED',
  unrestored: 'UNRESTORED',
  'lease left behind': 'LEASE',
  record: 'RECORD',
  hung: 'HUNG',
};

function cellText(r: CellResult | undefined): string {
  if (!r) return '';
  if (!r.hit) return 'miss';
  if (r.verdict.outcome !== 'broken') return r.verdict.outcome;
  return r.verdict.problems.map((p) => TAGS[p]).join('+');
}

export interface Counts {
  problems: Record<Problem, number>;
  missed: number;
  cells: number;
}

export function countOf(results: MatrixResult[]): Counts {
  const problems = Object.fromEntries(PROBLEMS.map((p) => [p, 0])) as Record<Problem, number>;
  let missed = 0;
  let cells = 0;
  for (const r of results.flatMap((m) => m.cells)) {
    cells += 1;
    if (!r.hit) missed += 1;
    for (const p of r.verdict.problems) problems[p] += 1;
  }
  return { problems, missed, cells };
}

/** The matrix as text: phase · request × fault → outcome, then what pruning left out and every broken cell. */
export function formatMatrix(m: MatrixResult): string {
  const columns = COLUMNS.filter((c) => m.cells.some((r) => r.cell.fault === c));
  const table = [
    ['', ...columns],
    ...m.rows.map((row) => [
      row,
      ...columns.map((c) => cellText(m.cells.find((r) => r.cell.row === row && r.cell.fault === c))),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [
    `\n${m.scenario}: ${m.cells.length} runs in ${Math.round(m.ms / 1000)} s`,
    line(table[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(line),
  ];
  if (m.error) out.push(`could not run: ${m.error}`);
  for (const { count, why } of m.left) out.push(`left out ${count} cells, ${why}`);
  for (const r of m.cells.filter((c) => c.verdict.outcome === 'broken' || !c.hit)) {
    out.push(
      `  ${cellText(r)} at ${r.cell.row} × ${r.cell.fault}: exit ${r.verdict.exitCode}; ${r.verdict.traffic.detail}; said: ${r.verdict.said}`,
    );
  }
  return out.join('\n');
}

export const LEGEND =
  'ok: goal reached, exit 0 · back: exit non-zero, traffic on the version that served before · miss: the fault never fired';

export function formatCounts(c: Counts): string {
  const p = c.problems;
  return (
    `${c.cells} runs: false greens ${p['false green']} · false reds ${p['false red']} · stranded ${p.stranded} · ` +
    `unrestored templates ${p.unrestored} · leases left behind ${p['lease left behind']} ` +
    `(histories that do not tell ${p.record}, runs that never ended ${p.hung}, faults that never fired ${c.missed})`
  );
}

/** The broken and missed cells, one line each, for a test's failure message. */
export function brokenCells(results: MatrixResult[]): string[] {
  return results.flatMap((m) => [
    ...(m.error ? [`${m.scenario}: could not run: ${m.error}`] : []),
    ...m.cells
      .filter((r) => r.verdict.outcome === 'broken' || !r.hit)
      .map(
        (r) =>
          `${m.scenario}: ${r.cell.row} × ${r.cell.fault}: ${cellText(r)} — ${r.verdict.traffic.detail}; said: ${r.verdict.said}`,
      ),
  ]);
}
