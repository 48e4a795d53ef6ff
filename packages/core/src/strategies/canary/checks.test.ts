import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runGate, testText } from '../../gate/gate.js';
import { parseChecks } from '../../gate/parse.js';
import type { PrometheusCheck } from '../../gate/types.js';
import { comparisons, stepChecks } from './checks.js';
import type { CanaryContext } from './model.js';

/** A stand-in Prometheus answering every instant query with `answer`'s number. */
let answer: (query: string) => number = () => 0;
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const query = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
    const result = [{ metric: {}, value: [0, String(answer(query))] }];
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function context(options: { maxErrorRatio?: number; maxErrorIncrease?: number } = {}): CanaryContext {
  return {
    o: {
      namespace: 'shop',
      app: 'web',
      service: 'web',
      versionLabel: 'version',
      prometheus: {
        url,
        metric: 'http_requests_total',
        durationMetric: 'http_request_duration_seconds',
        statusLabel: 'code',
        windowMs: 30_000,
      },
      maxErrorIncrease: options.maxErrorIncrease ?? 0.01,
      ...(options.maxErrorRatio !== undefined ? { maxErrorRatio: options.maxErrorRatio } : {}),
      maxLatencyIncrease: 0.2,
      minRequests: 20,
      checkDefaults: {},
    },
    separate: true,
    names: { deployment: 'web-canary', service: 'web-canary' },
  } as unknown as CanaryContext;
}

/** Counters that grow with time at `rps` per side (the canary's share of it), errors at each side's rate. */
function counting(
  share: number,
  canaryRate: number,
  stableRate: number,
  rps = 1000,
): (query: string) => number {
  const began = Date.now();
  return (query) => {
    const requests = ((Date.now() - began) / 1000) * rps;
    const canary = query.includes('version="canary"');
    const side = requests * (canary ? share : 1 - share);
    return query.includes('5..') ? side * (canary ? canaryRate : stableRate) : side;
  };
}

const errorCheck = (checks: PrometheusCheck[]): PrometheusCheck =>
  checks.find((c) => c.name === 'error-rate-vs-stable')!;

describe('the built-in error-rate comparison of a step', () => {
  it("is health-gate's sequential compare check, with max-error-ratio as its max-increase", () => {
    const check = errorCheck(comparisons(context({ maxErrorRatio: 0.5 }), 25));
    expect(check.compare).toMatchObject({
      measure: 'error-rate',
      baselineName: 'stable',
      sequential: { maxIncrease: 0.5, alpha: 0.05, floor: 0.001 },
      undecidedAtEnd: 'pass',
    });
    expect(testText(check)).toBe(
      "sequential: mixture SPRT on how errors split between the versions, and a confidence sequence of the canary's error rate; false-alarm rate 5%, not worse below 1.5× the baseline or under 0.1%",
    );
    // The same spec the YAML form gives health-gate, but for the baseline's name and what a step adds.
    const { canary, baseline } = check.compare!;
    const yaml = parseChecks(
      parse(`- kind: prometheus
  name: error-rate-vs-stable
  critical: true
  prometheus-url: ${url}
  query: '${canary.value}'
  requests-query: '${canary.requests}'
  compare: { query: '${baseline.value}', requests-query: '${baseline.requests}' }
  max-increase: 50%
  min-requests: 20
`),
      { namespace: 'shop', windowMs: 30_000 },
    );
    expect(yaml.problems).toEqual([]);
    const { baselineName: _a, undecidedAtEnd: _b, ...ours } = check.compare!;
    const { baselineName: _c, ...theirs } = (yaml.checks[0] as PrometheusCheck).compare!;
    expect(ours).toEqual(theirs);
    expect({ ...check, compare: undefined }).toEqual({ ...yaml.checks[0], compare: undefined });
  });

  it('reads back analysis-window at its first looks, never to before the canary began', () => {
    const now = Date.now();
    const fresh = errorCheck(comparisons(context({ maxErrorRatio: 1 }), 5, now - 4000, now));
    expect(fresh.compare!.window).toEqual({ maxMs: 24 * 3_600_000, minMs: 4000 });
    const later = errorCheck(comparisons(context({ maxErrorRatio: 1 }), 25, now - 600_000, now));
    expect(later.compare!.window).toEqual({ maxMs: 24 * 3_600_000, minMs: 30_000 });
    // The gate sets `since` to its own start: each step is a test of its own.
    expect(later.compare!.window.since).toBeUndefined();
  });

  it('at 100% (no stable traffic) stays the fixed test, held to max-error-increase over zero, with no latency', () => {
    const since = Date.now() - 60_000;
    const checks = comparisons(context({ maxErrorRatio: 1 }), 100, since);
    expect(checks.map((c) => c.name)).toEqual(['error-rate-vs-stable']);
    expect(checks[0]!.compare).toMatchObject({ window: { maxMs: 30_000, since } });
    expect(checks[0]!.compare!.sequential).toBeUndefined();
    expect(checks[0]!.condition).toEqual({ op: '<=', value: 0.01 });
    expect(testText(checks[0]!)).toBe('fixed window');
  });

  it('refuses a max-error-ratio the test does not take, naming the input', () => {
    expect(() => comparisons(context({ maxErrorRatio: 0.01 }), 5)).toThrow(
      /^Input "max-error-ratio": .*max-increase/,
    );
  });

  it('without max-error-ratio (the default) every step is the fixed comparison in points', () => {
    const since = Date.now() - 60_000;
    const check = errorCheck(comparisons(context({ maxErrorIncrease: 0.02 }), 25, since));
    expect(check.compare!.sequential).toBeUndefined();
    expect(check.compare!.undecidedAtEnd).toBeUndefined();
    expect(check.condition).toEqual({ op: '<=', value: 0.02 });
    expect(check.compare).toMatchObject({ window: { maxMs: 30_000, since } });
    expect(testText(check)).toBe('fixed window');
  });

  it('a user check of the same name replaces it', () => {
    const c = context();
    c.o.checks = [
      {
        kind: 'prometheus',
        name: 'error-rate-vs-stable',
        query: 'q',
        condition: '< 1',
        'prometheus-url': url,
      },
    ];
    const checks = stepChecks(c, { weight: 5 });
    expect(checks.filter((check) => check.name === 'error-rate-vs-stable')).toHaveLength(1);
    expect(testText(checks.find((check) => check.name === 'error-rate-vs-stable')!)).toBe('fixed window');
  });
});

describe('a step gate with the built-in comparisons', () => {
  const gate = (checks: PrometheusCheck[], durationMs: number) =>
    runGate({ checks, durationMs, intervalMs: 100, namespace: 'shop' });

  it('fails a canary answering 20% errors at once, the decision record naming the sequential test', async () => {
    answer = counting(0.05, 0.2, 0);
    const decision = await gate([errorCheck(comparisons(context({ maxErrorRatio: 1 }), 5))], 20_000);
    expect(decision.verdict).toBe('fail');
    expect(decision.reason).toMatch(/^check "error-rate-vs-stable" failed: worse after \d+ looks?/);
    expect(decision.checks[0]!.test).toMatch(/^sequential: mixture SPRT/);
    expect(decision.checks[0]!.samples.length).toBeLessThan(20);
  });

  it('passes a healthy canary the test left undecided when the step is up, with enough requests', async () => {
    // No errors on either side: only the floor could decide, after some 4,500 canary requests.
    answer = counting(0.05, 0, 0);
    const decision = await gate([errorCheck(comparisons(context({ maxErrorRatio: 1 }), 5))], 1000);
    expect(decision).toMatchObject({ verdict: 'pass', passed: true });
    expect(decision.checks[0]!.reason).toMatch(
      /^not shown worse over \d+ canary requests in the 1\.0s allowed \(not decided yet: e-values/,
    );
    expect(decision.checks[0]!.test).toMatch(/^sequential: /);
  });

  it('leaves it inconclusive with fewer than min-requests canary requests', async () => {
    answer = counting(0.05, 0, 0, 100);
    const decision = await gate([errorCheck(comparisons(context({ maxErrorRatio: 1 }), 5))], 1000);
    expect(decision).toMatchObject({ verdict: 'inconclusive', passed: false });
    expect(decision.checks[0]!.reason).toMatch(/; \d canary requests, min-requests 20$/);
  });
});
