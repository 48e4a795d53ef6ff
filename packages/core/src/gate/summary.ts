/**
 * The decision record as a job summary: why the gate ended, one table per check with every
 * sample (value, threshold, outcome), sample sizes, the deploy monitoring section (every metric
 * with its status and thresholds, the alerts, what could not be read) and a chart of the main
 * metric over the observation.
 */
import { details, heading, mermaidChart, table, type Cell } from '../runner/report.js';
import type { MonitoringSnapshot } from './monitoring.js';
import { formatMetric, METRIC_INFO, type AlertThreshold, type MonitoredMetric } from './monitoring-spec.js';
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
    sample.evidence
      ? `${sample.detail}; e-values ${sample.evidence.worse.toPrecision(3)} worse, ${sample.evidence.notWorse.toPrecision(3)} not worse → ${sample.evidence.decision}`
      : sample.detail,
  ]);
  const query = record.query ? `Query: \`${record.query.replace(/`/g, "'")}\`\n\n` : '';
  const test = record.test && record.test !== 'fixed window' ? `Test: ${record.test}\n\n` : '';
  return `${test}${query}${table(['#', 'at', 'value', 'requests', 'threshold', 'outcome', 'detail'], rows)}`;
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

const LEVEL_WORD = { critical: '🔴 critical', warning: '🟠 warning' } as const;

/** `warning > 500.0 ms, critical > 1000.0 ms`, or `none set`. */
function thresholdText(metric: MonitoredMetric, threshold: AlertThreshold): string {
  const sign = threshold.direction === 'above' ? '>' : '<';
  const { unit } = METRIC_INFO[metric];
  const levels = (['warning', 'critical'] as const)
    .filter((level) => threshold[level] !== undefined)
    .map((level) => `${level} ${sign} ${formatMetric(unit, threshold[level]!)}`);
  return levels.length > 0 ? levels.join(', ') : 'none set';
}

function count(value: number | undefined): string {
  return value === undefined ? 'unknown' : String(value);
}

/** The report's rows: replicas and resources for a Deployment, request metrics for a Service. */
function monitoringRows(snapshot: MonitoringSnapshot): Cell[][] {
  const row = (metric: MonitoredMetric, shown?: string): Cell[] => {
    const value = snapshot.values[metric];
    const threshold = snapshot.thresholds[metric];
    const alert = snapshot.alerts.find((a) => a.metric === metric);
    const graded = threshold.warning !== undefined || threshold.critical !== undefined;
    const status =
      value === undefined ? '—' : alert ? LEVEL_WORD[alert.level] : graded ? '🟢 ok' : '— (not graded)';
    return [
      METRIC_INFO[metric].label,
      value === undefined ? 'unknown' : (shown ?? formatMetric(METRIC_INFO[metric].unit, value)),
      status,
      thresholdText(metric, threshold),
    ];
  };
  const rows: Cell[][] = [];
  const { requests, deployment } = snapshot.watches;
  const r = snapshot.replicas;
  if (deployment) {
    const health = snapshot.values['ready-ratio'];
    rows.push(
      row(
        'ready-ratio',
        health === undefined ? undefined : `${formatMetric('ratio', health)} (${r?.ready} / ${r?.desired})`,
      ),
      [
        'Replicas desired / available / ready',
        `${count(r?.desired)} / ${count(r?.available)} / ${count(r?.ready)}`,
        '',
        '',
      ],
    );
  }
  if (requests)
    for (const metric of [
      'latency-avg',
      'latency-p50',
      'latency-p95',
      'latency-p99',
      'error-rate',
      'errors-per-second',
      'throughput',
    ] as const)
      rows.push(row(metric));
  if (deployment) for (const metric of ['cpu', 'memory', 'disk'] as const) rows.push(row(metric));
  return rows;
}

export function monitoringSection(snapshot: MonitoringSnapshot): string {
  const rows = monitoringRows(snapshot);
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
    rows.length > 0 ? table(['Metric', 'Value', 'Status', 'Thresholds'], rows) : 'No metrics.\n',
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
