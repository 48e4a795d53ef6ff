/**
 * Job-summary building blocks as pure functions returning markdown (so tests read the text), plus
 * the two side effects an action ends with: append the summary, set typed outputs.
 */
import * as runnerIo from './io.js';

export type Cell = string | number | boolean | null | undefined;

/** Keeps a value inside its table cell: `|` would start a new cell, a newline would end the row. */
export function escapeCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  return String(value).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function heading(text: string, level: 1 | 2 | 3 | 4 = 2): string {
  return `${'#'.repeat(level)} ${text.replace(/\r?\n/g, ' ')}\n`;
}

export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  if (headers.length === 0) throw new Error('table needs at least one header');
  const line = (cells: readonly Cell[]): string => `| ${cells.map(escapeCell).join(' | ')} |`;
  const out = [line(headers), `| ${headers.map(() => '---').join(' | ')} |`];
  for (const row of rows) {
    // Short rows are padded so the table stays rectangular; long rows are a caller bug.
    if (row.length > headers.length) {
      throw new Error(`table row has ${row.length} cells for ${headers.length} headers`);
    }
    out.push(line([...row, ...Array<Cell>(headers.length - row.length).fill('')]));
  }
  return `${out.join('\n')}\n`;
}

/** A collapsed section; the blank lines let GitHub render the body as markdown. */
export function details(summary: string, body: string): string {
  return `<details><summary>${escapeHtml(summary)}</summary>\n\n${body.trimEnd()}\n\n</details>\n`;
}

export interface ChartSeries {
  name: string;
  values: readonly number[];
  type?: 'line' | 'bar';
}

export interface MermaidChartSpec {
  title: string;
  xLabels: readonly string[];
  series: readonly ChartSeries[];
  yLabel: string;
  /** Fixed y range; by default mermaid fits the data. */
  yRange?: readonly [number, number];
}

function mermaidString(text: string): string {
  // Mermaid strings cannot escape a double quote; a single quote reads the same.
  return `"${text.replace(/"/g, "'").replace(/\r?\n/g, ' ')}"`;
}

function mermaidNumber(value: number): string {
  if (!Number.isFinite(value)) return '0';
  return String(Math.round(value * 1e6) / 1e6);
}

/**
 * A ```mermaid xychart-beta block. xychart has no legend, so the series names follow the chart as
 * a line of text, in drawing order.
 */
export function mermaidChart(spec: MermaidChartSpec): string {
  if (spec.series.length === 0) throw new Error(`chart "${spec.title}" has no series`);
  for (const s of spec.series) {
    if (s.values.length !== spec.xLabels.length) {
      throw new Error(
        `chart "${spec.title}": series "${s.name}" has ${s.values.length} values for ${spec.xLabels.length} x labels`,
      );
    }
  }
  const yAxis = spec.yRange
    ? `    y-axis ${mermaidString(spec.yLabel)} ${mermaidNumber(spec.yRange[0])} --> ${mermaidNumber(spec.yRange[1])}`
    : `    y-axis ${mermaidString(spec.yLabel)}`;
  const lines = [
    '```mermaid',
    'xychart-beta',
    `    title ${mermaidString(spec.title)}`,
    `    x-axis [${spec.xLabels.map(mermaidString).join(', ')}]`,
    yAxis,
    ...spec.series.map((s) => `    ${s.type ?? 'line'} [${s.values.map(mermaidNumber).join(', ')}]`),
    '```',
  ];
  const legend = spec.series.map((s, i) => `${i + 1}. ${s.name} (${s.type ?? 'line'})`).join(', ');
  return `${lines.join('\n')}\n\n_Series: ${legend}_\n`;
}

export interface TimelineEntry {
  at: Date | string;
  text: string;
}

/** A list of events with UTC clock time and the offset from the first entry. */
export function timeline(entries: readonly TimelineEntry[]): string {
  if (entries.length === 0) return '';
  const times = entries.map((e) => (e.at instanceof Date ? e.at : new Date(e.at)));
  const first = times[0]?.getTime() ?? 0;
  const lines = entries.map((entry, i) => {
    const at = times[i] ?? new Date(NaN);
    if (Number.isNaN(at.getTime())) return `- ${escapeHtml(entry.text)}`;
    const offset = Math.round((at.getTime() - first) / 1000);
    const clock = at.toISOString().slice(11, 19);
    const rel =
      offset >= 60 ? `+${Math.floor(offset / 60)}m${String(offset % 60).padStart(2, '0')}s` : `+${offset}s`;
    return `- \`${clock}Z\` (${rel}) ${entry.text.replace(/\r?\n/g, ' ')}`;
  });
  return `${lines.join('\n')}\n`;
}

/** Appends to the job summary (GITHUB_STEP_SUMMARY); a no-op outside a runner. */
export async function writeSummary(markdown: string): Promise<void> {
  runnerIo.appendSummary(markdown);
  return Promise.resolve();
}

export type OutputValue = string | number | boolean | object | null | undefined;

/** Sets each output; objects become JSON, undefined is skipped so a step can leave an output unset. */
export function setOutputs(values: Record<string, OutputValue>): void {
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    runnerIo.setOutput(name, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
}
