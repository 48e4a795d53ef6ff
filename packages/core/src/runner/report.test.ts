import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  details,
  escapeCell,
  heading,
  mermaidChart,
  setOutputs,
  table,
  timeline,
  writeSummary,
} from './report.js';

describe('table', () => {
  it('renders headers, separator and rows', () => {
    expect(
      table(
        ['Check', 'Value'],
        [
          ['error rate', 0.5],
          ['latency p95', '120 ms'],
        ],
      ),
    ).toBe('| Check | Value |\n| --- | --- |\n| error rate | 0.5 |\n| latency p95 | 120 ms |\n');
  });
  it('escapes pipes, backslashes and newlines so a cell stays a cell', () => {
    expect(escapeCell('a|b')).toBe('a\\|b');
    expect(escapeCell('line1\nline2')).toBe('line1<br>line2');
    expect(escapeCell('C:\\x')).toBe('C:\\\\x');
    expect(table(['x'], [['rate{code=~"5.."} | sum']])).toContain('| rate{code=~"5.."} \\| sum |');
  });
  it('pads short rows, renders empty for null/undefined, and rejects long rows', () => {
    expect(table(['a', 'b', 'c'], [[1, null]])).toContain('| 1 |  |  |');
    expect(() => table(['a'], [[1, 2]])).toThrow('table row has 2 cells for 1 headers');
  });
});

describe('details and heading', () => {
  it('wraps a markdown body in a collapsed section, escaping the summary', () => {
    expect(details('Gate <p95>', '| a |\n')).toBe(
      '<details><summary>Gate &lt;p95&gt;</summary>\n\n| a |\n\n</details>\n',
    );
  });
  it('renders a heading on one line', () => {
    expect(heading('Canary\nweb', 3)).toBe('### Canary web\n');
  });
});

describe('mermaidChart', () => {
  it('produces an xychart-beta block with one line per series and a legend', () => {
    const chart = mermaidChart({
      title: 'Error rate "5xx"',
      xLabels: ['0m', '1m', '2m'],
      yLabel: 'errors %',
      series: [
        { name: 'stable', values: [0.1, 0.2, 0.15] },
        { name: 'canary', values: [0.3, Number.NaN, 1 / 3], type: 'bar' },
      ],
      yRange: [0, 5],
    });
    expect(chart).toBe(
      [
        '```mermaid',
        'xychart-beta',
        `    title "Error rate '5xx'"`,
        '    x-axis ["0m", "1m", "2m"]',
        '    y-axis "errors %" 0 --> 5',
        '    line [0.1, 0.2, 0.15]',
        '    bar [0.3, 0, 0.333333]',
        '```',
        '',
        '_Series: 1. stable (line), 2. canary (bar)_',
        '',
      ].join('\n'),
    );
  });
  it('rejects a series whose length does not match the labels', () => {
    expect(() =>
      mermaidChart({ title: 't', xLabels: ['a'], yLabel: 'y', series: [{ name: 's', values: [1, 2] }] }),
    ).toThrow('series "s" has 2 values for 1 x labels');
  });
});

describe('timeline', () => {
  it('lists events with UTC time and offset from the first', () => {
    expect(
      timeline([
        { at: '2026-11-27T03:00:00Z', text: 'canary at 10%' },
        { at: new Date('2026-11-27T03:01:05Z'), text: 'gate passed' },
        { at: '2026-11-27T03:00:30Z', text: 'multi\nline' },
      ]),
    ).toBe(
      '- `03:00:00Z` (+0s) canary at 10%\n- `03:01:05Z` (+1m05s) gate passed\n- `03:00:30Z` (+30s) multi line\n',
    );
  });
  it('is empty for no entries', () => {
    expect(timeline([])).toBe('');
  });
});

describe('runner files', () => {
  let dir: string;
  const saved = { out: process.env.GITHUB_OUTPUT, summary: process.env.GITHUB_STEP_SUMMARY };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-test-'));
  });
  afterEach(async () => {
    process.env.GITHUB_OUTPUT = saved.out;
    process.env.GITHUB_STEP_SUMMARY = saved.summary;
    if (saved.out === undefined) delete process.env.GITHUB_OUTPUT;
    if (saved.summary === undefined) delete process.env.GITHUB_STEP_SUMMARY;
    await rm(dir, { recursive: true, force: true });
  });

  it('setOutputs writes strings, numbers, booleans and JSON, and skips undefined', async () => {
    const file = join(dir, 'output');
    await writeFile(file, '');
    process.env.GITHUB_OUTPUT = file;
    setOutputs({ phase: 'promoted', weight: 100, 'dry-run': false, record: { a: 1 }, skipped: undefined });
    const text = await readFile(file, 'utf8');
    const values = Object.fromEntries(
      [...text.matchAll(/^(.+?)<<(.+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1], m[3]]),
    );
    expect(values).toEqual({ phase: 'promoted', weight: '100', 'dry-run': 'false', record: '{"a":1}' });
  });

  it('writeSummary appends to GITHUB_STEP_SUMMARY', async () => {
    const file = join(dir, 'summary.md');
    await writeFile(file, '# before\n');
    process.env.GITHUB_STEP_SUMMARY = file;
    await writeSummary(table(['a'], [[1]]));
    await writeSummary(heading('next'));
    expect(await readFile(file, 'utf8')).toBe('# before\n| a |\n| --- |\n| 1 |\n\n## next\n\n');
  });
});
