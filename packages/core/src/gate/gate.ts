/**
 * The gate: samples every check on a schedule, judges each after every round and decides as soon
 * as the evidence allows — a failure rule met (or a fatal finding such as a crash loop) ends it
 * at once with fail; a pass is only given after the whole duration, when every check has enough
 * evidence, or sooner once every sequential comparison decided "not worse" (the duration is then
 * their maximum); anything else is inconclusive. Never a false pass: no data holds, an unreadable source
 * is never evidence of health, and a cancelled gate does not pass.
 */
import { seconds } from '../inputs/duration.js';
import { KubeObjects, resourcePath, type ResourceRef } from '../kube/objects.js';
import { describeCondition } from './condition.js';
import { sampleCommand } from './checks/command.js';
import { sampleHttp } from './checks/http.js';
import { createPodsSampler, type PodsSampler } from './checks/pods.js';
import { windowNow } from './checks/compare.js';
import { prometheusClientFor, samplePrometheus } from './checks/prometheus.js';
import { judgeCheck, type CheckState } from './judge.js';
import { noDataHint } from './no-data-hint.js';
import { QueryRejectedError, type PrometheusClient } from './prometheus-client.js';
import { sleep } from '../net/retry.js';
import { defaultMinSamples, schedule } from './schedule.js';
import type { SequentialOptions } from './stats/sequential.js';
import type { CheckRecord, CheckSpec, GateDecision, GateOptions, Sample, Verdict } from './types.js';

const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', kind: 'Service' };

export function thresholdText(check: CheckSpec): string {
  switch (check.kind) {
    case 'prometheus':
      if (check.compare?.sequential)
        return `error rate not worse than ${1 + check.compare.sequential.maxIncrease}× ${check.compare.baselineName}'s`;
      if (check.compare)
        return `${check.compare.measure} increase over ${check.compare.baselineName} ${describeCondition(check.condition)}${check.minRequests > 0 ? `, min-requests ${check.minRequests}` : ''}`;
      return `${describeCondition(check.condition)}${check.minRequests > 0 ? `, min-requests ${check.minRequests}` : ''}`;
    case 'http':
      return `status ${check.expectStatus.text}${check.maxLatencyMs !== undefined ? `, latency <= ${check.maxLatencyMs} ms` : ''}${check.bodyContains !== undefined ? ', body contains text' : ''}${check.jsonPath ? `, ${check.jsonPath.path} == ${JSON.stringify(check.jsonPath.equals)}` : ''}`;
    case 'pods':
      return `all ready, restarts <= ${check.maxRestarts}, no crash loop`;
    case 'command':
      return 'exit 0';
  }
}

function needsKube(check: CheckSpec): boolean {
  return check.kind === 'pods' || (check.kind === 'http' && check.via === 'service-proxy');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Problems found before observing: a query Prometheus rejects, a Deployment or Service that does
 * not exist, a check that needs the Kubernetes API without a client. Prometheus being
 * unreachable is not a problem here: the gate will hold while it is, and never pass for it.
 */
export async function preflightGate(options: GateOptions): Promise<string[]> {
  const problems: string[] = [];
  const log = options.log ?? (() => undefined);
  const clients = new Map<string, PrometheusClient>();
  const objects = options.kube ? new KubeObjects(options.kube) : undefined;
  const call = { deadlineMs: 15_000, ...(options.signal ? { signal: options.signal } : {}) };
  await Promise.all(
    options.checks.map(async (check) => {
      const where = `check "${check.name}"`;
      if (needsKube(check) && !objects) {
        problems.push(
          `${where}: a ${check.kind} check needs access to the Kubernetes API, and no client was given`,
        );
        return;
      }
      try {
        if (check.kind === 'prometheus') {
          const client = prometheusClientFor(
            { ...check, prometheusUrl: check.prometheusUrl ?? options.prometheusUrl },
            clients,
            options,
          );
          const baseline = check.compare
            ? [check.compare.baseline.value, check.compare.baseline.requests].map((q) =>
                q.replaceAll('$window', windowNow({ maxMs: Math.min(check.compare!.window.maxMs, 60_000) })),
              )
            : [];
          for (const query of [check.query, check.requestsQuery, ...baseline]) {
            if (query === undefined) continue;
            try {
              // A Prometheus that is down is not the user's error: wait for it no longer than a sample would.
              const series = await client.query(query, {
                deadlineMs: Math.min(10_000, Math.max(1000, options.intervalMs)),
                ...(options.signal ? { signal: options.signal } : {}),
              });
              const hint = series.length === 0 ? noDataHint(query) : undefined;
              if (hint) log(`${where}: ${hint.text}`);
            } catch (error) {
              if (error instanceof QueryRejectedError) problems.push(`${where}: ${error.message}`);
              else
                log(
                  `${where}: Prometheus could not be read before the gate (${errorText(error)}); the check holds while it cannot`,
                );
            }
          }
        } else if (check.kind === 'pods' && check.deployment && objects) {
          const ns = check.namespace ?? options.namespace;
          const found = await objects.get(
            { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment' },
            ns,
            check.deployment,
            call,
          );
          if (!found) problems.push(`${where}: Deployment ${ns}/${check.deployment} not found`);
        } else if (check.kind === 'http' && check.via === 'service-proxy' && check.service && objects) {
          const ns = check.service.namespace ?? options.namespace;
          const found = await objects.get(SERVICES, ns, check.service.name, call);
          if (!found)
            problems.push(
              `${where}: Service ${ns}/${check.service.name} not found (${resourcePath(SERVICES, ns, check.service.name)})`,
            );
        }
      } catch (error) {
        if (options.signal?.aborted) throw error;
        problems.push(`${where}: ${errorText(error)}`);
      }
    }),
  );
  return problems;
}

interface Sampler {
  check: CheckSpec;
  sample(signal: AbortSignal | undefined, deadlineMs: number): Promise<Sample>;
}

function createSampler(
  check: CheckSpec,
  options: GateOptions,
  clients: Map<string, PrometheusClient>,
): Sampler {
  switch (check.kind) {
    case 'prometheus': {
      const resolved = { ...check, prometheusUrl: check.prometheusUrl ?? options.prometheusUrl };
      const client = prometheusClientFor(resolved, clients, options);
      return {
        check,
        sample: (signal, deadlineMs) =>
          samplePrometheus(resolved, client, { deadlineMs, ...(signal ? { signal } : {}) }),
      };
    }
    case 'http':
      return {
        check,
        sample: (signal) =>
          sampleHttp(check, {
            namespace: options.namespace,
            ...(options.kube ? { kube: options.kube } : {}),
            ...(signal ? { signal } : {}),
          }),
      };
    case 'pods': {
      let pods: PodsSampler | undefined;
      return {
        check,
        sample: (signal) => {
          if (!options.kube)
            return Promise.resolve({ outcome: 'no-data', error: true, detail: 'no Kubernetes client' });
          pods ??= createPodsSampler(check, options.kube, options.namespace);
          return pods.sample(signal);
        },
      };
    }
    case 'command':
      return { check, sample: (signal) => sampleCommand(check, signal) };
  }
}

function sequentialOf(check: CheckSpec): SequentialOptions | undefined {
  return check.kind === 'prometheus' ? check.compare?.sequential : undefined;
}

/** How a check is judged, in words for the decision record. */
export function testText(check: CheckSpec): string {
  const sequential = sequentialOf(check);
  if (!sequential) return 'fixed window';
  const pct = (x: number): string => `${Number((x * 100).toPrecision(3))}%`;
  return `sequential: mixture SPRT on how errors split between the versions, and a confidence sequence of the canary's error rate; false-alarm rate ${pct(sequential.alpha)}, not worse below ${1 + sequential.maxIncrease}× the baseline or under ${pct(sequential.floor)}`;
}

function newRecord(check: CheckSpec): CheckRecord {
  return {
    name: check.name,
    kind: check.kind,
    threshold: thresholdText(check),
    ...(check.kind === 'prometheus' ? { query: check.query } : {}),
    test: testText(check),
    verdict: 'inconclusive',
    reason: 'not sampled',
    critical: check.rules.critical,
    samples: [],
    counts: { ok: 0, fail: 0, noData: 0 },
  };
}

const VERDICT_OF: Record<CheckState['state'], Verdict> = {
  failed: 'fail',
  holding: 'inconclusive',
  passing: 'pass',
};

/**
 * A sequential comparison counts from the moment the gate begins observing: its `$window` grows
 * from there, reaching back before it only the check's `window` the first looks need for every
 * series to have its scrapes, so the test weighs this gate's requests, not the versions' history.
 */
function countedFrom(check: CheckSpec, start: number): CheckSpec {
  if (check.kind !== 'prometheus' || !check.compare?.sequential || check.compare.window.since !== undefined)
    return check;
  return { ...check, compare: { ...check.compare, window: { ...check.compare.window, since: start } } };
}

/**
 * A sequential test still undecided when the duration is up: inconclusive, unless the check says
 * `undecidedAtEnd: pass` and its latest look read at least `minRequests` canary requests (an
 * unreadable source is never evidence of health).
 */
function undecidedAtEnd(
  check: CheckSpec,
  state: CheckState,
  record: CheckRecord,
  durationMs: number,
): CheckState {
  if (state.state !== 'holding' || check.kind !== 'prometheus' || check.compare?.undecidedAtEnd !== 'pass')
    return state;
  const counts = record.samples.at(-1)?.counts;
  if (!counts) return state;
  const requests = Math.round(counts.canary.requests);
  if (requests < check.minRequests)
    return {
      ...state,
      reason: `${state.reason}; ${requests} canary requests, min-requests ${check.minRequests}`,
    };
  return {
    state: 'passing',
    reason: `not shown worse over ${requests} canary requests in the ${seconds(durationMs)}s allowed (${state.reason})`,
    ...(state.evidence ? { evidence: state.evidence } : {}),
  };
}

/**
 * With sequential checks the duration is a maximum: the gate passes as soon as every sequential
 * check decided "not worse" and every other check passes with the evidence it needs.
 */
function decidedEarly(checks: readonly CheckSpec[], states: readonly CheckState[]): boolean {
  const sequential = checks.filter((check) => sequentialOf(check) !== undefined);
  return (
    sequential.length > 0 &&
    states.every(
      (state, i) =>
        state.state === 'passing' && (sequentialOf(checks[i]!) === undefined || state.final === true),
    )
  );
}

export async function runGate(options: GateOptions): Promise<GateDecision> {
  const log = options.log ?? (() => undefined);
  const onNoData = options.onNoData ?? 'hold';
  const plan = schedule(options.durationMs, options.intervalMs);
  const minSamples = defaultMinSamples(options.durationMs, options.intervalMs);
  const clients = new Map<string, PrometheusClient>();
  // Made when observing begins: a sequential comparison counts from that moment.
  let samplers: Sampler[];
  const records = options.checks.map(newRecord);
  const states: CheckState[] = options.checks.map(() => ({ state: 'holding', reason: 'not sampled yet' }));
  const startedAt = new Date();
  const finish = (verdict: Verdict, reason: string, cancelled = false): GateDecision => {
    const passed =
      !cancelled && (verdict === 'pass' || (verdict === 'inconclusive' && options.onInconclusive === 'pass'));
    return {
      verdict,
      passed,
      reason,
      startedAt: startedAt.toISOString(),
      endedAt: new Date().toISOString(),
      checks: records,
    };
  };
  if (options.checks.length === 0) return finish('inconclusive', 'the gate has no checks');

  // Each round's samples must be back before the next round: retries happen within the interval.
  const sampleDeadlineMs = Math.max(500, options.intervalMs - Math.min(500, options.intervalMs / 5));
  try {
    if ((options.initialDelayMs ?? 0) > 0) {
      log(`Waiting ${seconds(options.initialDelayMs ?? 0)}s (initial-delay) before observing`);
      await sleep(options.initialDelayMs ?? 0, options.signal);
    }
    const start = Date.now();
    samplers = options.checks.map((check) => createSampler(countedFrom(check, start), options, clients));
    const upTo = options.checks.some((check) => sequentialOf(check)) ? 'up to ' : '';
    log(
      `Observing ${options.checks.length} check(s) for ${upTo}${seconds(options.durationMs)}s, every ${seconds(options.intervalMs)}s (${upTo}${plan.offsets.length} samples each)`,
    );
    for (const [round, offset] of plan.offsets.entries()) {
      await sleep(start + offset - Date.now(), options.signal);
      const at = new Date();
      const samples = await Promise.all(
        samplers.map(async (sampler): Promise<Sample> => {
          try {
            return await sampler.sample(options.signal, sampleDeadlineMs);
          } catch (error) {
            if (options.signal?.aborted) throw error;
            return { outcome: 'no-data', error: true, detail: `could not sample: ${errorText(error)}` };
          }
        }),
      );
      const failedNow: number[] = [];
      samples.forEach((sample, i) => {
        const record = records[i]!;
        const check = options.checks[i]!;
        record.samples.push({
          ...sample,
          at: at.toISOString(),
          elapsedMs: at.getTime() - start,
          threshold: record.threshold,
        });
        if (sample.outcome === 'ok') record.counts.ok += 1;
        else if (sample.outcome === 'fail') record.counts.fail += 1;
        else record.counts.noData += 1;
        const state = judgeCheck(
          check.rules,
          record.samples,
          check.onNoData ?? onNoData,
          minSamples,
          sequentialOf(check),
        );
        states[i] = state;
        if (state.evidence) record.samples.at(-1)!.evidence = state.evidence;
        log(
          `[${seconds(at.getTime() - start)}s] ${check.name}: ${sample.outcome} — ${sample.detail} → ${state.state}`,
        );
        if (state.state === 'failed') failedNow.push(i);
      });
      if (failedNow.length > 0) {
        const remaining = plan.offsets.length - round - 1;
        for (const [i, record] of records.entries()) {
          const state = states[i]!;
          record.verdict = state.state === 'failed' ? 'fail' : 'inconclusive';
          record.reason = state.state === 'failed' ? state.reason : `the gate ended early (${state.reason})`;
        }
        const reasons = failedNow.map((i) => `check "${records[i]!.name}" failed: ${states[i]!.reason}`);
        return finish(
          'fail',
          `${reasons.join('; ')} — decided at ${seconds(Date.now() - start)}s, ${remaining} scheduled round(s) left`,
        );
      }
      if (decidedEarly(options.checks, states)) {
        for (const [i, record] of records.entries()) {
          record.verdict = 'pass';
          record.reason = states[i]!.reason;
        }
        return finish(
          'pass',
          `all ${records.length} check(s) passed: the sequential check(s) decided at ${seconds(Date.now() - start)}s of the ${seconds(options.durationMs)}s allowed`,
        );
      }
    }
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    for (const record of records) {
      record.verdict = 'inconclusive';
      record.reason = 'the gate was cancelled';
    }
    return finish('inconclusive', `cancelled: ${errorText(options.signal.reason)}`, true);
  }
  for (const [i, record] of records.entries()) {
    const state = undecidedAtEnd(options.checks[i]!, states[i]!, record, options.durationMs);
    record.verdict = VERDICT_OF[state.state];
    record.reason = state.reason;
  }
  const holding = records.filter((r) => r.verdict === 'inconclusive');
  if (holding.length > 0) {
    return finish(
      'inconclusive',
      `not enough evidence after ${seconds(options.durationMs)}s: ${holding.map((r) => `check "${r.name}": ${r.reason}`).join('; ')}`,
    );
  }
  return finish(
    'pass',
    `all ${records.length} check(s) passed over ${seconds(options.durationMs)}s (${plan.offsets.length} rounds)`,
  );
}
