import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { preflightGate, runGate } from './gate.js';
import { parseChecks } from './parse.js';
import type { GateOptions } from './types.js';

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
    expect(Date.parse(decision.endedAt) - Date.parse(decision.startedAt)).toBeLessThan(2000);
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
