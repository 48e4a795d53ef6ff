/** Shared measuring helpers for the benchmarks: process timing, peak memory, medians, tables. */
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const probe = pathToFileURL(resolve(import.meta.dirname, 'rss-probe.mjs')).href;

export interface ProcessSample {
  wallMs: number;
  peakRssKiB: number;
  exitCode: number | null;
}

/** Runs `node [--import probe] ...args` once and measures wall time and peak RSS. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ProcessSample> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', probe, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    let rss = '';
    child.stdio[3]?.on('data', (chunk: Buffer) => (rss += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      resolvePromise({ wallMs, peakRssKiB: Number(rss.trim()) || 0, exitCode: code });
    });
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function printTable(title: string, headers: string[], rows: (string | number)[][]): void {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`\n${title}`);
  console.log(line(headers));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}
