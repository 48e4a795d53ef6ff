/**
 * The one rule for every file an input names: it lies inside the workspace (GITHUB_WORKSPACE, or
 * the current directory outside a runner), or for a file the action writes, inside RUNNER_TEMP.
 * A path that leaves them, by `..`, by an absolute path elsewhere or through a symbolic link, is
 * refused before it is read or written: a workflow input must not turn the action into a reader
 * of the runner's files (`config: ../../etc/passwd`) or a writer outside its checkout.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/** Where input paths may lead. */
export interface PathRoots {
  /** Base of relative paths, and where files read may lie. */
  readonly workspace: string;
  /** Where a file the action writes may lie besides the workspace; unset outside a runner. */
  readonly runnerTemp?: string | undefined;
}

export function pathRoots(env: NodeJS.ProcessEnv = process.env): PathRoots {
  return { workspace: env.GITHUB_WORKSPACE || process.cwd(), runnerTemp: env.RUNNER_TEMP || undefined };
}

export type PathCheck =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

export interface ResolveOptions {
  /** A file the action writes: RUNNER_TEMP is allowed as well as the workspace. */
  readonly output?: boolean;
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/**
 * The path with every symbolic link of its existing part resolved; the part that does not exist
 * yet (an output file, a missing input) is appended as written. Undefined for a link whose target
 * is missing: writing through it would create that target wherever it points.
 */
function realPath(path: string): string | undefined {
  let existing = path;
  const rest: string[] = [];
  for (;;) {
    let found = true;
    try {
      lstatSync(existing);
    } catch {
      found = false;
    }
    if (found) break;
    const parent = dirname(existing);
    if (parent === existing) return path;
    rest.unshift(basename(existing));
    existing = parent;
  }
  try {
    return join(realpathSync(existing), ...rest);
  } catch {
    return undefined;
  }
}

/** The roots a path may lie in, as written and with their own links resolved. */
function allowedRoots(roots: PathRoots, options: ResolveOptions): string[] {
  const written = [resolve(roots.workspace)];
  if (options.output && roots.runnerTemp) written.push(resolve(roots.runnerTemp));
  return written.flatMap((root) => [root, realPath(root) ?? root]);
}

function placesWord(roots: PathRoots, options: ResolveOptions): string {
  return options.output && roots.runnerTemp
    ? `the workspace (${roots.workspace}) or RUNNER_TEMP (${roots.runnerTemp})`
    : `the workspace (${roots.workspace})`;
}

/**
 * Resolves `raw` (relative to the workspace, or absolute) and checks it stays inside the allowed
 * roots both as written and once symbolic links are followed. Returns the absolute path as
 * written, or the reason it is refused (never the file's contents: nothing is read here).
 */
export function resolveInWorkspace(raw: string, roots: PathRoots, options: ResolveOptions = {}): PathCheck {
  if (raw.includes('\0')) return { ok: false, reason: 'the path holds a NUL character' };
  const allowed = allowedRoots(roots, options);
  const path = resolve(roots.workspace, raw);
  const places = placesWord(roots, options);
  if (!allowed.some((root) => isInside(path, root))) {
    return {
      ok: false,
      reason: isAbsolute(raw)
        ? `the path is outside ${places}`
        : `the path leads out of ${places} through ".."`,
    };
  }
  const real = realPath(path);
  if (real === undefined) {
    return { ok: false, reason: 'the path goes through a symbolic link whose target does not exist' };
  }
  if (!allowed.some((root) => isInside(real, root))) {
    return { ok: false, reason: `the path follows a symbolic link to ${real}, outside ${places}` };
  }
  return { ok: true, path };
}

const GLOB_CHARS = /[*?[\]{}()!]/;

/**
 * For a glob, the check of its fixed leading folders (`k8s/` of `k8s/**\/*.yaml`), so that a
 * pattern aimed outside the workspace is refused before anything is listed. The files a glob
 * matches are checked one by one with resolveInWorkspace as well: a pattern such as `{..,k8s}/*`
 * is caught there.
 */
export function resolvePatternInWorkspace(pattern: string, roots: PathRoots): PathCheck {
  const segments = pattern.split(/[\\/]/);
  const firstGlob = segments.findIndex((segment) => GLOB_CHARS.test(segment));
  if (firstGlob === -1) return resolveInWorkspace(pattern, roots);
  if (segments.slice(firstGlob).includes('..')) {
    return {
      ok: false,
      reason: 'the pattern uses ".." after a wildcard, which may lead out of the workspace',
    };
  }
  const fixed = segments.slice(0, firstGlob).join('/');
  const base = fixed === '' && pattern.startsWith('/') ? '/' : fixed;
  const checked = resolveInWorkspace(base === '' ? '.' : base, roots);
  return checked.ok ? { ok: true, path: resolve(roots.workspace, pattern) } : checked;
}
