/**
 * `npm run test:cluster:sandbox`: proves real-cluster mode without a real cluster. It starts the
 * sandbox as a separate process (`npm run sandbox`), exactly as a user would, and runs
 * `npm run test:cluster` against it through its kubeconfig and Prometheus URL only: nothing of
 * the sandbox is in the test process. Figures from this run are the sandbox's, not a real cluster's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '..');
const dir = join(root, '.tmp', 'e2e-sandbox');
mkdirSync(dir, { recursive: true });
const kubeconfig = join(dir, 'kubeconfig');

const sandbox = spawn(
  'npm',
  ['run', '--silent', 'sandbox', '--', '--kubeconfig', kubeconfig, '--prometheus', '--rps', '40'],
  {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  },
);
const stopSandbox = (): void => {
  try {
    process.kill(-sandbox.pid!, 'SIGTERM');
  } catch {
    // already gone
  }
};
process.on('exit', stopSandbox);

const ready = await new Promise<{ prometheus?: string }>((resolveReady, reject) => {
  const timer = setTimeout(
    () => reject(new Error('the sandbox did not print "sandbox ready" within 60 s')),
    60_000,
  );
  sandbox.once('exit', (code) => reject(new Error(`the sandbox exited with ${code} before it was ready`)));
  createInterface({ input: sandbox.stdout }).on('line', (line) => {
    const match = /^sandbox ready (.*)$/.exec(line);
    if (!match) return;
    clearTimeout(timer);
    resolveReady(JSON.parse(match[1]!) as { prometheus?: string });
  });
}).catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});

const run = spawnSync('npm', ['run', '--silent', 'test:cluster'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    E2E_KUBECONFIG: kubeconfig,
    E2E_PROMETHEUS_URL: ready.prometheus,
    E2E_SUMMARY_DIR: join(root, '.tmp', 'e2e-summaries'),
  },
});
stopSandbox();
process.exit(run.status ?? 1);
