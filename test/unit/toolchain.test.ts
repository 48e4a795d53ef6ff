import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');

describe('toolchain', () => {
  it('runs the tests on Node 24, the runtime GitHub uses for node24 actions', () => {
    expect(process.versions.node.split('.')[0]).toBe('24');
  });

  it('pins .node-version to 24', () => {
    expect(readFileSync(resolve(root, '.node-version'), 'utf8').trim()).toBe('24');
  });
});
