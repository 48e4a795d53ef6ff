/**
 * The decision record as a job summary: why the gate ended, one table per check with every
 * sample (value, threshold, outcome), sample sizes, the deploy monitoring section and a chart of
 * the main metric over the observation.
 */
import { details, heading, mermaidChart, table, type Cell } from '../runner/report.js';
import type { MonitoringSnapshot } from './monitoring.js';
import type { CheckRecord, GateDecision, SampleRecord } from './types.js';

const VERDICT_WORD = { pass: '✅ pass', fail: '❌ fail', inconclusive: '⚠️ inconclusive' } as const;
const OUTCOME_WORD = { ok: '✅ ok', fail: '❌ fail', 'no-data': '⏸ no data' } as const;

function offset(ms: number): string {
  return `+${(ms / 1000).toFixed(1)}s`;
}

function sampleValue(sample: SampleRecord): Cell {
  if (sample.value === undefined) return '—';
  return Number.isInteger(sample.value) ? sample.value : Number(sample.value.toPrecision(5));
}

function sampleSizes(record: CheckRecord): string {
  const sizes = record.samples.map((s) => s.sampleSize).filter((n): n is number => n !== undefined);
  if (sizes.length === 0) return '—';
  return `${Math.min(...sizes)}–${Math.max(...sizes)} requests per window`;
}

function checkTable(record: CheckRecord): string {
  const rows = record.samples.map((sample, i): Cell[] => [
    i + 1,
    offset(sample.elapsedMs),
    sampleValue(sample),
    sample.sampleSize ?? '',
    sample.threshold,
    OUTCOME_WORD[sample.outcome] + (sample.fatal ? ' (fatal)' : ''),
    sample.detail,
  ]);
  const query = record.query ? `Query: \`${record.query.replace(/`/g, "'")}\`\n\n` : '';
  return `${query}${table(['#', 'at', 'value', 'requests', 'threshold', 'outcome', 'detail'], rows)}`;
}

/** The main metric: the first Prometheus check with values, else the first check with any. */
function chartOf(decision: GateDecision): string {
  const withValues = (r: CheckRecord): boolean => r.samples.some((s) => s.value !== undefined);
  const main =
    decision.checks.find((r) => r.kind === 'prometheus' && withValues(r)) ?? decision.checks.find(withValues);
  if (!main || main.samples.length < 2) return '';
  const samples = main.samples.filter((s) => s.value !== undefined && Number.isFinite(s.value));
  if (samples.length < 2) return '';
  // A one-sided condition (`>= 0.99`) is drawn as a flat line, so the chart shows the margin.
  const bound = /^(?:<|<=|>|>=) (-?[\d.e+-]+)/.exec(main.threshold)?.[1];
  const series = [{ name: main.name, values: samples.map((s) => s.value ?? 0) }];
  if (bound !== undefined && Number.isFinite(Number(bound))) {
    series.push({
      name: `threshold ${main.threshold.split(',')[0] ?? ''}`,
      values: samples.map(() => Number(bound)),
    });
  }
  return mermaidChart({
    title: `${main.name} over the observation (${main.threshold})`,
    xLabels: samples.map((s) => offset(s.elapsedMs)),
    series,
    yLabel: main.name,
  });
}

function percent(value: number | undefined): string {
  return value === undefined ? 'unknown' : `${(value * 100).toFixed(2)}%`;
}

function ms(value: number | undefined): string {
  return value === undefined ? 'unknown' : `${(value * 1000).toFixed(1)} ms`;
}

export function monitoringSection(snapshot: MonitoringSnapshot): string {
  const alertOf = (metric: string): string => {
    const alert = snapshot.alerts.find((a) => a.metric === metric);
    return alert ? (alert.level === 'critical' ? '🔴 critical' : '🟠 warning') : '🟢 ok';
  };
  const rows: Cell[][] = [];
  if (snapshot.replicas)
    rows.push([
      'Health (ready / desired)',
      `${snapshot.replicas.ready} / ${snapshot.replicas.desired}`,
      alertOf('ready-ratio'),
    ]);
  if (snapshot.latency) {
    const l = snapshot.latency;
    rows.push(['Latency avg / p50', `${ms(l.avg)} / ${ms(l.p50)}`, '']);
    rows.push(['Latency p95', ms(l.p95), alertOf('latency-p95')]);
    rows.push(['Latency p99', ms(l.p99), alertOf('latency-p99')]);
    rows.push([
      'Error rate',
      percent(snapshot.errorRate),
      snapshot.errorRate === undefined ? '' : alertOf('error-rate'),
    ]);
    rows.push([
      'Throughput',
      snapshot.throughput === undefined ? 'unknown' : `${snapshot.throughput.toFixed(2)} req/s`,
      '',
    ]);
  }
  if (snapshot.cpu !== undefined || snapshot.memory !== undefined || snapshot.replicas) {
    rows.push([
      'CPU',
      snapshot.cpu === undefined ? 'unknown' : `${snapshot.cpu.toFixed(3)} cores`,
      alertOf('cpu'),
    ]);
    rows.push([
      'Memory',
      snapshot.memory === undefined ? 'unknown' : `${(snapshot.memory / 1024 / 1024).toFixed(1)} MiB`,
      alertOf('memory'),
    ]);
  }
  const alerts =
    snapshot.alerts.length === 0
      ? 'No alerts.\n'
      : `${snapshot.alerts.map((a) => `- **${a.level}**: ${a.text}`).join('\n')}\n`;
  const unknown =
    snapshot.unknown.length > 0
      ? details('Metrics that could not be read', snapshot.unknown.map((u) => `- ${u}`).join('\n'))
      : '';
  return [
    heading('Deploy monitoring', 3),
    `${snapshot.target || 'No target'} — window ${(snapshot.windowMs / 1000).toFixed(0)}s, read at ${snapshot.at}\n`,
    rows.length > 0 ? table(['Metric', 'Value', 'Status'], rows) : 'No metrics.\n',
    alerts,
    unknown,
  ]
    .filter(Boolean)
    .join('\n');
}

export function gateSummary(decision: GateDecision, monitoring?: MonitoringSnapshot): string {
  const durationMs = Date.parse(decision.endedAt) - Date.parse(decision.startedAt);
  const exit =
    decision.verdict === 'inconclusive'
      ? ` (exit ${decision.passed ? 'success' : 'failure'} by on-inconclusive)`
      : '';
  const overview = table(
    ['check', 'kind', 'verdict', 'threshold', 'samples ok / fail / no data', 'sample sizes', 'reason'],
    decision.checks.map((r) => [
      r.name + (r.critical ? ' (critical)' : ''),
      r.kind,
      VERDICT_WORD[r.verdict],
      r.threshold,
      `${r.counts.ok} / ${r.counts.fail} / ${r.counts.noData}`,
      sampleSizes(r),
      r.reason,
    ]),
  );
  const perCheck = decision.checks
    .map((r) => details(`${r.name}: ${r.verdict} — ${r.samples.length} samples`, checkTable(r)))
    .join('\n');
  return [
    heading(`Health gate: ${VERDICT_WORD[decision.verdict]}${exit}`, 2),
    `**Why it ended:** ${decision.reason}\n`,
    `Observed from ${decision.startedAt} to ${decision.endedAt} (${(durationMs / 1000).toFixed(1)}s).\n`,
    overview,
    perCheck,
    monitoring ? monitoringSection(monitoring) : '',
    chartOf(decision),
  ]
    .filter(Boolean)
    .join('\n');
}
