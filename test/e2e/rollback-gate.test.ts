/**
 * rollback with checks on the version it restored, end to end: the committed bundle against the
 * sandbox under steady load and its real Prometheus, for a rolling app and a blue-green app. A
 * version answers errors when its pods carry SANDBOX_ERROR_RATE; the request counters label each
 * request with the pod's `version` label (a blue-green app: its colour).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import {
  BLUE_GREEN_ROLE,
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
let prometheus: string;

const image = (version: string): string => `ghcr.io/acme/web:${version}`;

/** Deployment web at `version`, its pods labelled version=<version>, and Service web. */
function rollingApp(version: string, env: Record<string, string> = {}): Record<string, string> {
  const deployment = deploymentManifest({ image: image(version), env }).replace(
    '    metadata:\n      labels:\n        app: web\n',
    `    metadata:\n      labels:\n        app: web\n        version: "${version}"\n`,
  );
  return { 'k8s/app.yaml': `${deployment}---\n${serviceManifest()}` };
}

/** 5xx out of all requests of one version of a Service over 5 s, below 5%. */
function errorRate(service: string, version: string): string {
  const selector = `namespace="shop",service="${service}",version="${version}"`;
  return `- kind: prometheus
  name: error-rate
  query: (sum(rate(http_requests_total{${selector},code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{${selector}}[5s]))
  requests-query: sum(increase(http_requests_total{${selector}}[5s]))
  min-requests: 20
  condition: "< 0.05"
`;
}

async function run(
  action: string,
  role: typeof DEPLOYER_ROLE,
  inputs: Record<string, string | undefined>,
  files: Record<string, string> = {},
): Promise<ActionResult> {
  return runAction({
    action,
    cwd: await workspace(files),
    inputs: { kubeconfig: sandbox.kubeconfigFor(role), namespace: 'shop', ...inputs },
    timeoutMs: 90_000,
  });
}

function rollback(inputs: Record<string, string>, role = DEPLOYER_ROLE): Promise<ActionResult> {
  return run('rollback', role, {
    'prometheus-url': prometheus,
    // Until Prometheus has scraped the new pods' counters twice, the window holds no requests.
    'initial-delay': '5s',
    'verify-duration': '8s',
    'check-interval': '1s',
    ...inputs,
  });
}

interface Gated {
  phase?: string;
  outcome?: string;
  revision?: string;
  stable?: unknown;
  candidate?: { images?: Record<string, string> };
  gate?: { verdict: string; passed: boolean; checks: { name: string; verdict: string }[] };
}

function recordOn(kindName: string, name: string): Gated {
  const raw = live(sandbox, kindName, 'shop', name)?.metadata.annotations?.['cd-actions.dev/record'];
  return JSON.parse(raw ?? '{}') as Gated;
}

function lastEntry(app: string): Gated & { action?: string } {
  return historyOf(sandbox, 'shop', app).at(-1) as Gated & { action?: string };
}

beforeAll(async () => {
  sandbox = await startTestSandbox({ prometheus: true, rps: 60 });
  prometheus = sandbox.prometheus!;
  // A good version, then one answering half its requests with errors (deployed without checks).
  for (const [version, env] of [
    ['1.0.0', {}],
    ['2.0.0', { SANDBOX_ERROR_RATE: '0.5' }],
  ] as const) {
    const result = await run(
      'deploy-rolling',
      DEPLOYER_ROLE,
      { manifests: 'k8s/app.yaml', timeout: '60s' },
      rollingApp(version, env),
    );
    expect(result.exitCode, result.log).toBe(0);
  }
}, 120_000);
afterAll(async () => sandbox?.stop());

describe('rollback of a rolling app, with checks on the restored version', () => {
  it.each([
    [
      'a check with a bad field',
      '- { kind: pods, max-restarts: many }',
      /Input "checks": check 1.*max-restarts/,
    ],
    [
      'a query Prometheus rejects',
      '- { kind: prometheus, name: broken, query: "sum(rate(http_requests_total[5s])", condition: "< 1" }',
      /Input "checks": check "broken": .*; nothing was changed/,
    ],
  ])('%s fails before any write, naming the input', async (_title, checks, message) => {
    const writes = sandbox.audit.writes().length;
    const result = await rollback({ app: 'web', checks });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(message);
    expect(sandbox.audit.writes().length).toBe(writes);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe(image('2.0.0'));
  });

  it('restores the previous version and verifies it from its error rate: pass, recorded', async () => {
    const result = await rollback({
      app: 'web',
      checks: errorRate('web', '1.0.0'),
      reason: 'errors in 2.0.0',
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({ 'from-revision': '2', 'to-revision': '3', verdict: 'pass' });
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe(image('1.0.0'));
    expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill(image('1.0.0')));
    expect(recordOn('Deployment', 'web')).toMatchObject({
      phase: 'rolled-back',
      gate: { verdict: 'pass', passed: true, checks: [{ name: 'error-rate', verdict: 'pass' }] },
    });
    expect(lastEntry('web')).toMatchObject({
      action: 'rollback',
      outcome: 'succeeded',
      gate: { verdict: 'pass' },
    });
    expect(result.summary).toContain('↩️ Rolled back: web in shop');
    expect(result.summary).toContain('### Checks on the restored version');
    expect(result.summary).toContain('Health gate: ✅ pass');
    expect(result.log).toMatch(/::group::checks/);
  });

  it('a restored version that does not verify: exit 1 saying so, and it stays serving (no flip-flop)', async () => {
    // "previous" of 1.0.0 (revision 3) is 2.0.0, the version answering errors.
    const result = await rollback({ app: 'web', checks: errorRate('web', '2.0.0') });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({ 'to-revision': '4', verdict: 'fail' });
    const error = result.errors.join('\n');
    expect(error).toContain(
      `The rollback restored revision 2's template on web (now revision 4, ${image('2.0.0')}), but the restored version did not verify: check(s) "error-rate" failed (`,
    );
    expect(error).toContain(
      `There is nothing further to roll back to, so it stays serving (not switched back to revision 3 (${image('1.0.0')}), the version rolled back from). Traffic: Deployment shop/web runs revision 4 (${image('2.0.0')}), 3/3 available`,
    );
    // Not put back: the template is still the restored one, on every ready pod.
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe(image('2.0.0'));
    expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill(image('2.0.0')));
    expect(result.log).not.toMatch(/^undo: /m);
    const record = recordOn('Deployment', 'web');
    expect(record).toMatchObject({
      phase: 'failed',
      candidate: { images: { web: image('2.0.0') } },
      gate: { verdict: 'fail', passed: false },
    });
    expect(record.stable).toBeUndefined();
    expect(lastEntry('web')).toMatchObject({
      action: 'rollback',
      outcome: 'failed',
      revision: '4',
      gate: { verdict: 'fail' },
    });
    expect(result.summary).toContain('⚠️ Rolled back, but the restored version did not verify: web in shop');
    expect(result.summary).toContain('Health gate: ❌ fail');
  });
});

describe('rollback of a blue-green app, with checks on the colour switched back to', () => {
  const blueGreen = (version: string, env: Record<string, string> = {}) =>
    run(
      'deploy-blue-green',
      BLUE_GREEN_ROLE,
      { manifests: 'k8s/app.yaml', timeout: '60s' },
      {
        'k8s/app.yaml': `${deploymentManifest({ name: 'shop', image: `ghcr.io/acme/shop:${version}`, env, replicas: 2 })}---\n${serviceManifest('shop')}`,
      },
    );

  beforeAll(async () => {
    expect((await blueGreen('1.0.0')).exitCode).toBe(0); // blue
    expect((await blueGreen('2.0.0', { SANDBOX_ERROR_RATE: '0.5' })).exitCode).toBe(0); // green
  }, 120_000);

  it('switches back to blue and verifies it: pass, recorded on the route and in the history', async () => {
    const result = await rollback({ app: 'shop', checks: errorRate('shop', 'blue') }, BLUE_GREEN_ROLE);
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({ 'active-color': 'blue', verdict: 'pass' });
    expect(
      (live(sandbox, 'Service', 'shop', 'shop')?.spec as { selector?: Record<string, string> }).selector
        ?.version,
    ).toBe('blue');
    expect(recordOn('Service', 'shop')).toMatchObject({ phase: 'rolled-back', gate: { verdict: 'pass' } });
    expect(lastEntry('shop')).toMatchObject({
      action: 'rollback',
      outcome: 'succeeded',
      gate: { verdict: 'pass' },
    });
    expect(result.summary).toContain('Health gate: ✅ pass');
  });
});
