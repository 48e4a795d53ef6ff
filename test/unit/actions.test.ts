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

describe('workflows-examples', () => {
  const dir = join(root, 'workflows-examples');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  interface Workflow {
    jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
  }

  it.each(files)('%s uses only inputs the actions declare, and gives the required ones', (file) => {
    const workflow = parse(readFileSync(join(dir, file), 'utf8')) as Workflow;
    const uses = Object.values(workflow.jobs)
      .flatMap((job) => job.steps ?? [])
      .filter((step) => step.uses?.includes('/cd-actions/actions/'));
    for (const step of uses) {
      const name = /\/cd-actions\/actions\/([^@]+)@/.exec(step.uses!)![1]!;
      const yml = parse(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as {
        inputs?: Record<string, { required?: boolean }>;
      };
      const declared = Object.keys(yml.inputs ?? {});
      for (const input of Object.keys(step.with ?? {}))
        expect(declared, `${file}: ${name} input ${input}`).toContain(input);
      for (const [input, spec] of Object.entries(yml.inputs ?? {})) {
        if (spec.required)
          expect(Object.keys(step.with ?? {}), `${file}: ${name} needs ${input}`).toContain(input);
      }
    }
  });
});
