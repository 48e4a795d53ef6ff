import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReportFile } from './report-file.js';

describe('writeReportFile', () => {
  it('writes the JSON where report-path says, creating its folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-file-'));
    const path = join(dir, 'out', 'canary.json');
    expect(await writeReportFile('canary-step', path, { verdict: 'pass', checks: [] })).toBe(path);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ verdict: 'pass', checks: [] });
  });

  it('without a path, writes a new file named after the action and run in RUNNER_TEMP', async () => {
    const temp = await mkdtemp(join(tmpdir(), 'runner-temp-'));
    const env = { RUNNER_TEMP: temp, GITHUB_RUN_ID: '4242' };
    const path = await writeReportFile('health-gate', undefined, { verdict: 'fail' }, env);
    expect(dirname(path)).toBe(temp);
    expect(path).toMatch(/\/health-gate-4242-\d+\.json$/);
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ verdict: 'fail' });
  });
});
