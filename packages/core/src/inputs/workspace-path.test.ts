import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveInWorkspace, resolvePatternInWorkspace, type PathRoots } from './workspace-path.js';

const root = mkdtempSync(join(tmpdir(), 'workspace-path-'));
const workspace = join(root, 'ws');
const temp = join(root, 'runner-temp');
const outside = join(root, 'outside');
for (const dir of [join(workspace, 'k8s'), temp, outside]) mkdirSync(dir, { recursive: true });
writeFileSync(join(workspace, 'k8s', 'app.yaml'), 'kind: ConfigMap\n');
writeFileSync(join(outside, 'secret.yaml'), 'password: hunter2\n');
symlinkSync(outside, join(workspace, 'linked-out'));
symlinkSync(join(workspace, 'k8s'), join(workspace, 'linked-in'));
symlinkSync(join(outside, 'missing.json'), join(workspace, 'dangling.json'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const roots: PathRoots = { workspace, runnerTemp: temp };

describe('resolveInWorkspace', () => {
  it('resolves a relative path against the workspace', () => {
    expect(resolveInWorkspace('k8s/app.yaml', roots)).toEqual({
      ok: true,
      path: join(workspace, 'k8s/app.yaml'),
    });
    expect(resolveInWorkspace('k8s/../k8s/app.yaml', roots)).toEqual({
      ok: true,
      path: join(workspace, 'k8s/app.yaml'),
    });
    expect(resolveInWorkspace(join(workspace, 'k8s/app.yaml'), roots).ok).toBe(true);
  });

  it('accepts a file that does not exist yet, inside the workspace', () => {
    expect(resolveInWorkspace('out/report.json', roots)).toEqual({
      ok: true,
      path: join(workspace, 'out/report.json'),
    });
  });

  it('refuses ".." that leads out, and an absolute path elsewhere', () => {
    expect(resolveInWorkspace('../../../../tmp/x.json', roots)).toEqual({
      ok: false,
      reason: `the path leads out of the workspace (${workspace}) through ".."`,
    });
    expect(resolveInWorkspace('/etc/passwd', roots)).toEqual({
      ok: false,
      reason: `the path is outside the workspace (${workspace})`,
    });
  });

  it('refuses a symbolic link that resolves outside, and one whose target is missing', () => {
    const out = resolveInWorkspace('linked-out/secret.yaml', roots);
    expect(out.ok).toBe(false);
    expect(!out.ok && out.reason).toMatch(/^the path follows a symbolic link to .*outside the workspace/);
    expect(resolveInWorkspace('linked-out/new.json', roots, { output: true }).ok).toBe(false);
    expect(resolveInWorkspace('dangling.json', roots, { output: true })).toEqual({
      ok: false,
      reason: 'the path goes through a symbolic link whose target does not exist',
    });
  });

  it('follows a symbolic link that stays inside', () => {
    expect(resolveInWorkspace('linked-in/app.yaml', roots)).toEqual({
      ok: true,
      path: join(workspace, 'linked-in/app.yaml'),
    });
  });

  it('lets an output go under RUNNER_TEMP, but not an input', () => {
    const report = join(temp, 'gate.json');
    expect(resolveInWorkspace(report, roots, { output: true })).toEqual({ ok: true, path: report });
    expect(resolveInWorkspace(report, roots)).toEqual({
      ok: false,
      reason: `the path is outside the workspace (${workspace})`,
    });
    expect(resolveInWorkspace('/tmp/x.json', roots, { output: true })).toEqual({
      ok: false,
      reason: `the path is outside the workspace (${workspace}) or RUNNER_TEMP (${temp})`,
    });
  });

  it('refuses a NUL character', () => {
    expect(resolveInWorkspace('k8s/app.yaml\0.txt', roots).ok).toBe(false);
  });
});

describe('resolvePatternInWorkspace', () => {
  it('checks the fixed folders of a glob', () => {
    expect(resolvePatternInWorkspace('k8s/**/*.yaml', roots).ok).toBe(true);
    expect(resolvePatternInWorkspace('*.yaml', roots).ok).toBe(true);
    expect(resolvePatternInWorkspace('../outside/*.yaml', roots)).toEqual({
      ok: false,
      reason: `the path leads out of the workspace (${workspace}) through ".."`,
    });
    expect(resolvePatternInWorkspace('/etc/*.conf', roots).ok).toBe(false);
    expect(resolvePatternInWorkspace('/*.yaml', roots).ok).toBe(false);
    expect(resolvePatternInWorkspace('linked-out/*.yaml', roots).ok).toBe(false);
  });

  it('refuses ".." after a wildcard', () => {
    expect(resolvePatternInWorkspace('k8s/*/../../../outside/*.yaml', roots)).toEqual({
      ok: false,
      reason: 'the pattern uses ".." after a wildcard, which may lead out of the workspace',
    });
  });

  it('checks a plain path as a path', () => {
    expect(resolvePatternInWorkspace('k8s/app.yaml', roots)).toEqual({
      ok: true,
      path: join(workspace, 'k8s/app.yaml'),
    });
    expect(resolvePatternInWorkspace('../outside/secret.yaml', roots).ok).toBe(false);
  });
});
