import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseCommand, parseFileCommands } from '../../../sandbox/src/harness.js';
import { createWorkflowIo } from './io.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'workflow-io-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

function captureStdout(): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk));
    return true;
  });
  return lines;
}

describe('createWorkflowIo', () => {
  it('reads inputs as the runner passes them', () => {
    const io = createWorkflowIo({ 'INPUT_WEBHOOK-URL': '  https://x  ', INPUT_MY_INPUT: 'v' });
    expect(io.getInput('webhook-url')).toBe('https://x');
    expect(io.getInput('my input')).toBe('v');
    expect(io.getInput('absent')).toBe('');
  });

  it('writes outputs in the heredoc form the runner parses, multi-line values included', async () => {
    const output = join(dir, 'output');
    await writeFile(output, '');
    const io = createWorkflowIo({ GITHUB_OUTPUT: output });
    io.setOutput('ts', '1700000000.000100');
    io.setOutput('note', 'a\nb');
    expect(parseFileCommands(await readFile(output, 'utf8'))).toEqual({
      ts: '1700000000.000100',
      note: 'a\nb',
    });
  });

  it('masks, warns and fails with escaped workflow commands', () => {
    const lines = captureStdout();
    const io = createWorkflowIo({});
    io.setSecret('s3cret');
    io.warning('50% done\nsecond line');
    io.setFailed('broken');
    expect(lines.map((l) => parseCommand(l))).toEqual([
      { command: 'add-mask', properties: {}, message: 's3cret' },
      { command: 'warning', properties: {}, message: '50% done\nsecond line' },
      { command: 'error', properties: {}, message: 'broken' },
    ]);
    expect(process.exitCode).toBe(1);
  });

  it('appends to the job summary', async () => {
    const summary = join(dir, 'summary.md');
    await writeFile(summary, '# before\n');
    createWorkflowIo({ GITHUB_STEP_SUMMARY: summary }).appendSummary('### Slack notice');
    expect(await readFile(summary, 'utf8')).toBe('# before\n### Slack notice\n');
  });
});
