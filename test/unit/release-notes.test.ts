/** The release workflow's notes (scripts/release-notes.ts), from a CHANGELOG written for the test. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseNotes, ReleaseNotesError } from '../../scripts/release-notes.js';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'release-notes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHANGELOG = `# Changelog

Intro text that is no release's.

## [Unreleased]

### Added

- something not yet released

## [1.2.0] - 2026-12-24

### Added

- **canary-step**: \`weight\` per job.

### Fixed

- rollback waits for the lock.

## [1.1.10] - 2026-12-01

- a patch with a two-digit number.

## [1.1.1]

## [1.0.0] - 2026-11-30

The first release.

[1.2.0]: https://example.invalid/compare/v1.1.10...v1.2.0
[1.0.0]: https://example.invalid/releases/tag/v1.0.0
`;

describe('releaseNotes', () => {
  it('takes the section under "## [X.Y.Z]" up to the next release heading, without the heading', () => {
    expect(releaseNotes(CHANGELOG, '1.2.0')).toBe(
      '### Added\n\n- **canary-step**: `weight` per job.\n\n### Fixed\n\n- rollback waits for the lock.\n',
    );
  });

  it('accepts the tag form vX.Y.Z and does not take 1.1.1 for 1.1.10', () => {
    expect(releaseNotes(CHANGELOG, 'v1.1.10')).toBe('- a patch with a two-digit number.\n');
  });

  it('stops the last section at the link definitions', () => {
    expect(releaseNotes(CHANGELOG, '1.0.0')).toBe('The first release.\n');
  });

  it.each([
    ['1.3.0', 'CHANGELOG.md has no "## [1.3.0]" section'],
    ['1.1.1', 'the "## [1.1.1]" section of CHANGELOG.md is empty'],
    ['1.2', 'version "1.2" is not of the form X.Y.Z (or vX.Y.Z)'],
    ['v1.2.0-rc.1', 'version "v1.2.0-rc.1" is not of the form X.Y.Z (or vX.Y.Z)'],
    ['Unreleased', 'version "Unreleased" is not of the form X.Y.Z (or vX.Y.Z)'],
  ])('refuses %s: %s', (version, message) => {
    expect(() => releaseNotes(CHANGELOG, version)).toThrow(new ReleaseNotesError(message));
  });
});

describe('tsx scripts/release-notes.ts', () => {
  const path = join(dir, 'CHANGELOG.md');
  writeFileSync(path, CHANGELOG);
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/release-notes.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
    });

  it('prints the notes and exits 0', async () => {
    const { stdout } = await run(['1.2.0', path]);
    expect(stdout).toBe(releaseNotes(CHANGELOG, '1.2.0'));
  });

  it('exits 1 naming the version and the file when the section is missing', async () => {
    await expect(run(['9.9.9', path])).rejects.toMatchObject({
      code: 1,
      stdout: '',
      stderr: `release-notes: CHANGELOG.md has no "## [9.9.9]" section (${path})\n`,
    });
  });

  it("finds the repository's own CHANGELOG.md by default", async () => {
    await expect(run(['0.0.1'])).rejects.toMatchObject({
      code: 1,
      stderr: `release-notes: CHANGELOG.md has no "## [0.0.1]" section (${join(root, 'CHANGELOG.md')})\n`,
    });
  });
});
