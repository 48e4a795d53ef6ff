/**
 * deploy-rolling with checks, end to end: the committed bundle against the sandbox cluster under
 * steady load and its real Prometheus (1 s scrape), with the token of the Role the README
 * documents. A version's behaviour comes from its pod environment: SANDBOX_ERROR_RATE makes it
 * answer that share of requests with 5xx, which the request counters (and Prometheus) see.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import {
  DEPLOYER_ROLE,
  deploymentManifest,
  historyOf,
  imageOf,
  live,
  readyPodImages,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;
let prometheus: string;

const image = (version: string): string => `ghcr.io/acme/web:${version}`;

/** Deployment web at `version`, its pods labelled version=<version> (the request counters' version label), and Service web. */
function app(version: string, env: Record<string, string> = {}): Record<string, string> {
  const deployment = deploymentManifest({ image: image(version), env }).replace(
    '    metadata:\n      labels:\n        app: web\n',
    `    metadata:\n      labels:\n        app: web\n        version: "${version}"\n`,
  );
  return { 'k8s/app.yaml': `${deployment}---\n${serviceManifest()}` };
}

/** The error ratio of one version of Service web over 5 s: 5xx out of all its requests (0 when it has none). */
function errorRate(version: string, condition = '< 0.05'): string {
  const selector = `namespace="shop",service="web",version="${version}"`;
  return `- kind: prometheus
  name: error-rate
  query: (sum(rate(http_requests_total{${selector},code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{${selector}}[5s]))
  requests-query: sum(increase(http_requests_total{${selector}}[5s]))
  min-requests: 20
  condition: "${condition}"
- kind: pods
  deployment: web
`;
}

async function deploy(
  files: Record<string, string>,
  inputs: Record<string, string | undefined>,
): Promise<ActionResult & { cwd: string }> {
  const cwd = await workspace(files);
  const result = await runAction({
    action: 'deploy-rolling',
    cwd,
    inputs: {
      kubeconfig,
      namespace: 'shop',
      manifests: 'k8s/app.yaml',
      timeout: '60s',
      'prometheus-url': prometheus,
      'check-interval': '1s',
      ...inputs,
    },
    timeoutMs: 90_000,
  });
  return { ...result, cwd };
}

interface Gated {
  phase?: string;
  gate?: { verdict: string; passed: boolean; reason: string; checks: { name: string; verdict: string }[] };
}

function record(): Gated {
  const raw = live(sandbox, 'Deployment', 'shop', 'web')?.metadata.annotations?.['cd-actions.dev/record'];
  return JSON.parse(raw ?? '{}') as Gated;
}

function lastEntry(): Gated & { outcome?: string; images?: Record<string, string> } {
  return historyOf(sandbox, 'shop', 'web').at(-1) as Gated & { outcome?: string };
}

beforeAll(async () => {
  sandbox = await startTestSandbox({ prometheus: true, rps: 60 });
  prometheus = sandbox.prometheus!;
  kubeconfig = sandbox.kubeconfigFor(DEPLOYER_ROLE);
  const first = await deploy(app('1.0.0'), {});
  expect(first.exitCode, first.log).toBe(0);
}, 120_000);
afterAll(async () => sandbox?.stop());

describe('deploy-rolling with checks after the rollout', () => {
  it('a healthy version passes its error-rate check; the verdict is in the record, the history, the summary and the report', async () => {
    const result = await deploy(app('2.0.0'), {
      checks: errorRate('2.0.0'),
      // Until Prometheus has scraped the new version's counters twice, its window holds no requests.
      'initial-delay': '5s',
      'verify-duration': '8s',
      'report-path': 'reports/verify.json',
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({ revision: '2', 'rolled-back': 'false', verdict: 'pass' });
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe(image('2.0.0'));
    expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill(image('2.0.0')));
    expect(record()).toMatchObject({
      phase: 'succeeded',
      gate: {
        verdict: 'pass',
        passed: true,
        checks: [
          { name: 'error-rate', verdict: 'pass' },
          { name: 'pods-web', verdict: 'pass' },
        ],
      },
    });
    expect(lastEntry()).toMatchObject({ outcome: 'succeeded', gate: { verdict: 'pass' } });
    expect(result.outputs.report).toBe(join(result.cwd, 'reports/verify.json'));
    const report = JSON.parse(await readFile(result.outputs.report!, 'utf8')) as {
      verdict: string;
      checks: { name: string; samples: { outcome: string; sampleSize?: number }[] }[];
    };
    expect(report.verdict).toBe('pass');
    // Real answers from Prometheus: the samples counted the new version's requests.
    const rate = report.checks.find((c) => c.name === 'error-rate')!;
    expect(
      rate.samples.filter((s) => s.outcome === 'ok' && (s.sampleSize ?? 0) >= 20).length,
    ).toBeGreaterThan(3);
    expect(result.summary).toContain('✅ Rolled out: web in shop');
    expect(result.summary).toContain('**Checks after the rollout:** pass');
    expect(result.summary).toContain('Health gate: ✅ pass');
    expect(result.log).toMatch(/::group::verify/);
  });

  it('a version answering errors fails its check, is rolled back to the previous revision, and exits 1 naming the check', async () => {
    const started = Date.now();
    const result = await deploy(app('3.0.0', { SANDBOX_ERROR_RATE: '0.5' }), {
      checks: errorRate('3.0.0'),
      'verify-duration': '10m',
    });
    expect(result.exitCode).toBe(1);
    // Decided from the errors, not by observing for the 10 minutes: the bound is wide (2 min
    // against 10) so that a busy machine cannot break it, and still rules the slow path out.
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(result.outputs).toMatchObject({ 'rolled-back': 'true', verdict: 'fail' });
    const error = result.errors.join('\n');
    expect(error).toContain('failed in phase verify');
    expect(error).toContain('the new version (web revision 3) rolled out but did not pass its checks');
    expect(error).toMatch(/check\(s\) "error-rate" failed \(check "error-rate" failed: /);
    expect(error).toContain('Every change was put back');
    expect(error).toContain(`web is serving revision 4 again (${image('2.0.0')})`);
    // The cluster holds the previous version again: template and every ready pod.
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe(image('2.0.0'));
    expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill(image('2.0.0')));
    expect(record()).toMatchObject({
      phase: 'rolled-back',
      gate: { verdict: 'fail', passed: false, checks: [{ name: 'error-rate', verdict: 'fail' }, {}] },
    });
    expect(lastEntry()).toMatchObject({
      outcome: 'rolled-back',
      images: { web: image('2.0.0') },
      gate: { verdict: 'fail' },
    });
    expect(result.summary).toContain('↩️ Failed and rolled back: web in shop');
    expect(result.summary).toContain('**Failed in phase:** verify');
    expect(result.summary).toContain('Health gate: ❌ fail');
    // No report-path: the decision record is a file of its own in RUNNER_TEMP.
    expect(result.leftovers).toEqual([expect.stringMatching(/^deploy-rolling-4242-\d+\.json$/)]);
  });

  it.each([
    [
      'a check with a bad field',
      '- { kind: prometheus, name: error-rate, query: "sum(up)", condition: "below 1" }',
      /Input "checks": check 1 \("error-rate"\).*condition.*"below 1"/,
    ],
    [
      'a query Prometheus rejects',
      '- { kind: prometheus, name: broken, query: "sum(rate(http_requests_total[5s])", condition: "< 1" }',
      /Input "checks": check "broken": .*; nothing was changed/,
    ],
  ])('%s fails before any write, naming the input', async (_title, checks, message) => {
    const writes = sandbox.audit.writes().length;
    const before = imageOf(live(sandbox, 'Deployment', 'shop', 'web'));
    const result = await deploy(app('4.0.0'), { checks });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(message);
    expect(sandbox.audit.writes().length).toBe(writes);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe(before);
  });
});
