/**
 * Cold start of every bundle in dist/: Node 24 running dist/<name>/index.js with a required
 * input missing (validation fails, so nothing reaches a network), beside `node -e 0` as the
 * floor, measured interleaved in the same run so machine noise hits all alike.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { median, printTable, runNode, type ProcessSample } from './measure.js';

const root = resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const TARGET_MS = 60;
const TARGET_MIB = 70;
/** `node -e 0` on the reference machines (issue #2); a loaded machine inflates every figure alike. */
const REFERENCE_FLOOR_MS = 26;
/** Bundle size targets (MB): the notices carry no Kubernetes code; the others do. */
const NOTICES = new Set(['notify-slack', 'notify-email']);
const sizeTargetMb = (name: string): number => (NOTICES.has(name) ? 0.5 : 3);

async function bundleSize(dir: string): Promise<number> {
  let total = 0;
  for (const file of await readdir(dir))
    if (file.endsWith('.js')) total += (await stat(join(dir, file))).size;
  return total;
}

export async function coldStart(): Promise<void> {
  const names = (await readdir(join(root, 'dist')).catch(() => [] as string[])).sort();
  if (names.length === 0) {
    console.log('cold start: no bundles in dist/ yet');
    return;
  }
  const samples = new Map<string, ProcessSample[]>([['node -e 0', []]]);
  for (const name of names) samples.set(name, []);
  for (let i = 0; i < RUNS; i++) {
    samples.get('node -e 0')!.push(await runNode(['-e', '0']));
    for (const name of names) {
      // An empty environment: no INPUT_* at all, so the first required input is missing.
      samples.get(name)!.push(await runNode([join(root, 'dist', name, 'index.js')], { RUNNER_TEMP: '/tmp' }));
    }
  }
  const floor = median(samples.get('node -e 0')!.map((s) => s.wallMs));
  const rows: (string | number)[][] = [];
  for (const [name, list] of samples) {
    const ms = median(list.map((s) => s.wallMs));
    const mib = Math.max(...list.map((s) => s.peakRssKiB)) / 1024;
    const isBundle = name !== 'node -e 0';
    const size = isBundle ? (await bundleSize(join(root, 'dist', name))) / 1e6 : 0;
    const failedAsExpected = !isBundle || list.every((s) => s.exitCode === 1);
    // The time target is judged as a ratio to the floor measured in this run, scaled to the reference floor.
    const referenceMs = (ms / floor) * REFERENCE_FLOOR_MS;
    rows.push([
      name,
      ms.toFixed(1),
      (ms / floor).toFixed(2),
      referenceMs.toFixed(0),
      mib.toFixed(1),
      isBundle
        ? `${size.toFixed(2)} (≤ ${sizeTargetMb(name)}: ${size <= sizeTargetMb(name) ? 'yes' : 'NO'})`
        : '-',
      isBundle ? (referenceMs <= TARGET_MS && mib <= TARGET_MIB ? 'yes' : 'NO') : '-',
      failedAsExpected ? 'yes' : 'NO (expected exit 1)',
    ]);
  }
  printTable(
    `Cold start, input validation failing (median of ${RUNS} runs, Node ${process.version}; targets ${TARGET_MS} ms, ${TARGET_MIB} MiB)`,
    [
      'bundle',
      'median ms',
      'x floor',
      `ms at ${REFERENCE_FLOOR_MS} ms floor`,
      'peak MiB',
      'size MB',
      'meets time + memory',
      'exit 1',
    ],
    rows,
  );
}
