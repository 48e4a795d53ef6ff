/**
 * A release's notes: the `## [X.Y.Z]` section of CHANGELOG.md, without its heading.
 *
 *   tsx scripts/release-notes.ts 1.2.3 [CHANGELOG.md]
 *
 * Prints the section and exits 0; exits 1 with a message naming the version when the version
 * is not X.Y.Z (a leading `v`, as in the tag, is accepted) or the changelog has no section (or
 * an empty one) for it, so the release workflow stops before it creates a release.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const VERSION = /^v?(\d+\.\d+\.\d+)$/;

export class ReleaseNotesError extends Error {}

/** The notes of `version` in the changelog text; throws ReleaseNotesError when there are none. */
export function releaseNotes(changelog: string, version: string): string {
  const plain = VERSION.exec(version)?.[1];
  if (!plain) throw new ReleaseNotesError(`version "${version}" is not of the form X.Y.Z (or vX.Y.Z)`);
  const lines = changelog.split(/\r?\n/);
  // `## [1.2.3]`, optionally followed by ` - 2026-01-31` or other text.
  const heading = new RegExp(`^##\\s+\\[${plain.replaceAll('.', '\\.')}\\](\\s|$)`);
  const start = lines.findIndex((line) => heading.test(line));
  if (start < 0) throw new ReleaseNotesError(`CHANGELOG.md has no "## [${plain}]" section`);
  const rest = lines.slice(start + 1);
  // The section ends at the next release heading, or at the link definitions Keep a Changelog puts last.
  const end = rest.findIndex((line) => /^##\s/.test(line) || /^\[[^\]]+\]:\s/.test(line));
  const notes = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  if (notes === '') throw new ReleaseNotesError(`the "## [${plain}]" section of CHANGELOG.md is empty`);
  return `${notes}\n`;
}

function main(args: string[]): number {
  const [version, path = resolve(import.meta.dirname, '..', 'CHANGELOG.md')] = args;
  if (!version) {
    console.error('usage: tsx scripts/release-notes.ts X.Y.Z [CHANGELOG.md]');
    return 1;
  }
  try {
    process.stdout.write(releaseNotes(readFileSync(path, 'utf8'), version));
    return 0;
  } catch (error) {
    if (!(error instanceof ReleaseNotesError)) throw error;
    console.error(`release-notes: ${error.message} (${path})`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
