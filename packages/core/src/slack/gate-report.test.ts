import { describe, expect, it } from 'vitest';
import { summarizeReport } from './gate-report.js';

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
