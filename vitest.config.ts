import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/**/*.test.ts', 'actions/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // One file at a time: e2e files each start a sandbox with live traffic, and the zero-failed-request
    // checks must not compete for the two cores with another file's sandbox.
    maxWorkers: 1,
    pool: 'forks',
  },
});
