import { describe, expect, it } from 'vitest';
import type { CanaryOutcome } from '../strategies/canary/canary.js';
import { canaryReport } from '../strategies/canary/summary.js';
import { canaryLine, failedChecks, summarizeReport, type CanaryFacts } from './gate-report.js';

/** A canary-step outcome as the strategy returns it, with one gate per weight reached. */
function outcome(o: Partial<CanaryOutcome> & Pick<CanaryOutcome, 'phase' | 'steps'>): CanaryOutcome {
  return {
    ok: o.phase !== 'aborted',
    action: 'run',
    weight: 0,
    stableVersion: 'ghcr.io/acme/web:1.0.0',
    canaryVersion: 'ghcr.io/acme/web:2.0.0',
    verdict: o.steps.at(-1)?.verdict ?? 'none',
    message: 'done',
    route: 'Service shop/web',
    approximated: true,
    firstDeploy: false,
    gates: o.steps.map((step) => ({
      name: `${step.weight}%`,
      decision: {
        verdict: step.verdict ?? 'inconclusive',
        passed: step.verdict === 'pass',
        reason: `checks at ${step.weight}%`,
        startedAt: step.at,
        endedAt: step.at,
        checks: [
          {
            name: 'canary-pods',
            kind: 'pods',
            threshold: 'ready, no crash loop',
            verdict: 'pass',
            reason: '3/3 ready',
            critical: true,
            samples: [],
            counts: { ok: 2, fail: 0, noData: 0 },
          },
          {
            name: 'error-rate-vs-stable',
            kind: 'prometheus',
            threshold: '<= 0.01',
            verdict: step.verdict ?? 'inconclusive',
            reason: `at ${step.weight}%: canary errors ${step.verdict === 'fail' ? '48%' : '0%'} vs stable 0%`,
            critical: true,
            samples: [],
            counts: { ok: 1, fail: step.verdict === 'fail' ? 1 : 0, noData: 0 },
          },
        ],
      },
    })),
    timeline: [],
    ...o,
  };
}

const at = '2025-01-01T00:00:00.000Z';

describe('summarizeReport', () => {
  it('reads the generic shape: verdict, failing checks with their evidence', () => {
    const result = summarizeReport({
      verdict: 'hold',
      checks: [
        { name: 'errors', verdict: 'pass' },
        { name: 'latency', verdict: 'hold', samples: 12, reason: 'not enough evidence yet' },
      ],
    });
    expect(result).toEqual({
      ok: true,
      summary: {
        verdict: 'hold',
        passed: false,
        total: 2,
        failing: [{ name: 'latency', verdict: 'hold', detail: 'samples 12, not enough evidence yet' }],
      },
    });
  });

  it('reads the monitoring alerts of a health-gate report, skipping entries it cannot read', () => {
    const result = summarizeReport({
      verdict: 'fail',
      checks: [],
      monitoring: {
        alerts: [
          { metric: 'cpu', level: 'warning', value: 0.7, threshold: 0.5, direction: 'above' },
          'noise',
          { metric: 'memory' },
          {
            metric: 'error-rate',
            level: 'critical',
            value: 0.2,
            threshold: 0.05,
            direction: 'above',
            shownValue: '20.00%',
            shownThreshold: '5.00%',
          },
        ],
      },
    });
    expect(result.ok && result.summary.alerts).toEqual([
      { level: 'critical', metric: 'error-rate', value: '20.00%', threshold: '5.00%', direction: 'above' },
      { level: 'warning', metric: 'cpu', value: '0.7', threshold: '0.5', direction: 'above' },
    ]);
    const without = summarizeReport({ verdict: 'pass', checks: [] });
    expect(without.ok && without.summary.alerts).toBe(undefined);
  });

  it('accepts a verdict object and checks without evidence', () => {
    const result = summarizeReport({ verdict: { verdict: 'pass' }, checks: [{ name: 'a', verdict: 'ok' }] });
    expect(result).toMatchObject({ ok: true, summary: { verdict: 'pass', passed: true, failing: [] } });
  });

  it.each([
    [[], 'not a JSON object'],
    [{ checks: [] }, 'no "verdict"'],
    [{ verdict: 'pass', checks: {} }, '"checks" is not a list'],
    [{ verdict: 'pass', checks: [{ verdict: 'pass' }] }, 'checks[0] has no "name"'],
    [{ verdict: 'pass', checks: [{ name: 'x' }] }, 'checks[0] (x) has no "verdict"'],
  ])('refuses %j: %s', (report, reason) => {
    expect(summarizeReport(report)).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });
});

describe('canary reports', () => {
  it("reads canary-step's report: the last gate's failing checks, and where the canary stands", () => {
    const report = canaryReport(
      outcome({
        phase: 'aborted',
        steps: [
          { weight: 5, at, verdict: 'pass', observed: 5.4 },
          { weight: 25, at, verdict: 'fail', observed: 24.8 },
        ],
        observedSplit: 'canary answered 24.8% of 400 requests after the change (target 25%, allowed ±4.1)',
      }),
    );
    // Through JSON, as notify-slack reads the file.
    const result = summarizeReport(JSON.parse(JSON.stringify(report)));
    expect(result).toEqual({
      ok: true,
      summary: {
        verdict: 'fail',
        passed: false,
        total: 2,
        failing: [
          {
            name: 'error-rate-vs-stable',
            verdict: 'fail',
            detail: 'threshold <= 0.01, at 25%: canary errors 48% vs stable 0%',
          },
        ],
        canary: {
          phase: 'aborted',
          weight: 0,
          steps: [
            { weight: 5, verdict: 'pass', observed: 5.4 },
            { weight: 25, verdict: 'fail', observed: 24.8 },
          ],
          observedSplit: 'canary answered 24.8% of 400 requests after the change (target 25%, allowed ±4.1)',
        },
      },
    });
  });

  it('a run that judged nothing (promote, status) still reads: verdict none, no checks', () => {
    const result = summarizeReport(
      JSON.parse(JSON.stringify(canaryReport({ ...outcome({ phase: 'promoted', steps: [] }), gates: [] }))),
    );
    expect(result).toMatchObject({
      ok: true,
      summary: { verdict: 'none', total: 0, failing: [], canary: { phase: 'promoted', steps: [] } },
    });
  });

  it('leaves the canary part out of other reports, and skips steps it cannot read', () => {
    const plain = summarizeReport({ verdict: 'pass', checks: [], phase: 'promoted' });
    expect(plain.ok && plain.summary.canary).toBe(undefined);
    const damaged = summarizeReport({
      strategy: 'canary',
      verdict: 'pass',
      phase: 'paused',
      weight: 25,
      steps: [{ weight: 5, verdict: 'pass' }, { verdict: 'pass' }, 'x', { weight: 25, verdict: null }],
    });
    expect(damaged.ok && damaged.summary.canary).toEqual({
      phase: 'paused',
      weight: 25,
      steps: [{ weight: 5, verdict: 'pass' }, { weight: 25 }],
    });
  });

  it("reads each step's time, traffic share and run when the report has them, and the failed phase", () => {
    const result = summarizeReport({
      strategy: 'canary',
      verdict: 'fail',
      phase: 'aborted',
      weight: 0,
      failedPhase: 'gate at 25%',
      steps: [
        { weight: 5, verdict: 'pass', at, observed: 5.1, runId: 4242 },
        { weight: 25, verdict: 'fail', at: 'not a time', observed: '24' },
      ],
      checks: [],
    });
    expect(result.ok && result.summary).toMatchObject({
      failedPhase: 'gate at 25%',
      canary: {
        steps: [
          { weight: 5, verdict: 'pass', at, observed: 5.1, runId: '4242' },
          // What cannot be read is left out, not guessed.
          { weight: 25, verdict: 'fail' },
        ],
      },
    });
  });

  it('failedChecks: the checks that failed outright, else every one not passing', () => {
    const read = (checks: { name: string; verdict: string }[]) => {
      const result = summarizeReport({ verdict: 'fail', checks });
      if (!result.ok) throw new Error(result.reason);
      return failedChecks(result.summary).map((check) => check.name);
    };
    expect(
      read([
        { name: 'a', verdict: 'inconclusive' },
        { name: 'b', verdict: 'FAIL' },
        { name: 'c', verdict: 'pass' },
      ]),
    ).toEqual(['b']);
    expect(read([{ name: 'a', verdict: 'inconclusive' }])).toEqual(['a']);
    expect(read([{ name: 'c', verdict: 'pass' }])).toEqual([]);
  });

  it.each<[string, CanaryFacts, string]>([
    [
      'aborted at the first step',
      { phase: 'aborted', weight: 0, steps: [{ weight: 5, verdict: 'fail' }] },
      'Canary aborted at 5%: 5% ✗ fail',
    ],
    [
      'promoted',
      {
        phase: 'promoted',
        weight: 0,
        steps: [5, 25, 50, 100].map((weight) => ({ weight, verdict: 'pass' })),
      },
      'Canary promoted: 5% ✓ · 25% ✓ · 50% ✓ · 100% ✓',
    ],
    [
      'paused, one step inconclusive',
      {
        phase: 'paused',
        weight: 25,
        steps: [
          { weight: 5, verdict: 'pass' },
          { weight: 25, verdict: 'inconclusive' },
        ],
      },
      'Canary paused at 25%: 5% ✓ · 25% ⚠ inconclusive',
    ],
    [
      'stopped at a step not judged',
      { phase: 'progressing', weight: 50, steps: [{ weight: 50 }] },
      'Canary at 50%: 50% – not judged',
    ],
    ['no canary', { phase: 'none', weight: 0, steps: [] }, 'No canary'],
  ])('canaryLine: %s', (_name, facts, line) => {
    expect(canaryLine(facts)).toBe(line);
  });
});
