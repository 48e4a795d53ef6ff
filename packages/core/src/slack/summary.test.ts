import { describe, expect, it } from 'vitest';
import { summarizeReport } from './gate-report.js';
import { deployFacts, type NotifySettings } from './notify.js';
import { notifySummary } from './summary.js';

const settings: NotifySettings = {
  destination: { kind: 'webhook', url: 'https://hooks.slack.com/services/T/B/x' },
  status: 'failure',
  app: 'shop',
  fields: [],
  mentions: [],
  failOnError: false,
  timeoutMs: 30_000,
};
const env = { GITHUB_REPOSITORY: 'acme/shop', GITHUB_SHA: 'abcdef1234567', GITHUB_RUN_ID: '7' };

describe('notifySummary', () => {
  it("counts the report's monitoring alerts by level", () => {
    const report = summarizeReport({
      verdict: 'fail',
      checks: [{ name: 'success-rate', verdict: 'fail' }],
      monitoring: {
        alerts: [
          { metric: 'error-rate', level: 'critical', value: 0.2, threshold: 0.05 },
          { metric: 'latency-p95', level: 'warning', value: 0.6, threshold: 0.5 },
          { metric: 'latency-p99', level: 'warning', value: 1.2, threshold: 1 },
        ],
      },
    });
    if (!report.ok) throw new Error(report.reason);
    const text = notifySummary(
      { ...settings, report: report.summary },
      deployFacts({ ...settings, report: report.summary }, env),
      {
        ok: true,
      },
    );
    expect(text).toContain('| Gate verdict | fail (1 of 1 checks not passing) |');
    expect(text).toContain('| Monitoring alerts | 1 critical, 2 warning |');
    expect(text).toContain('| Failed checks | `success-rate` |');
  });

  it('says a trigger started a workflow', () => {
    const trigger: NotifySettings = {
      ...settings,
      destination: { kind: 'trigger', url: 'https://hooks.slack.com/triggers/T/1/x' },
    };
    const text = notifySummary(trigger, deployFacts(trigger, env), { ok: true });
    expect(text).toContain('| Sent to | Workflow Builder trigger |');
    expect(text).toContain('| Action | workflow started with variables |');
    expect(text).not.toContain('hooks.slack.com');
  });

  it('has no monitoring row for a report without a monitoring section', () => {
    const report = summarizeReport({ verdict: 'pass', checks: [] });
    if (!report.ok) throw new Error(report.reason);
    const facts = deployFacts({ ...settings, report: report.summary }, env);
    expect(notifySummary(settings, facts, { ok: true })).not.toContain('Monitoring');
  });
});
