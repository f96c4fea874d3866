import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file in its own process: a native fault fails one file, not the run.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
