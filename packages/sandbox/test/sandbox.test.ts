/**
 * The composed sandbox: the CLI's ready line, and kubectl driving a real rollout through the
 * controllers (apply, rollout status, set image, history, undo, scale), as a person would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startSandbox, type Sandbox } from '../src/sandbox.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

describe('npm run sandbox', () => {
  it('prints one ready line with the URLs, writes the kubeconfig, and stops on SIGINT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sandbox-cli-'));
    const kubeconfig = join(dir, 'kubeconfig');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'packages/sandbox/src/cli.ts', '--kubeconfig', kubeconfig, '--rps', '0'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const line = await new Promise<string>((done, fail) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = out.split('\n').find((l) => l.startsWith('sandbox ready '));
        if (ready) done(ready);
      });
      child.on('exit', (code) => fail(new Error(`exited ${code} before ready: ${out}`)));
    });
    const info = JSON.parse(line.slice('sandbox ready '.length));
    expect(Object.keys(info).sort()).toEqual(['apiServer', 'github', 'kubeconfig', 'slack']);
    expect(info.kubeconfig).toBe(kubeconfig);
    expect(existsSync(kubeconfig)).toBe(true);
    const { stdout } = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name']);
    expect(stdout).toContain('namespace/default');
    const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  });
});

describe('kubectl against the sandbox cluster', () => {
  let sandbox: Sandbox;
  const kubectl = async (...args: string[]): Promise<string> =>
    (await run('kubectl', ['--kubeconfig', sandbox.kubeconfig, '-n', 'demo', ...args], { timeout: 60_000 }))
      .stdout;

  beforeAll(async () => {
    sandbox = await startSandbox({
      rps: 0,
      namespaces: ['demo'],
      timings: { podStartMs: 50, readyAfterMs: 100 },
    });
  });
  afterAll(async () => sandbox?.stop());

  it('rolls out, shows history, undoes and scales through the controllers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kubectl-'));
    await writeFile(
      join(dir, 'web.yaml'),
      `apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: demo }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: "ghcr.io/acme/web:1" }] }
`,
    );
    expect(await kubectl('apply', '-f', join(dir, 'web.yaml'))).toContain('deployment.apps/web created');
    expect(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    await kubectl('set', 'image', 'deployment/web', 'web=ghcr.io/acme/web:2');
    expect(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    const history = await kubectl('rollout', 'history', 'deployment/web');
    expect(history).toMatch(/^1\s/m);
    expect(history).toMatch(/^2\s/m);
    expect(await kubectl('rollout', 'undo', 'deployment/web')).toContain('rolled back');
    expect(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    expect(
      await kubectl('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'),
    ).toBe('ghcr.io/acme/web:1');
    // The undo reused revision 1's ReplicaSet and gave it revision 3.
    expect(await kubectl('rollout', 'history', 'deployment/web')).toMatch(/^3\s/m);
    await kubectl('scale', 'deployment/web', '--replicas=4');
    expect(await kubectl('rollout', 'status', 'deployment/web', '--timeout=30s')).toContain(
      'successfully rolled out',
    );
    const pods = await kubectl(
      'get',
      'pods',
      '-l',
      'app=web',
      '-o',
      'jsonpath={range .items[*]}{.status.phase} {.metadata.deletionTimestamp}{"\\n"}{end}',
    );
    // Pods the undo replaced may still be Terminating (they carry a deletionTimestamp), as on a real cluster.
    const serving = pods
      .trim()
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => !line.includes(' '));
    expect(serving).toEqual(['Running', 'Running', 'Running', 'Running']);
    expect(await kubectl('delete', 'deployment', 'web')).toContain('deleted');
  });
});
