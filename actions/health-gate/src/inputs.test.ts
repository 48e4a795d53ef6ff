import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { actionDefaultsHidingConfig } from '@cd-actions/core/config/config';
import { InputError } from '@cd-actions/core/inputs/inputs';
import { getInputs, spec } from './inputs.js';

const actionYml = await readFile(new URL('../action.yml', import.meta.url), 'utf8');

async function configWorkspace(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gate-inputs-'));
  await mkdir(join(dir, '.github'));
  await writeFile(join(dir, '.github', 'deploy.yml'), text);
  return dir;
}

describe('health-gate inputs', () => {
  it('declares exactly the inputs of the spec, and no default that would hide the config file', () => {
    const declared = Object.keys((parse(actionYml) as { inputs: Record<string, unknown> }).inputs).sort();
    expect(declared).toEqual(Object.keys(spec).sort());
    expect(actionDefaultsHidingConfig(spec, actionYml)).toEqual([]);
  });

  it('takes the gate settings and checks of an environment from the config file', async () => {
    const workspace = await configWorkspace(`environments:
  staging:
    namespace: shop
    gate:
      duration: 2m
      interval: 10s
      prometheus-url: http://prometheus:9090
      checks:
        - kind: prometheus
          template: success-rate
          service: web
`);
    const inputs = getInputs({ read: (name) => (name === 'environment' ? 'staging' : ''), workspace });
    expect(inputs.settings).toMatchObject({ duration: 120_000, interval: 10_000, namespace: 'shop' });
    expect(inputs.checks).toHaveLength(1);
    expect(inputs.checks[0]).toMatchObject({
      name: 'success-rate',
      prometheusUrl: 'http://prometheus:9090',
      target: { namespace: 'shop', service: 'web' },
    });
  });

  it('adds one check per simple input and names the input in every problem', async () => {
    const workspace = await configWorkspace('environments: {}\n');
    const given: Record<string, string> = { url: 'https://shop.example.com/healthz', deployment: 'web' };
    const inputs = getInputs({ read: (name) => given[name] ?? '', workspace });
    expect(inputs.checks.map((c) => [c.name, inputs.inputOf.get(c.name)])).toEqual([
      ['url', 'url'],
      ['deployment', 'deployment'],
    ]);
    const bad: Record<string, string> = {
      checks: '- { kind: pods }',
      query: 'up',
      threshold: '0.5',
      interval: '1h',
      duration: '1m',
    };
    try {
      getInputs({ read: (name) => bad[name] ?? '', workspace });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).problems.map((p) => p.input)).toEqual(['threshold']);
    }
  });

  it('writes report-path inside the workspace or RUNNER_TEMP, and refuses anywhere else', async () => {
    const workspace = await configWorkspace('environments: {}\n');
    const temp = await mkdtemp(join(tmpdir(), 'gate-temp-'));
    vi.stubEnv('RUNNER_TEMP', temp);
    try {
      const read = (report: string) => (name: string) =>
        ({ url: 'https://shop.example.com/healthz', 'report-path': report })[name] ?? '';
      expect(getInputs({ read: read('out/gate.json'), workspace }).settings.reportPath).toBe(
        join(workspace, 'out/gate.json'),
      );
      expect(getInputs({ read: read(join(temp, 'gate.json')), workspace }).settings.reportPath).toBe(
        join(temp, 'gate.json'),
      );
      for (const outside of ['../../../../tmp/x.json', '/etc/cron.d/x']) {
        try {
          getInputs({ read: read(outside), workspace });
          expect.unreachable();
        } catch (error) {
          expect(error).toBeInstanceOf(InputError);
          expect((error as InputError).problems.map((p) => p.input)).toEqual(['report-path']);
          expect((error as Error).message).toContain(`or RUNNER_TEMP (${temp})`);
        }
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
