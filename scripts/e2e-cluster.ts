/**
 * `npm run test:cluster`: the portable e2e suite (test/e2e/any-cluster/) against the cluster that
 * E2E_KUBECONFIG names (E2E_PROMETHEUS_URL optional), then a table of every check: passed,
 * failed, or not applicable with what this cluster lacks. The e2e files that need the sandbox's
 * own instruments are listed too, with the instruments they use, so nothing reads as passed that
 * did not run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { node24 } from '../packages/sandbox/src/harness.js';

const root = resolve(import.meta.dirname, '..');
const kubeconfig = process.env.E2E_KUBECONFIG;
if (!kubeconfig || !existsSync(kubeconfig)) {
  console.error(
    `E2E_KUBECONFIG must name a kubeconfig file (got ${JSON.stringify(kubeconfig ?? '')}); ` +
      'E2E_PROMETHEUS_URL (optional) the Prometheus that scrapes the test app, E2E_IMAGE its image repository.',
  );
  process.exit(2);
}

const tmp = join(root, '.tmp');
mkdirSync(tmp, { recursive: true });
const notApplicableFile = join(tmp, 'e2e-not-applicable.jsonl');
const reportFile = join(tmp, 'e2e-cluster.json');
rmSync(notApplicableFile, { force: true });
rmSync(reportFile, { force: true });

const vitest = spawnSync(
  node24(),
  [
    join(root, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--config',
    'vitest.cluster.config.ts',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${reportFile}`,
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, E2E_NOT_APPLICABLE_FILE: notApplicableFile } },
);

interface Row {
  check: string;
  file: string;
  result: string;
}
const rows: Row[] = [];
if (existsSync(reportFile)) {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
    testResults: { name: string; assertionResults: { title: string; status: string }[] }[];
  };
  for (const file of report.testResults)
    for (const test of file.assertionResults)
      rows.push({ check: test.title, file: file.name.split('/').pop()!, result: test.status });
}
if (existsSync(notApplicableFile))
  for (const line of readFileSync(notApplicableFile, 'utf8').split('\n').filter(Boolean)) {
    const entry = JSON.parse(line) as { file: string; check: string; missing: string[] };
    rows.push({
      check: entry.check,
      file: entry.file,
      result: `not applicable: needs ${entry.missing.join(', ')}`,
    });
  }

/** The sandbox instruments an e2e file uses, read from its source: why it cannot run on a real cluster. */
const INSTRUMENTS: [RegExp, string][] = [
  [/sandbox\.faults|faults\.add/, 'fault injection'],
  [/cluster\.traffic/, "the sandbox's per-version request counters"],
  [/sandbox\.store|live\(sandbox/, "the sandbox's store (objects read or seeded directly)"],
  [/kubeconfigFor/, 'tokens limited to a Role'],
  [/sandbox\.(slack|github)/, 'the Slack and GitHub stand-ins'],
  [/sandbox\.audit/, "the API server's audit log"],
];
const sandboxOnly: Row[] = [];
for (const dir of ['test/e2e', 'test/e2e/faults']) {
  for (const name of readdirSync(join(root, dir)).filter((n) => n.endsWith('.test.ts'))) {
    const source = readFileSync(join(root, dir, name), 'utf8');
    const uses = INSTRUMENTS.filter(([pattern]) => pattern.test(source)).map(([, what]) => what);
    sandboxOnly.push({
      check: `every test in ${dir}/${name}`,
      file: name,
      result: `not applicable: sandbox-only (${uses.join('; ') || 'its in-process sandbox'})`,
    });
  }
}

const mode = `cluster ${kubeconfig}${process.env.E2E_PROMETHEUS_URL ? `, Prometheus ${process.env.E2E_PROMETHEUS_URL}` : ', no Prometheus'}`;
console.log(`\nReal-cluster e2e against ${mode}\n`);
console.log('| result | file | check |\n| --- | --- | --- |');
for (const row of [...rows, ...sandboxOnly]) console.log(`| ${row.result} | ${row.file} | ${row.check} |`);
const count = (status: string): number => rows.filter((r) => r.result === status).length;
console.log(
  `\n${count('passed')} passed, ${count('failed')} failed, ${rows.length - count('passed') - count('failed')} not applicable here; ${sandboxOnly.length} sandbox-only files not run`,
);
if (rows.length === 0) {
  console.error('no check ran or was listed: the suite did not start');
  process.exit(1);
}
process.exit(vitest.status ?? 1);
