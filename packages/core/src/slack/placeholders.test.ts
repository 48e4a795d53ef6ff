import { describe, expect, it } from 'vitest';
import { summarizeReport } from './gate-report.js';
import type { DeployFacts } from './message.js';
import { renderPayload, triggerVariables, unknownPlaceholdersIn } from './placeholders.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field by the assertions
type Json = any;

const facts: DeployFacts = {
  status: 'failure',
  app: 'shop',
  environment: 'prod',
  version: '1.0.0',
  fields: [],
  mentions: ['U0ABCDEFG1'],
  repository: 'acme/shop',
  commit: {
    sha: 'abcdef1234567',
    url: 'https://github.com/acme/shop/commit/abcdef1234567',
    message: 'a < b & c',
  },
  runUrl: 'https://github.com/acme/shop/actions/runs/1?a=1&b=2',
  actor: 'octocat',
};

describe('placeholders', () => {
  it('fills names anywhere in string values, escaping for mrkdwn', () => {
    const out = renderPayload(
      {
        text: '{{ app }} {{status}} {{mentions}}',
        blocks: [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: '{{commit_message}} <{{commit_url}}|{{commit_short}}>' },
          },
        ],
      },
      facts,
    );
    expect(out.text).toBe('shop failure <@U0ABCDEFG1>');
    expect((out.blocks as Json)[0].text.text).toBe(
      'a &lt; b &amp; c <https://github.com/acme/shop/commit/abcdef1234567|abcdef1>',
    );
  });

  it('does not escape inside plain_text or URL fields', () => {
    const out = renderPayload(
      {
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: '{{commit_message}}' } },
          {
            type: 'actions',
            elements: [{ type: 'button', text: { type: 'plain_text', text: 'Run' }, url: '{{run_url}}' }],
          },
        ],
      },
      facts,
    );
    const [header, actions] = out.blocks as Json[];
    expect(header.text.text).toBe('a < b & c');
    expect(actions.elements[0].url).toBe('https://github.com/acme/shop/actions/runs/1?a=1&b=2');
  });

  it('lists unknown placeholder names', () => {
    expect(unknownPlaceholdersIn('{{app}} {{sha}} {{ nope }} {{sha}}')).toEqual(['sha', 'nope']);
    // A workflow expression left in a file is never expanded: caught, not sent as is.
    expect(unknownPlaceholdersIn('{{app}} ${{ not.ours }}')).toEqual(['not.ours']);
    expect(unknownPlaceholdersIn('a { b } {{ app }}')).toEqual([]);
  });

  it("fills the report's names: verdict, failed checks and phase, alerts and the canary", () => {
    const report = summarizeReport({
      strategy: 'canary',
      verdict: 'fail',
      phase: 'aborted',
      weight: 0,
      failedPhase: 'gate at 5%',
      steps: [{ weight: 5, verdict: 'fail' }],
      checks: [
        { name: 'error-rate', verdict: 'fail' },
        { name: 'latency', verdict: 'inconclusive' },
        { name: 'pods', verdict: 'pass' },
      ],
      monitoring: { alerts: [{ level: 'critical', metric: 'error-rate', value: 0.2, threshold: 0.05 }] },
    });
    if (!report.ok) throw new Error(report.reason);
    const out = renderPayload(
      { text: '{{verdict}} | {{failed_checks}} | {{failed_phase}} | {{alerts}} | {{canary}}' },
      { ...facts, report: report.summary },
    );
    // The check that failed outright is named; an inconclusive one only when none failed.
    expect(out.text).toBe('fail | error-rate | gate at 5% | 1 critical | Canary aborted at 5%: 5% ✗ fail');
    expect(renderPayload({ text: '[{{verdict}}{{failed_checks}}{{alerts}}{{canary}}]' }, facts).text).toBe(
      '[]',
    );
  });
});

describe('triggerVariables', () => {
  it('without a payload: every placeholder under its own name, as plain text, then the fields', () => {
    const variables = triggerVariables(undefined, { ...facts, fields: [['region', 'eu-west-1']] });
    expect(variables).toMatchObject({
      app: 'shop',
      status: 'failure',
      commit_message: 'a < b & c',
      run_url: 'https://github.com/acme/shop/actions/runs/1?a=1&b=2',
      mentions: '<@U0ABCDEFG1>',
      failed_checks: '',
      region: 'eu-west-1',
    });
    expect(Object.values(variables).every((value) => typeof value === 'string')).toBe(true);
  });

  it('from a payload: its top-level keys, filled and unescaped, other values as text', () => {
    expect(
      triggerVariables(
        { title: '{{app}}: {{commit_message}}', replicas: 3, canary: true, note: null, raw: '{{ other }}' },
        facts,
      ),
    ).toEqual({ title: 'shop: a < b & c', replicas: '3', canary: 'true', note: '', raw: '{{ other }}' });
  });
});
