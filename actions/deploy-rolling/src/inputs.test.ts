import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '@cd-actions/core/inputs/inputs';
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
