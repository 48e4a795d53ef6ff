import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { preflightGate, runGate } from './gate.js';
import { parseChecks } from './parse.js';
import type { GateOptions, PrometheusCheck } from './types.js';

/** A stand-in Prometheus: each query is answered by `answer`, which tests replace. */
type Answer = { status: number; body: unknown };
let answer: (query: string) => Answer;
let server: Server;
let url: string;
let queries: string[];

const vector = (value: number | string): Answer => ({
  status: 200,
  body: {
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: {}, value: [0, String(value)] }] },
  },
});
const empty: Answer = {
  status: 200,
  body: { status: 'success', data: { resultType: 'vector', result: [] } },
};

beforeAll(async () => {
  server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    queries.push(query);
    const { status, body } = answer(query);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  queries = [];
  answer = () => vector(1);
});

function options(yaml: string, extra: Partial<GateOptions> = {}): GateOptions {
  const { checks, problems } = parseChecks(parse(yaml), { namespace: 'shop', prometheusUrl: url });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return { checks, durationMs: 300, intervalMs: 100, namespace: 'shop', ...extra };
}

const errorRate = '- { kind: prometheus, name: errors, query: error_ratio, condition: "< 0.01" }';

describe('runGate', () => {
  it('passes only after the whole duration, with every sample recorded', async () => {
    answer = () => vector(0.001);
    const started = Date.now();
    const decision = await runGate(options(errorRate));
    expect(decision).toMatchObject({ verdict: 'pass', passed: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(decision.checks[0]!.samples.map((s) => [s.outcome, s.value, s.threshold])).toEqual(
      Array(4).fill(['ok', 0.001, '< 0.01']),
    );
  });

  it('fails as soon as a failure rule is met', async () => {
    answer = () => vector(0.2);
    const decision = await runGate(options(errorRate, { durationMs: 10_000 }));
    expect(decision.verdict).toBe('fail');
    expect(decision.passed).toBe(false);
    expect(decision.checks[0]!.samples).toHaveLength(2);
    expect(decision.reason).toMatch(/^check "errors" failed: 2 failed samples, more than failure-limit 1/);
    // Ended at its second look: the rest of the 10 s schedule was never observed (a count, where a
    // wall-clock bound would flake on a busy machine).
    expect(decision.reason).toMatch(/, 99 scheduled round\(s\) left$/);
  });

  it('fails a critical check at its first failure, and marks the others inconclusive', async () => {
    answer = (query) => (query === 'bad' ? vector(1) : vector(0));
    const decision = await runGate(
      options(
        `${errorRate}\n- { kind: prometheus, name: crit, query: bad, condition: "== 0", critical: true }`,
        {
          durationMs: 10_000,
        },
      ),
    );
    expect(decision.verdict).toBe('fail');
    expect(decision.checks.map((c) => c.verdict)).toEqual(['inconclusive', 'fail']);
    expect(decision.checks[1]!.samples).toHaveLength(1);
  });

  it('holds on no data and ends inconclusive; on-inconclusive only changes passed', async () => {
    answer = () => empty;
    const strict = await runGate(options(errorRate));
    expect(strict).toMatchObject({ verdict: 'inconclusive', passed: false });
    expect(strict.reason).toMatch(/not enough evidence .*the latest sample has no data/);
    const lenient = await runGate(options(errorRate, { onInconclusive: 'pass' }));
    expect(lenient).toMatchObject({ verdict: 'inconclusive', passed: true });
  });

  it('treats too few requests as no data (min-requests)', async () => {
    answer = (query) => (query.startsWith('sum(increase') ? vector(5) : vector(1));
    const decision = await runGate(
      options('- { kind: prometheus, template: success-rate, service: web, window: 10s, min-requests: 20 }'),
    );
    expect(decision.verdict).toBe('inconclusive');
    expect(decision.checks[0]!.samples[0]).toMatchObject({ outcome: 'no-data', sampleSize: 5 });
    expect(decision.checks[0]!.samples[0]!.detail).toBe('5 requests in the window, min-requests 20');
  });

  it('never passes while Prometheus answers 503, not even with on-no-data: pass', async () => {
    answer = () => ({ status: 503, body: { status: 'error', error: 'down' } });
    const decision = await runGate(options(errorRate, { onNoData: 'pass' }));
    expect(decision).toMatchObject({ verdict: 'inconclusive', passed: false });
    expect(decision.checks[0]!.samples.every((s) => s.outcome === 'no-data' && s.error === true)).toBe(true);
  });

  it('retries Prometheus within the interval', async () => {
    let calls = 0;
    answer = () => (++calls % 2 === 1 ? { status: 503, body: {} } : vector(0));
    const decision = await runGate(options(errorRate, { durationMs: 1000, intervalMs: 1000 }));
    expect(decision.verdict).toBe('pass');
    expect(calls).toBe(4);
  });

  it('does not pass when cancelled, whatever on-inconclusive says', async () => {
    answer = () => vector(0);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('cancelled by SIGINT')), 150);
    const decision = await runGate(
      options(errorRate, { durationMs: 5000, onInconclusive: 'pass', signal: controller.signal }),
    );
    expect(decision).toMatchObject({ verdict: 'inconclusive', passed: false });
    expect(decision.reason).toBe('cancelled: cancelled by SIGINT');
  });

  it('runs command checks with an argument list', async () => {
    const node = JSON.stringify(process.execPath);
    const ok = await runGate(
      options(`- { kind: command, name: smoke, command: [${node}, -e, "process.exit(0)"] }`, {
        durationMs: 100,
      }),
    );
    expect(ok.verdict).toBe('pass');
    const failed = await runGate(
      options(
        `- { kind: command, name: smoke, critical: true, command: [${node}, -e, "console.error('boom'); process.exit(3)"] }`,
        {
          durationMs: 1000,
        },
      ),
    );
    expect(failed.verdict).toBe('fail');
    expect(failed.checks[0]!.samples[0]!.detail).toMatch(/^exit 3 in \d+ ms: boom$/);
  });
});

describe('runGate with a sequential comparison', () => {
  /** Counts that grow with time, 1 request per ms on each side: errors at each side's rate. */
  function counting(canaryRate: number, baselineRate: number): (query: string) => Answer {
    const began = Date.now();
    return (query) => {
      const requests = Date.now() - began;
      const canary = query.includes('version="v2"');
      const errors = query.includes('5..');
      return vector(errors ? requests * (canary ? canaryRate : baselineRate) : requests);
    };
  }
  const compared =
    '- { kind: prometheus, name: errors, template: success-rate, service: web, version: v2, compare: v1, window: 5s }';

  it('passes as soon as the canary is surely not worse, before the duration is up', async () => {
    answer = counting(0.05, 0.05);
    const decision = await runGate(options(compared, { durationMs: 20_000, intervalMs: 100 }));
    expect(decision).toMatchObject({ verdict: 'pass', passed: true });
    expect(decision.reason).toMatch(/the sequential check\(s\) decided at [\d.]+s of the 20.0s allowed/);
    const [record] = decision.checks;
    expect(record!.test).toMatch(
      /^sequential: mixture SPRT .* false-alarm rate 5%, not worse below 2× the baseline or under 0.1%$/,
    );
    expect(record!.reason).toMatch(
      /^not worse after \d+ looks?: the canary's error rate is below 2× the baseline's/,
    );
    // Decided within the first half of the 200 looks that 20 s at 100 ms allow: looks run on the
    // schedule, so this is the old "under 10 s" as a count, which a busy machine cannot stretch.
    expect(record!.samples.length).toBeLessThan(100);
    // Every look is in the record with its evidence; the last one decided.
    expect(record!.samples.every((s) => s.evidence !== undefined && s.counts !== undefined)).toBe(true);
    expect(record!.samples.at(-1)!.evidence!.decision).toBe('not-worse');
    // Never on one look: a look whose counts miss a series would weigh a split that is not there.
    expect(record!.samples.length).toBeGreaterThanOrEqual(3);
    expect(record!.samples.at(-1)!.evidence!.notWorse).toBeGreaterThanOrEqual(40);
    // Both sides read the same $window: the check's window at first, then the time since the gate began.
    const windows = queries.filter((q) => q.includes('increase')).map((q) => /\[(\d+)s\]/.exec(q)?.[1]);
    expect(new Set(windows.slice(0, 4))).toEqual(new Set(['5']));
  });

  it('fails as soon as the canary is surely worse, naming the evidence', async () => {
    answer = counting(0.1, 0.02);
    const decision = await runGate(options(compared, { durationMs: 20_000, intervalMs: 100 }));
    expect(decision).toMatchObject({ verdict: 'fail', passed: false });
    expect(decision.reason).toMatch(
      /^check "errors" failed: worse after \d+ looks?: the canary's error rate is above the baseline's \(e-values [\d.e+]+ for worse/,
    );
    expect(decision.checks[0]!.samples.at(-1)!.evidence!.worse).toBeGreaterThanOrEqual(20);
  });

  it('waits for the other checks: a threshold check still needs its evidence', async () => {
    const sequential = counting(0.05, 0.05);
    answer = (query) => (query === 'up_ratio' ? vector(1) : sequential(query));
    const decision = await runGate(
      options(
        `${compared}\n- { kind: prometheus, name: up, query: up_ratio, condition: "> 0", min-samples: 40 }`,
        {
          durationMs: 20_000,
          intervalMs: 100,
        },
      ),
    );
    expect(decision.verdict).toBe('pass');
    expect(decision.checks[1]!.samples.length).toBeGreaterThanOrEqual(40);
  });

  it('ends inconclusive when the maximum duration is up undecided', async () => {
    answer = counting(0.05, 0.05);
    const decision = await runGate(options(compared, { durationMs: 300, intervalMs: 100 }));
    expect(decision.verdict).toBe('inconclusive');
    expect(decision.reason).toMatch(
      /not enough evidence after 0.3s: check "errors": not decided yet: e-values/,
    );
  });

  it('with undecidedAtEnd: pass, passes undecided at the end once min-requests canary requests were read', async () => {
    answer = counting(0.05, 0.05);
    const gate = options(compared, { durationMs: 300, intervalMs: 100 });
    const check = gate.checks[0] as PrometheusCheck;
    gate.checks[0] = { ...check, compare: { ...check.compare!, undecidedAtEnd: 'pass' } };
    const decision = await runGate(gate);
    expect(decision).toMatchObject({ verdict: 'pass', passed: true });
    expect(decision.checks[0]!.reason).toMatch(
      /^not shown worse over \d+ canary requests in the 0.3s allowed \(not decided yet: e-values/,
    );
  });

  it("preflights the baseline's queries too", async () => {
    answer = (query) =>
      query.includes('version="v1"')
        ? { status: 400, body: { status: 'error', errorType: 'bad_data', error: 'no' } }
        : vector(1);
    const problems = await preflightGate(options(compared));
    expect(problems.join('\n')).toMatch(/check "errors": Prometheus rejected the query ".*version=\\"v1\\"/);
  });
});

describe('preflightGate', () => {
  it('reports a query Prometheus rejects, naming the check', async () => {
    answer = (query) =>
      query === 'rate(x['
        ? { status: 400, body: { status: 'error', errorType: 'bad_data', error: 'unclosed left bracket' } }
        : vector(1);
    const problems = await preflightGate(
      options(`${errorRate}\n- { kind: prometheus, name: broken, query: "rate(x[", condition: "> 0" }`),
    );
    expect(problems).toEqual([
      'check "broken": Prometheus rejected the query "rate(x[": bad_data: unclosed left bracket',
    ]);
  });

  it('says before the gate why an error ratio reads as no data, and how to fix it', async () => {
    answer = () => empty;
    const logs: string[] = [];
    const query = 'sum(rate(http_requests_total{code=~"5.."}[1m])) / sum(rate(http_requests_total[1m]))';
    const problems = await preflightGate(
      options(`- { kind: prometheus, name: errors, query: '${query}', condition: "< 0.01" }`, {
        log: (t) => logs.push(t),
      }),
    );
    expect(problems).toEqual([]);
    expect(logs.join('\n')).toMatch(/^check "errors": .*or vector\(0\)/m);
  });

  it('logs, but does not refuse, a Prometheus it cannot reach', async () => {
    const logs: string[] = [];
    const { checks } = parseChecks(parse(errorRate), {
      namespace: 'shop',
      prometheusUrl: 'http://127.0.0.1:1',
    });
    const problems = await preflightGate({
      checks,
      durationMs: 1000,
      intervalMs: 1000,
      namespace: 'shop',
      log: (t) => logs.push(t),
    });
    expect(problems).toEqual([]);
    expect(logs.join('\n')).toMatch(/Prometheus could not be read before the gate/);
  });

  it('needs a Kubernetes client for pods checks', async () => {
    const problems = await preflightGate(options('- { kind: pods, deployment: web }'));
    expect(problems).toEqual([
      'check "pods-web": a pods check needs access to the Kubernetes API, and no client was given',
    ]);
  });
});
