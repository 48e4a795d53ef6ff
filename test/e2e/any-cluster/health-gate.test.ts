/**
 * health-gate on any cluster: the committed bundle judging apps the target runs, from what its
 * Prometheus scraped and what its API says about their pods.
 */
import { describe, expect } from 'vitest';
import type { ActionResult } from '../../../packages/sandbox/src/harness.js';
import { deploymentYaml, runOn, serviceYaml, startLoad } from './cluster.js';
import { check, useTarget, type Target } from './target.js';

const FILE = import.meta.filename;
let target: Target;

useTarget(FILE, async (started) => {
  target = started;
  for (const [name, env] of [
    ['good', {}],
    ['flaky', { SANDBOX_ERROR_RATE: '0.5' }],
  ] as const) {
    await startLoad(target, name);
    const result = await runOn(
      target,
      'deploy-rolling',
      {
        'k8s/app.yaml': `${deploymentYaml(target, { name, version: '1.0.0', env })}---\n${serviceYaml(name)}`,
      },
      { manifests: 'k8s/app.yaml' },
    );
    expect(result.exitCode, result.log).toBe(0);
  }
});

function gate(service: string): Promise<ActionResult> {
  const checks = `- { kind: prometheus, template: success-rate, service: ${service}, version: "1.0.0", window: 10s, min-requests: 10, condition: ">= 0.95" }
- { kind: pods, deployment: ${service} }
`;
  return runOn(
    target,
    'health-gate',
    {},
    {
      checks,
      'prometheus-url': target.prometheus,
      duration: '20s',
      interval: '2s',
      'initial-delay': '10s',
    },
  );
}

describe('health-gate on any cluster', () => {
  check(
    FILE,
    'a healthy app passes: its success rate from Prometheus and its pods from the API',
    ['prometheus'],
    async () => {
      const result = await gate('good');
      expect(result.exitCode, result.log).toBe(0);
      expect(result.outputs).toMatchObject({ verdict: 'pass', 'failed-checks': '' });
    },
  );

  check(
    FILE,
    'an app answering half its requests with 500s fails, naming the check',
    ['prometheus'],
    async () => {
      const result = await gate('flaky');
      expect(result.exitCode, result.log).toBe(1);
      expect(result.outputs).toMatchObject({ verdict: 'fail', 'failed-checks': 'success-rate' });
    },
  );

  check(
    FILE,
    'a check with a bad condition fails before querying anything, naming the input and the value',
    [],
    async () => {
      const result = await runOn(
        target,
        'health-gate',
        {},
        {
          checks: '- { kind: prometheus, query: up, condition: "=< 1" }',
          'prometheus-url': target.prometheus ?? 'http://prometheus.invalid:9090',
        },
      );
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toMatch(/checks/);
      expect(result.errors.join('\n')).toContain('=< 1');
    },
  );
});
