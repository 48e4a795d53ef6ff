import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { actionDefaultsHidingConfig } from '@cd-actions/core/config/config';
import type { InputSpecMap } from '@cd-actions/core/inputs/inputs';

const root = resolve(import.meta.dirname, '../..');
const actions = readdirSync(join(root, 'actions'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join(root, 'actions', e.name, 'action.yml')))
  .map((e) => e.name);

interface ActionYml {
  runs: { using: string; main: string };
  inputs?: Record<string, { default?: string }>;
  outputs?: Record<string, unknown>;
}

describe.each(actions)('actions/%s', (name) => {
  const text = readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8');
  const yml = parse(text) as ActionYml;

  it('runs on node24 from its committed bundle', () => {
    expect(yml.runs.using).toBe('node24');
    expect(yml.runs.main).toBe(`../../dist/${name}/index.js`);
    expect(existsSync(join(root, 'dist', name, 'index.js'))).toBe(true);
  });

  it('declares exactly the inputs its spec reads, with no action.yml default hiding the config file', async () => {
    const module = (await import(join(root, 'actions', name, 'src', 'inputs.ts'))) as { spec?: InputSpecMap };
    expect(module.spec, `actions/${name}/src/inputs.ts exports spec`).toBeDefined();
    expect(Object.keys(yml.inputs ?? {}).sort()).toEqual(Object.keys(module.spec!).sort());
    expect(actionDefaultsHidingConfig(module.spec!, text)).toEqual([]);
  });

  it('has a README', () => {
    expect(existsSync(join(root, 'actions', name, 'README.md'))).toBe(true);
  });
});
