/**
 * health-gate comparison checks end to end: the bundle as the runner runs it, the sandbox's
 * real Prometheus (1 s scrape) and two versions of each app behind one Service, each version
 * answering its own share of errors. The sequential test decides before the maximum duration.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { createVersions, startTestSandbox } from './fixtures.js';

let sandbox: Sandbox;
let prometheus: string;
let reports: string;

/** Until Prometheus has seen both versions' requests: a comparison needs both series to exist. */
async function waitForVersions(app: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(
      `${prometheus}/api/v1/query?query=${encodeURIComponent(`count(sum by (version) (increase(http_requests_total{namespace="shop",service="${app}"}[5s])) > 20)`)}`,
    );
    const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
    if (Number(body.data?.result?.[0]?.value[1] ?? 0) >= 2) return;
    if (Date.now() > deadline) throw new Error(`Prometheus has not seen both versions of ${app}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function gate(inputs: Record<string, string>): Promise<ActionResult> {
  return runAction({
    action: 'health-gate',
    inputs: { namespace: 'shop', 'prometheus-url': prometheus, interval: '1s', ...inputs },
    timeoutMs: 120_000,
    cwd: reports,
  });
}

const compared = (app: string) =>
  `- { kind: prometheus, name: errors-vs-stable, template: success-rate, service: ${app}, version: v2, compare: v1, window: 5s }\n`;

interface Report {
  verdict: string;
  reason: string;
  checks: {
    name: string;
    test: string;
    verdict: string;
    reason: string;
    samples: {
      counts?: {
        canary: { errors: number; requests: number };
        baseline: { errors: number; requests: number };
      };
      evidence?: { decision: string; worse: number; notWorse: number };
    }[];
  }[];
}

beforeAll(async () => {
  sandbox = await startTestSandbox({ prometheus: true, rps: 200 });
  prometheus = sandbox.prometheus!;
  reports = await mkdtemp(join(tmpdir(), 'gate-compare-'));
  // An incident that hits both versions alike, and a canary three times as bad as its stable.
  const failing = (rate: number) => ({ SANDBOX_ERROR_RATE: String(rate) });
  createVersions(sandbox, 'web', { v1: failing(0.1), v2: failing(0.1) });
  createVersions(sandbox, 'pay', { v1: failing(0.03), v2: failing(0.09) });
  await Promise.all([waitForVersions('web'), waitForVersions('pay')]);
}, 60_000);
afterAll(async () => {
  await sandbox?.stop();
  if (reports) await rm(reports, { recursive: true, force: true });
});

describe('health-gate comparison checks', () => {
  it('passes a canary in an incident that hits both versions, which a fixed threshold fails', async () => {
    const fixed = await gate({
      checks: `- { kind: prometheus, template: success-rate, service: web, version: v2, window: 5s, condition: ">= 0.99" }\n`,
      duration: '30s',
    });
    expect(fixed.outputs.verdict).toBe('fail');

    const result = await gate({
      checks: compared('web'),
      duration: '90s',
      'report-path': join(reports, 'web.json'),
    });
    expect(result.errors, result.log).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    // Decided, not timed out: well before the 90 s allowed.
    expect(Number(result.outputs.duration)).toBeLessThan(60);
    const report = JSON.parse(await readFile(result.outputs.report!, 'utf8')) as Report;
    expect(report.reason).toMatch(/the sequential check\(s\) decided at [\d.]+s of the 90\.0s allowed/);
    const [check] = report.checks;
    expect(check!.test).toMatch(/^sequential: mixture SPRT/);
    expect(check!.reason).toMatch(/^not worse after \d+ looks?/);
    // Every look kept its counts from Prometheus and the test's evidence; the counts only grow.
    const looks = check!.samples.filter((s) => s.counts);
    expect(looks.length).toBeGreaterThanOrEqual(3);
    expect(looks.every((s) => s.evidence !== undefined)).toBe(true);
    const last = looks.at(-1)!;
    expect(last.counts!.canary.errors).toBeGreaterThan(10);
    expect(last.counts!.baseline.errors).toBeGreaterThan(10);
    expect(last.evidence!.decision).toBe('not-worse');
    expect(last.evidence!.notWorse).toBeGreaterThanOrEqual(40);
    expect(result.summary).toContain('Test: sequential: mixture SPRT');
    expect(result.summary).toMatch(/e-values [\d.e+]+ worse, [\d.e+]+ not worse → not-worse/);
  });

  it('fails a canary with three times the stable error rate as soon as the evidence is clear', async () => {
    const result = await gate({ checks: compared('pay'), duration: '90s' });
    expect(result.exitCode, result.log).toBe(1);
    expect(result.outputs.verdict).toBe('fail');
    expect(result.outputs['failed-checks']).toBe('errors-vs-stable');
    expect(result.errors.join('\n')).toMatch(
      /check "errors-vs-stable" failed: worse after \d+ looks?: the canary's error rate is above the baseline's/,
    );
    expect(Number(result.outputs.duration)).toBeLessThan(60);
  });

  it('refuses a comparison it cannot make before reading anything', async () => {
    const result = await gate({
      checks: '- { kind: prometheus, template: throughput, service: web, version: v2, compare: v1 }\n',
      duration: '30s',
    });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      /"compare" has value "v1" \(template throughput\): expected a template that can be compared/,
    );
    expect(result.outputs.verdict).toBeUndefined();
  });
});
