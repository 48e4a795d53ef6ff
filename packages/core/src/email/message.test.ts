import { describe, expect, it } from 'vitest';
import type { DeployFacts } from '../slack/message.js';
import { escapeHtml, safeHref } from './html.js';
import { composeEmail } from './message.js';

const SHA = '3f786850e387550fdab836ed7e6dc881de23001b';

function facts(overrides: Partial<DeployFacts> = {}): DeployFacts {
  return {
    status: 'success',
    app: 'shop',
    environment: 'production',
    version: '1.4.2',
    fields: [],
    mentions: [],
    repository: 'acme/shop',
    commit: { sha: SHA, url: `https://github.com/acme/shop/commit/${SHA}`, message: 'Fix checkout totals' },
    actor: 'octocat',
    runUrl: 'https://github.com/acme/shop/actions/runs/42',
    workflow: 'deploy',
    runNumber: '17',
    ...overrides,
  };
}

/** The tags in the HTML: the template's, whatever the facts say. */
function tags(html: string): string[] {
  return [...new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()))].sort();
}

describe('composeEmail', () => {
  it('subject, text and HTML say the same facts', () => {
    const email = composeEmail(facts({ strategy: 'canary', fields: [['region', 'eu-west-1']] }));
    expect(email.subject).toBe('✅ shop 1.4.2 deployed to production');
    expect(email.text).toBe(
      [
        '✅ shop 1.4.2 deployed to production',
        '',
        'Environment: production\nVersion: 1.4.2\nStrategy: canary\nregion: eu-west-1',
        '',
        `Commit 3f78685: https://github.com/acme/shop/commit/${SHA}\n    Fix checkout totals`,
        '',
        'Run: https://github.com/acme/shop/actions/runs/42',
        '',
        'by octocat · acme/shop · deploy #17',
        '',
      ].join('\n'),
    );
    expect(email.html).toContain('<title>✅ shop 1.4.2 deployed to production</title>');
    expect(email.html).toContain('border-top:6px solid #2EB67D');
    expect(email.html).toContain(
      `<a href="https://github.com/acme/shop/commit/${SHA}" style="color:#1264a3;"><code>3f78685</code></a>`,
    );
    expect(email.html).toContain('<a href="https://github.com/acme/shop/actions/runs/42"');
    expect(email.html).toContain('>region</td><td style="padding:2px 0;vertical-align:top;">eu-west-1</td>');
  });

  it('escapes every input and the commit message in the HTML; no tag or link of theirs survives', () => {
    const hostile = '<script>alert(1)</script><img src=x onerror=alert(1)> & "q" \'s';
    const email = composeEmail(
      facts({
        app: hostile,
        version: '<b>1</b>',
        text: `${hostile}\nsecond line`,
        fields: [[`<i>k</i>`, hostile]],
        commit: {
          sha: SHA,
          url: 'javascript:alert(1)',
          message: '</div><a href="javascript:alert(1)">x</a>',
        },
        runUrl: 'javascript:alert(2)',
      }),
    );
    expect(tags(email.html)).toEqual(
      [
        'body',
        'br',
        'code',
        'div',
        'h1',
        'head',
        'html',
        'meta',
        'p',
        'span',
        'strong',
        'table',
        'td',
        'title',
        'tr',
      ].sort(),
    );
    expect(email.html).not.toContain('javascript:alert(2)');
    expect(email.html).not.toMatch(/href="javascript/);
    expect(email.html).toContain(escapeHtml(hostile));
    expect(email.html).toContain(`${escapeHtml(hostile)}<br>\nsecond line`);
    expect(email.html).toContain('&lt;/div&gt;&lt;a href=&quot;javascript:alert(1)&quot;&gt;x&lt;/a&gt;');
    // The text part is plain text: shown as written.
    expect(email.text).toContain(hostile);
  });

  it('keeps the subject on one line, whatever the inputs hold', () => {
    expect(composeEmail(facts({ app: 'shop\r\nBcc: evil@example.com' })).subject).toBe(
      '✅ shop Bcc: evil@example.com 1.4.2 deployed to production',
    );
    expect(composeEmail(facts(), '  Deploy\n done  ').subject).toBe('Deploy done');
  });

  it('a failed deploy names its failed checks first, then the report: canary, verdict, checks, alerts', () => {
    const email = composeEmail(
      facts({
        status: 'failure',
        report: {
          verdict: 'fail',
          passed: false,
          total: 3,
          failing: [
            { name: 'error-rate', verdict: 'fail', detail: 'value 0.12, threshold 0.05' },
            { name: 'pods-ready', verdict: 'hold' },
          ],
          canary: {
            phase: 'aborted',
            weight: 0,
            steps: [{ weight: 5, verdict: 'fail', at: '2026-11-30T14:01:02Z', observed: 5.3 }],
            observedSplit: '95/5',
          },
          failedPhase: 'canary 5%',
          alerts: [
            {
              level: 'critical',
              metric: 'error-rate',
              value: '20.00%',
              threshold: '5.00%',
              direction: 'above',
            },
            { level: 'warning', metric: 'cpu', value: '0.1', threshold: '0.2', direction: 'below' },
          ],
        },
      }),
    );
    expect(email.subject).toBe('❌ shop 1.4.2 deploy to production failed');
    expect(email.text).toContain(
      // The check that failed outright is named, not the one still on hold; then the phase.
      '❌ shop 1.4.2 deploy to production failed\n\nFailed check: error-rate\nFailed phase: canary 5%\n\n',
    );
    expect(email.text).toContain(
      [
        'Canary aborted at 5%: 5% ✗ fail',
        'Observed split: 95/5',
        '  - 14:01:02 UTC 5% ✗ fail · 5.3% of the traffic seen',
        'Gate verdict: fail (2 of 3 checks not passing)',
        '  - error-rate fail: value 0.12, threshold 0.05',
        '  - pods-ready hold',
        'Monitoring alerts: 1 critical, 1 warning',
        '  - critical error-rate 20.00% (threshold > 5.00%)',
        '  - warning cpu 0.1 (threshold < 0.2)',
      ].join('\n'),
    );
    expect(email.html).toContain(
      '<strong>Failed check:</strong> <code>error-rate</code> · <strong>Failed phase:</strong> canary 5%',
    );
    expect(email.html).toContain('<strong>Gate verdict: fail</strong> (2 of 3 checks not passing)');
    expect(email.html).toContain(
      '<li>🔴 <strong>critical</strong> <code>error-rate</code> 20.00% (threshold &gt; 5.00%)</li>',
    );
  });

  it('a canary step that judged nothing shows no gate line; a success names no failed checks', () => {
    const email = composeEmail(
      facts({
        report: {
          verdict: 'none',
          passed: false,
          total: 0,
          failing: [],
          canary: {
            phase: 'promoted',
            weight: 100,
            steps: [
              { weight: 5, verdict: 'pass' },
              { weight: 100, verdict: 'pass' },
            ],
          },
        },
      }),
    );
    expect(email.text).toContain('Canary promoted: 5% ✓ · 100% ✓');
    expect(email.text).not.toContain('Gate verdict');
    expect(email.text).not.toContain('Failed check');
  });

  it('without a commit, run link or actor: the repository alone in the footer, no button', () => {
    const email = composeEmail({ status: 'started', fields: [], mentions: [], repository: 'acme/shop' });
    expect(email.subject).toBe('🚀 Deploying shop');
    expect(email.text).toBe('🚀 Deploying shop\n\nacme/shop\n');
    expect(email.html).not.toContain('View run');
  });
});

describe('safeHref', () => {
  it('passes http(s) URLs escaped, and nothing else', () => {
    expect(safeHref('https://github.com/a/b?x=1&y="2"')).toBe('https://github.com/a/b?x=1&amp;y=%222%22');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('data:text/html,<b>')).toBeUndefined();
    expect(safeHref('not a url')).toBeUndefined();
    expect(safeHref(undefined)).toBeUndefined();
  });
});
