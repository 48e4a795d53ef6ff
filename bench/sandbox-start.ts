/** Start-up of the sandbox (store, API server with a fresh CA, controllers, stand-ins), without Prometheus. */
import { startSandbox } from '../packages/sandbox/src/sandbox.js';
import { median, printTable } from './measure.js';

const RUNS = Number(process.env.BENCH_SANDBOX_RUNS ?? 7);

export async function sandboxStart(): Promise<void> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    const sandbox = await startSandbox({ rps: 0 });
    times.push(performance.now() - started);
    await sandbox.stop();
  }
  printTable(
    `Sandbox start without Prometheus, median of ${RUNS} (target < 2000 ms)`,
    ['median ms', 'min ms', 'max ms'],
    [[median(times).toFixed(0), Math.min(...times).toFixed(0), Math.max(...times).toFixed(0)]],
  );
}
