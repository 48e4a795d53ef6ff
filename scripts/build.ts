/**
 * Bundles every action folder that has src/main.ts into dist/<name>/ with ncc, one minified
 * bundle plus its licenses file. Lazy chunks (the dynamic import of @kubernetes/client-node)
 * are minified with esbuild afterwards, since ncc's minifier only covers the entry file.
 *
 * First, packages/core/build/client-node/ gets the trimmed client-node that `#kube-client` resolves to in a
 * bundle (see packages/core/src/kube/client.ts and trimClientNode below).
 */
import ncc from '@vercel/ncc';
import { build, transform, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const clientNodeDir = join(root, 'node_modules', '@kubernetes', 'client-node');
const trimmedDir = join(root, 'packages', 'core', 'build', 'client-node');

/**
 * client-node's KubeConfig imports `./gen/index.js`, which re-exports every generated API class
 * and model (~4 MB bundled) for the sake of two symbols. This plugin answers that import with a
 * module of just those two; if KubeConfig ever needs more, esbuild fails on the missing export.
 */
const trimGeneratedApi: Plugin = {
  name: 'trim-generated-api',
  setup(b) {
    b.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) =>
      args.importer === join(clientNodeDir, 'dist', 'config.js')
        ? { path: 'gen-index', namespace: 'trimmed', pluginData: args.resolveDir }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'trimmed' }, (args) => ({
      resolveDir: args.pluginData as string,
      contents: [
        "export { createConfiguration } from './gen/configuration.js';",
        "export { ServerConfiguration } from './gen/servers.js';",
      ].join('\n'),
    }));
  },
};

/**
 * client-node's own dependencies (undici, openid-client, js-yaml...) stay imports, by path so
 * client-node's nested copies are the ones used; ncc bundles them and lists their licenses.
 */
const keepDependenciesExternal: Plugin = {
  name: 'keep-dependencies-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.path.startsWith('@kubernetes/client-node/') || args.pluginData === 'inner') return undefined;
      const found = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'inner',
      });
      if (found.errors.length > 0) return { errors: found.errors };
      if (found.external) return { path: found.path, external: true };
      return { path: relative(trimmedDir, found.path).split('\\').join('/'), external: true };
    });
  },
};

/**
 * Writes packages/core/build/client-node/: the client-node modules packages/core/src/kube/client.ts names, as
 * one ES module, with the package's name, version and licence beside it so ncc credits it in
 * licenses.txt as before.
 */
async function trimClientNode(): Promise<void> {
  await rm(trimmedDir, { recursive: true, force: true });
  await mkdir(trimmedDir, { recursive: true });
  await build({
    entryPoints: [join(root, 'packages', 'core', 'src', 'kube', 'client.ts')],
    outfile: join(trimmedDir, 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [trimGeneratedApi, keepDependenciesExternal],
  });
  const pkg = JSON.parse(await readFile(join(clientNodeDir, 'package.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  const { name, version, license, repository } = pkg;
  await writeFile(
    join(trimmedDir, 'package.json'),
    `${JSON.stringify({ name, version, license, repository, type: 'module', main: 'index.js' }, null, 2)}\n`,
  );
  await copyFile(join(clientNodeDir, 'LICENSE'), join(trimmedDir, 'LICENSE'));
}

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
  await trimClientNode();
  // Two at a time: the machines have two cores and ncc is CPU-bound.
  const queue = [...names];
  await Promise.all(
    [0, 1].map(async () => {
      for (let name = queue.shift(); name; name = queue.shift()) await buildAction(name);
    }),
  );
}

await main();
