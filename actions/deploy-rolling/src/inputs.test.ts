import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@cd-actions/core/inputs/inputs';
import { verifyGateOf } from '@cd-actions/core/strategies/rolling/gate-inputs';
import { getInputs } from './inputs.js';

const workspace = await mkdtemp(join(tmpdir(), 'rolling-inputs-'));

function errorOf(given: Record<string, string>): InputError {
  try {
    getInputs({ read: (name) => given[name] ?? '', workspace });
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, but the inputs were accepted');
}

describe('deploy-rolling inputs: annotations', () => {
  it('accepts annotation keys with and without a prefix, and values with "="', () => {
    const settings = getInputs({
      read: (name) => (name === 'annotations' ? 'team=payments\nacme.com/ticket=OPS-1=2\na_b.c-d=' : ''),
      workspace,
    });
    expect(settings.annotations).toEqual(['team=payments', 'acme.com/ticket=OPS-1=2', 'a_b.c-d=']);
  });

  it.each([
    ['a space in the key', 'my team=payments'],
    ['an upper-case prefix', 'Acme.com/team=payments'],
    ['a key that ends in "-"', 'team-=payments'],
    ['a name part over 63 characters', `${'x'.repeat(64)}=1`],
    ['no key', '=payments'],
    ['no "="', 'payments'],
  ])('refuses %s, naming the input', (_title, line) => {
    const error = errorOf({ annotations: line });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]!.input).toBe('annotations');
    expect(error.message).toContain('is not valid; expected a list separated by newlines of key=value lines');
    expect(error.message).toContain('an annotation key: an optional DNS prefix');
  });

  it('refuses annotations over the API server’s 256 KiB, without echoing them', () => {
    const raw = `team=payments\nnote=${'x'.repeat(300 * 1024)}`;
    const error = errorOf({ annotations: raw });
    expect(error.message).toBe(
      `Input "annotations" has value ${JSON.stringify(`${raw.slice(0, 100)}…`)}: they add up to 300.0 KiB; expected key=value lines whose keys and values add up to at most 256 KiB (the API server's limit for all of an object's annotations)`,
    );
  });

  it('counts bytes, not characters, and accepts exactly 256 KiB', () => {
    const fits = `k=${'x'.repeat(256 * 1024 - 1)}`;
    expect(
      getInputs({ read: (name) => (name === 'annotations' ? fits : ''), workspace }).annotations,
    ).toHaveLength(1);
    const multiByte = `k=${'é'.repeat(128 * 1024)}`; // 2 bytes each: one byte over with the key
    expect(errorOf({ annotations: multiByte }).problems[0]!.input).toBe('annotations');
  });
});

describe('deploy-rolling inputs: manifests', () => {
  it('refuses manifests outside the workspace before reading them', () => {
    const error = errorOf({ manifests: 'k8s/app.yaml\n../../etc/*.yaml' });
    expect(error.message).toBe(
      `Input "manifests" has value "k8s/app.yaml\\n../../etc/*.yaml": item "../../etc/*.yaml": the path leads out of the workspace (${workspace}) through ".."; expected a list separated by commas or newlines of manifest files or globs, relative to the workspace and inside it`,
    );
  });
});

describe('deploy-rolling inputs: checks after the rollout', () => {
  it('parses every check before connecting: a bad one names the input, the check, the field and the accepted form', () => {
    const error = errorOf({
      checks:
        '- { kind: prometheus, query: "sum(up)", condition: "above 1" }\n- { kind: pods, max-restarts: -1 }',
      'prometheus-url': 'http://prometheus:9090',
    });
    expect(error.problems.map((p) => p.input)).toEqual(['checks']);
    expect(error.message).toMatch(/^Input "checks": check 1.*condition.*"above 1"/m);
    expect(error.message).toMatch(/^Input "checks": check 2.*max-restarts/m);
  });

  it('refuses a prometheus check without a Prometheus URL', () => {
    const error = errorOf({ checks: '- { kind: prometheus, query: "sum(up)", condition: "> 0" }' });
    expect(error.message).toContain('no Prometheus URL');
  });

  it('refuses checks that are not a list', () => {
    expect(errorOf({ checks: 'kind: pods' }).problems[0]!.input).toBe('checks');
  });

  it('takes blue-green’s defaults, and the environment’s gate settings from the deploy config', async () => {
    const defaults = getInputs({ read: () => '', workspace });
    expect(defaults).toMatchObject({ verifyDuration: 60_000, checkInterval: 5_000, onInconclusive: 'fail' });
    expect(verifyGateOf(defaults, 'shop')).toBeUndefined();

    const dir = await mkdtemp(join(tmpdir(), 'rolling-config-'));
    await mkdir(join(dir, '.github'));
    await writeFile(
      join(dir, '.github/deploy.yml'),
      'environments:\n  production:\n    gate:\n      duration: 2m\n      interval: 10s\n      prometheus-url: http://prometheus:9090\n      checks:\n        - { kind: prometheus, template: success-rate, service: web }\n',
    );
    const settings = getInputs({
      read: (name) => (name === 'environment' ? 'production' : ''),
      workspace: dir,
    });
    const gate = verifyGateOf(settings, 'shop');
    expect(gate).toMatchObject({
      durationMs: 120_000,
      intervalMs: 10_000,
      prometheusUrl: 'http://prometheus:9090',
    });
    expect(gate?.checks.map((c) => c.name)).toEqual(['success-rate']);
    expect(gate?.checks[0]).toMatchObject({ target: { namespace: 'shop', service: 'web' } });
  });

  it('an empty list is no gate', () => {
    expect(
      verifyGateOf(getInputs({ read: (n) => (n === 'checks' ? '[]' : ''), workspace }), 'shop'),
    ).toBeUndefined();
  });
});
