/** Rebuilds dist/ and fails when the committed bundles differ from what the sources produce. */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], { cwd: root, stdio: 'inherit' });
const changes = execFileSync('git', ['status', '--porcelain', '--', 'dist'], { cwd: root, encoding: 'utf8' });
if (changes.trim() !== '') {
  console.error(`dist/ does not match the sources; run npm run build and commit dist/:\n${changes}`);
  process.exit(1);
}
console.log('dist/ matches the sources');
