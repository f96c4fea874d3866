import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Compiles dist/ once, so worker_threads tests import the real package entry.
    globalSetup: ['test/global-setup.ts'],
    // Each test file in its own process: a native fault fails one file, not the run.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // test/*.test-d.ts: type tests of the public declarations, checked by tsc (never run).
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
  },
});
