import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadManifests, ManifestError } from './manifests.js';
import { aliasBomb } from '../testing/alias-bomb.js';

const root = mkdtempSync(join(tmpdir(), 'manifests-'));
const workspace = join(root, 'ws');
const outside = join(root, 'outside');
mkdirSync(join(workspace, 'k8s'), { recursive: true });
mkdirSync(outside);
const CONFIG_MAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n';
writeFileSync(join(workspace, 'k8s', 'settings.yaml'), CONFIG_MAP);
writeFileSync(join(outside, 'secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: hunter2\n');
symlinkSync(outside, join(workspace, 'k8s', 'shared'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function problemsOf(patterns: string[]): Promise<string[]> {
  const error = await loadManifests(patterns, workspace).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ManifestError);
  return (error as ManifestError).problems;
}

function write(name: string, text: string): string {
  writeFileSync(join(workspace, name), text);
  return name;
}

describe('loadManifests', () => {
  it('reads files and globs inside the workspace', async () => {
    const manifests = await loadManifests(['k8s/*.yaml'], workspace);
    expect(manifests.map((m) => [m.object.metadata.name, m.source])).toEqual([
      ['settings', 'k8s/settings.yaml:1'],
    ]);
  });

  it('refuses a pattern that leads out of the workspace, before listing anything', async () => {
    expect(await problemsOf(['../outside/*.yaml'])).toEqual([
      `Input "manifests" has item "../outside/*.yaml": the path leads out of the workspace (${workspace}) through ".."; give files or globs inside the workspace, relative to it`,
    ]);
    expect(await problemsOf([join(outside, 'secret.yaml')])).toEqual([
      expect.stringMatching(
        /^Input "manifests" has item ".*secret\.yaml": the path is outside the workspace/,
      ),
    ]);
  });

  it('refuses a file a glob finds through a symbolic link to outside', async () => {
    const problems = await problemsOf(['k8s/**/*.yaml']);
    expect(problems).toEqual([
      expect.stringMatching(
        /^Input "manifests": "k8s\/\*\*\/\*\.yaml" matches k8s\/shared\/secret\.yaml: the path follows a symbolic link to .*outside the workspace/,
      ),
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('names file and line of an alias bomb', async () => {
    const name = write('bomb.yaml', `${CONFIG_MAP}---\n${aliasBomb()}`);
    expect(await problemsOf([name])).toEqual([
      'Input "manifests": bomb.yaml:5: invalid YAML: its aliases expand past 100 copies, which is refused as an alias bomb',
    ]);
  });

  it('names file and line of broken YAML, without its text', async () => {
    const name = write('broken.yaml', 'apiVersion: v1\nkind: Secret\nstringData:\n  password: "hunter2\n');
    const problems = await problemsOf([name]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^Input "manifests": broken\.yaml:\d+: invalid YAML: [A-Z][^\n]*$/);
    expect(problems[0]).not.toContain('hunter2');
  });

  it('does not quote a file that holds no Kubernetes object', async () => {
    const name = write(
      'passwd',
      'root:x:0:0:root:/root:/bin/bash\nrobot:x:1000:1000:hunter2:/home/robot:/bin/sh\n',
    );
    expect(await problemsOf([name])).toEqual([
      'Input "manifests": passwd:1: expected a Kubernetes object (a YAML mapping)',
    ]);
  });
});
