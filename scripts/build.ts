/**
 * Bundles every action folder that has src/main.ts into dist/<name>/ with ncc, one minified
 * bundle plus its licenses file. Lazy chunks (the dynamic import of @kubernetes/client-node)
 * are minified with esbuild afterwards, since ncc's minifier only covers the entry file.
 */
import ncc from '@vercel/ncc';
import { transform } from 'esbuild';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

export async function listActions(): Promise<string[]> {
  const entries = await readdir(join(root, 'actions'), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory() && existsSync(join(root, 'actions', e.name, 'src', 'main.ts')))
    .map((e) => e.name)
    .sort();
}

async function buildAction(name: string): Promise<void> {
  const started = Date.now();
  const { code, assets } = await ncc(join(root, 'actions', name, 'src', 'main.ts'), {
    minify: true,
    license: 'licenses.txt',
    quiet: true,
    sourceMap: false,
  });
  const out = join(root, 'dist', name);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'index.js'), code);
  for (const [file, asset] of Object.entries(assets)) {
    let source = asset.source;
    if (file.endsWith('.js')) {
      source = (await transform(source.toString(), { minify: true, format: 'esm', legalComments: 'none' }))
        .code;
    }
    await writeFile(join(out, file), source);
  }
  console.log(`built dist/${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function main(): Promise<void> {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : await listActions();
  // Drop bundles of actions that no longer exist, so dist/ always mirrors actions/.
  const existing = await readdir(join(root, 'dist')).catch(() => [] as string[]);
  for (const stale of existing.filter((d) => !names.includes(d))) {
    if (process.argv.slice(2).length === 0)
      await rm(join(root, 'dist', stale), { recursive: true, force: true });
  }
  if (names.length === 0) {
    console.log('no actions to build');
    return;
  }
  // Two at a time: the machines have two cores and ncc is CPU-bound.
  const queue = [...names];
  await Promise.all(
    [0, 1].map(async () => {
      for (let name = queue.shift(); name; name = queue.shift()) await buildAction(name);
    }),
  );
}

await main();
