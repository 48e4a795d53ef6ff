/**
 * The gate: samples every check on a schedule, judges each after every round and decides as soon
 * as the evidence allows — a failure rule met (or a fatal finding such as a crash loop) ends it
 * at once with fail; a pass is only given after the whole duration, when every check has enough
 * evidence; anything else is inconclusive. Never a false pass: no data holds, an unreadable source
 * is never evidence of health, and a cancelled gate does not pass.
 */
import { seconds } from '../inputs/duration.js';
import { KubeObjects, resourcePath, type ResourceRef } from '../kube/objects.js';
import { describeCondition } from './condition.js';
import { sampleCommand } from './checks/command.js';
import { sampleHttp } from './checks/http.js';
import { createPodsSampler, type PodsSampler } from './checks/pods.js';
import { prometheusClientFor, samplePrometheus } from './checks/prometheus.js';
import { judgeCheck, type CheckState } from './judge.js';
import { QueryRejectedError, type PrometheusClient } from './prometheus-client.js';
import { sleep } from '../net/retry.js';
import { defaultMinSamples, schedule } from './schedule.js';
import type { CheckRecord, CheckSpec, GateDecision, GateOptions, Sample, Verdict } from './types.js';

const SERVICES: ResourceRef = { group: '', version: 'v1', plural: 'services', kind: 'Service' };

export function thresholdText(check: CheckSpec): string {
  switch (check.kind) {
    case 'prometheus':
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
          );
          for (const query of [check.query, check.requestsQuery]) {
            if (query === undefined) continue;
            try {
              // A Prometheus that is down is not the user's error: wait for it no longer than a sample would.
              await client.query(query, {
                deadlineMs: Math.min(10_000, Math.max(1000, options.intervalMs)),
                ...(options.signal ? { signal: options.signal } : {}),
              });
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
      const client = prometheusClientFor(resolved, clients);
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

function newRecord(check: CheckSpec): CheckRecord {
  return {
    name: check.name,
    kind: check.kind,
    threshold: thresholdText(check),
    ...(check.kind === 'prometheus' ? { query: check.query } : {}),
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

export async function runGate(options: GateOptions): Promise<GateDecision> {
  const log = options.log ?? (() => undefined);
  const onNoData = options.onNoData ?? 'hold';
  const plan = schedule(options.durationMs, options.intervalMs);
  const minSamples = defaultMinSamples(options.durationMs, options.intervalMs);
  const clients = new Map<string, PrometheusClient>();
  const samplers = options.checks.map((check) => createSampler(check, options, clients));
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
    log(
      `Observing ${options.checks.length} check(s) for ${seconds(options.durationMs)}s, every ${seconds(options.intervalMs)}s (${plan.offsets.length} samples each)`,
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
        const state = judgeCheck(check.rules, record.samples, check.onNoData ?? onNoData, minSamples);
        states[i] = state;
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
    const state = states[i]!;
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
