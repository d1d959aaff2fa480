import { defineConfig } from 'vitest/config';

/**
 * Four tiers, each named in the output: unit (one module or a few, in-memory fakes allowed),
 * property (fast-check over the pure core, and the concurrency model racing the handlers over an
 * in-memory table that passes the store contract), integration (DynamoDB Local, the real Java
 * emulator; local kube-apiservers; osls packaging), e2e (the whole local stack against real
 * kube-apiservers and unmodified client-go candidates; `npm test` runs it after the others, two files at once).
 */
export default defineConfig({
  test: {
    reporters: ['verbose'],
    // Two cores: integration files each start their own DynamoDB Local JVM, two at a time at most.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // fast-check runs are CPU-bound: a budget for a busy 2-core machine, not a speed check.
      { test: { name: 'property', include: ['test/property/**/*.test.ts'], testTimeout: 120_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
