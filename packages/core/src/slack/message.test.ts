import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../../sandbox/src/standins/block-kit.js';
import { summarizeReport } from './gate-report.js';
import { enforceLimits } from './limits.js';
import { buildDefaultMessage, headline, type DeployFacts } from './message.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field by the assertions
type Json = any;

const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

function facts(overrides: Partial<DeployFacts> = {}): DeployFacts {
  return {
    status: 'success',
    app: 'shop',
    environment: 'production',
    version: '1.4.2',
    strategy: 'canary',
    fields: [],
    mentions: [],
    durationMs: 185_000,
    repository: 'acme/shop',
    commit: { sha: SHA, url: `https://github.com/acme/shop/commit/${SHA}`, message: 'Fix totals' },
    actor: 'octocat',
    runUrl: 'https://github.com/acme/shop/actions/runs/1',
    workflow: 'deploy',
    runNumber: '17',
    ...overrides,
  };
}

type Block = Json;
const details = (message: Record<string, unknown>): Block[] => (message.attachments as Block[])[0]!.blocks;

describe('buildDefaultMessage', () => {
  it('builds header, fields, commit, context and run button under a coloured attachment', () => {
    const message = buildDefaultMessage(facts());
    expect(checkMessage(message)).toBeUndefined();
    expect(message.text).toBe(':white_check_mark: shop 1.4.2 deployed to production');
    expect(message.blocks).toEqual([
      {
        type: 'header',
        text: {
          type: 'plain_text',
          text: ':white_check_mark: shop 1.4.2 deployed to production',
          emoji: true,
        },
      },
    ]);
    const [fields, commit, context, actions] = details(message);
    expect((message.attachments as Block[])[0]!.color).toBe('#2EB67D');
    expect(fields!.fields.map((f: Block) => f.text)).toEqual([
      '*Environment*\nproduction',
      '*Version*\n1.4.2',
      '*Strategy*\ncanary',
      '*Duration*\n3m 5s',
    ]);
    expect(commit!.text.text).toBe(
      `*Commit* <https://github.com/acme/shop/commit/${SHA}|\`3f78685\`>\nFix totals`,
    );
    expect(context!.elements[0].text).toBe('by *octocat* · acme/shop · deploy #17');
    expect(actions!.elements[0]).toMatchObject({
      type: 'button',
      url: 'https://github.com/acme/shop/actions/runs/1',
    });
  });

  it.each([
    ['started', ':rocket: Deploying shop 1.4.2 to production', '#439FE0'],
    ['failure', ':x: shop 1.4.2 deploy to production failed', '#E01E5A'],
    ['cancelled', ':no_entry_sign: shop 1.4.2 deploy to production cancelled', '#9E9E9E'],
    ['rolled-back', ':rewind: shop rolled back on production', '#ECB22E'],
  ] as const)('%s: header and colour follow the status', (status, header, color) => {
    const message = buildDefaultMessage(facts({ status }));
    expect((message.blocks as Block[])[0]!.text.text).toBe(header);
    expect((message.attachments as Block[])[0]!.color).toBe(color);
  });

  it('names the repository when no app is given', () => {
    expect(headline(facts({ app: undefined, version: undefined, environment: undefined }))).toBe(
      'shop deployed',
    );
  });

  it('mentions on failure and rollback only', () => {
    const mentions = ['U0ABCDEFG1', 'S0ONCALL01', 'here'];
    const failed = buildDefaultMessage(facts({ status: 'failure', mentions }));
    expect(failed.text).toMatch(/^<@U0ABCDEFG1> <!subteam\^S0ONCALL01> <!here> /);
    expect((failed.blocks as Block[])[1]!.text.text).toContain('<@U0ABCDEFG1>');
    const fine = buildDefaultMessage(facts({ status: 'success', mentions }));
    expect(fine.text).not.toContain('<@');
    expect(fine.blocks).toHaveLength(1);
  });

  it('escapes user text, fields and the commit message, but not its own links', () => {
    const message = buildDefaultMessage(
      facts({
        text: 'a <b> & c',
        fields: [['<x>', 'y & z']],
        commit: { sha: SHA, url: 'https://x/commit', message: '<!channel> fix & <https://evil|go>' },
      }),
    );
    const text = JSON.stringify(details(message));
    expect(text).toContain('a &lt;b&gt; &amp; c');
    expect(text).toContain('*&lt;x&gt;*\\ny &amp; z');
    expect(text).toContain(
      '<https://x/commit|`3f78685`>\\n&lt;!channel&gt; fix &amp; &lt;https://evil|go&gt;',
    );
  });

  it('summarises a gate report: verdict, counts and failing checks only', () => {
    const report = summarizeReport({
      verdict: 'fail',
      checks: [
        { name: 'errors', verdict: 'fail', value: 0.2, threshold: 0.05 },
        { name: 'latency', verdict: 'pass' },
      ],
    });
    if (!report.ok) throw new Error(report.reason);
    const text = JSON.stringify(details(buildDefaultMessage(facts({ report: report.summary }))));
    expect(text).toContain(':red_circle: *Gate verdict: fail* (1 of 2 checks not passing)');
    expect(text).toContain('• `errors` fail: value 0.2, threshold 0.05');
    expect(text).not.toContain('latency');
  });

  it("lists a health-gate report's monitoring alerts, critical first, with value and threshold", () => {
    const report = summarizeReport({
      verdict: 'pass',
      checks: [{ name: 'success-rate', verdict: 'pass' }],
      monitoring: {
        alerts: [
          {
            metric: 'latency-p95',
            level: 'warning',
            value: 0.6,
            threshold: 0.5,
            direction: 'above',
            shownValue: '600.0 ms',
            shownThreshold: '500.0 ms',
          },
          { metric: 'throughput', level: 'critical', value: 2, threshold: 5, direction: 'below' },
          { metric: 'disk<x>', level: 'warning', value: 1 },
        ],
      },
    });
    if (!report.ok) throw new Error(report.reason);
    const message = buildDefaultMessage(facts({ report: report.summary }));
    expect(checkMessage(message)).toBeUndefined();
    const section = details(message).find((b) => b.text?.text.includes('Gate verdict'))!;
    expect(section.text.text.split('\n')).toEqual([
      ':large_green_circle: *Gate verdict: pass* (0 of 1 check not passing)',
      '*Monitoring alerts: 1 critical, 2 warning*',
      '• :red_circle: *critical* `throughput` 2 (threshold < 5)',
      '• :large_orange_circle: *warning* `latency-p95` 600.0 ms (threshold > 500.0 ms)',
      '• :large_orange_circle: *warning* `disk&lt;x&gt;` 1 (threshold unknown)',
    ]);
  });

  it('says nothing of monitoring when the report has no alerts', () => {
    const report = summarizeReport({ verdict: 'pass', checks: [], monitoring: { alerts: [] } });
    if (!report.ok) throw new Error(report.reason);
    expect(report.summary.alerts).toEqual([]);
    expect(JSON.stringify(details(buildDefaultMessage(facts({ report: report.summary }))))).not.toContain(
      'Monitoring',
    );
  });

  it('shows a canary report: phase, weights with verdicts and the split seen, then the failing checks', () => {
    const report = summarizeReport({
      strategy: 'canary',
      verdict: 'fail',
      phase: 'aborted',
      weight: 0,
      observedSplit: 'canary answered 5.3% of 1200 requests after the change (target 5%, allowed ±2.0)',
      steps: [{ weight: 5, verdict: 'fail', observed: 5.3 }],
      checks: [
        { name: 'canary-pods', verdict: 'pass' },
        { name: 'smoke', verdict: 'fail', threshold: 'exit 0', reason: 'exit 1 in 3 of 3 samples' },
      ],
    });
    if (!report.ok) throw new Error(report.reason);
    const message = buildDefaultMessage(facts({ status: 'failure', report: report.summary }));
    expect(checkMessage(message)).toBeUndefined();
    const section = details(message).find((b) => b.text?.text.includes('Canary'))!;
    expect(section.text.text.split('\n')).toEqual([
      ':red_circle: *Canary aborted at 5%: 5% ✗ fail*',
      'Observed split: canary answered 5.3% of 1200 requests after the change (target 5%, allowed ±2.0)',
      ':red_circle: *Gate verdict: fail* (1 of 2 checks not passing)',
      '• `smoke` fail: threshold exit 0, exit 1 in 3 of 3 samples',
    ]);
  });

  it('a canary promoted without a gate in this run: the canary line alone, no "Gate verdict: none"', () => {
    const report = summarizeReport({
      strategy: 'canary',
      verdict: 'none',
      phase: 'promoted',
      weight: 0,
      steps: [5, 25, 50, 100].map((weight) => ({ weight, verdict: 'pass' })),
      checks: [],
    });
    if (!report.ok) throw new Error(report.reason);
    const text = JSON.stringify(details(buildDefaultMessage(facts({ report: report.summary }))));
    expect(text).toContain(':large_green_circle: *Canary promoted: 5% ✓ · 25% ✓ · 50% ✓ · 100% ✓*');
    expect(text).not.toContain('Gate verdict');
  });

  it("a canary report with dated steps: the step timeline, each time in the reader's zone and each run linked", () => {
    const report = summarizeReport({
      strategy: 'canary',
      verdict: 'fail',
      phase: 'aborted',
      weight: 0,
      steps: [
        { weight: 5, verdict: 'pass', at: '2025-01-01T10:00:05.000Z', observed: 5.2, runId: '41' },
        { weight: 25, verdict: 'fail', at: '2025-01-01T10:10:07.000Z', runId: '42' },
      ],
      checks: [{ name: 'error-rate', verdict: 'fail' }],
    });
    if (!report.ok) throw new Error(report.reason);
    const message = buildDefaultMessage(
      facts({
        status: 'failure',
        report: report.summary,
        runUrl: 'https://github.com/acme/shop/actions/runs/42/attempts/2',
      }),
    );
    expect(checkMessage(message)).toBeUndefined();
    const lines = details(message)
      .find((b) => b.text?.text.includes('Canary'))!
      .text.text.split('\n');
    expect(lines.slice(0, 4)).toEqual([
      ':red_circle: *Canary aborted at 25%: 5% ✓ · 25% ✗ fail*',
      '*Steps*',
      '• <!date^1735725605^{time_secs}|10:00:05 UTC> 5% ✓ · 5.2% of the traffic seen · <https://github.com/acme/shop/actions/runs/41|run 41>',
      '• <!date^1735726207^{time_secs}|10:10:07 UTC> 25% ✗ fail · <https://github.com/acme/shop/actions/runs/42|run 42>',
    ]);
  });

  it('a failed deploy names the failed check and the failed phase right under the header, and links the run', () => {
    const report = summarizeReport({
      verdict: 'fail',
      failedPhase: 'verify',
      checks: [
        { name: 'error-rate', verdict: 'fail', value: 0.2 },
        { name: 'p95 <latency>', verdict: 'inconclusive' },
        { name: 'pods', verdict: 'pass' },
      ],
    });
    if (!report.ok) throw new Error(report.reason);
    const failed = buildDefaultMessage(facts({ status: 'failure', report: report.summary }));
    expect(checkMessage(failed)).toBeUndefined();
    expect((failed.blocks as Block[])[1]).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: '*Failed check:* `error-rate` · *Failed phase:* verify · <https://github.com/acme/shop/actions/runs/1|View the run #17>',
      },
    });
    expect(failed.text).toBe(':x: shop 1.4.2 deploy to production failed (failed: error-rate)');

    // Without a failing check (the deploy broke elsewhere), still the link to the run's logs.
    const broke = buildDefaultMessage(facts({ status: 'rolled-back' }));
    expect((broke.blocks as Block[])[1]!.text.text).toBe(
      '<https://github.com/acme/shop/actions/runs/1|View the run #17>',
    );
    const inconclusive = summarizeReport({
      verdict: 'inconclusive',
      checks: [{ name: 'a<b', verdict: 'inconclusive' }],
    });
    if (!inconclusive.ok) throw new Error(inconclusive.reason);
    expect(
      (buildDefaultMessage(facts({ status: 'failure', report: inconclusive.summary })).blocks as Block[])[1]!
        .text.text,
    ).toMatch(/^\*Failed check:\* `a&lt;b` · /);
    // A deploy that went well says nothing of failures.
    expect(buildDefaultMessage(facts({ status: 'success', report: report.summary })).blocks).toHaveLength(1);
  });

  it('splits more than 10 fields into sections Slack accepts', () => {
    const fields = Array.from({ length: 12 }, (_, i): [string, string] => [`k${i}`, `v${i}`]);
    const message = buildDefaultMessage(facts({ fields }));
    const sections = details(message).filter((b) => b.fields);
    expect(sections.map((s) => s.fields.length)).toEqual([10, 6]);
    expect(checkMessage(message)).toBeUndefined();
  });

  it('with a huge commit message and app name, is accepted once limits are enforced', () => {
    const message = buildDefaultMessage(
      facts({ app: 'a'.repeat(300), commit: { sha: SHA, url: 'https://x', message: '<&>'.repeat(2000) } }),
    );
    expect(checkMessage(message)).toBeDefined();
    expect(checkMessage(enforceLimits(message).message)).toBeUndefined();
  });
});
