import { defineConfig } from 'vitest/config';

/**
 * The portable e2e suite alone, for real-cluster mode (`npm run test:cluster`, E2E_KUBECONFIG set):
 * a real cluster is slower than the sandbox, so the limits are wider.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/any-cluster/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    maxWorkers: 1,
    pool: 'forks',
  },
});
