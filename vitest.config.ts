import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The parity suites run once per kernel set: the default project gets the best one the CPU
// has, and one project per lower set forces it with MHA_NATIVE_ISA (each test file runs in a
// fresh process, so the addon's load-time choice follows the variable).
const PARITY = ['test/parity-native.test.ts', 'test/gemm-edges.test.ts', 'test/parity-torch.test.ts', 'test/property.test.ts',
  'test/kv-cache.test.ts', 'test/isa.test.ts', 'test/reduced-precision.test.ts', 'test/parity-variants.test.ts', 'test/parity-variants-native.test.ts',
  'test/packed-native.test.ts', 'test/kv-cache-native.test.ts'];

function lowerKernelSets(): string[] {
  if (process.arch === 'arm64') return ['scalar'];
  if (process.arch !== 'x64') return [];
  let flags = '';
  try { flags = readFileSync('/proc/cpuinfo', 'utf8'); } catch { /* not Linux: scalar only */ }
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  const sets = ['scalar'];
  if (has('avx512f') && has('avx2') && has('fma')) sets.push('avx2');
  return sets;
}

export default defineConfig({
  test: {
    // Compiles dist/ once, so worker_threads tests import the real package entry.
    globalSetup: ['test/global-setup.ts'],
    // Each test file in its own process: a native fault fails one file, not the run.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'default',
          include: ['test/**/*.test.ts'],
          // test/*.test-d.ts: type tests of the public declarations, checked by tsc (never run).
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
        },
      },
      ...lowerKernelSets().map((isa) => ({
        extends: true as const,
        // MHA_NATIVE_INLINE_FLOPS=0: even tiny jobs go through the thread pool here.
        test: { name: `isa-${isa}`, include: PARITY, env: { MHA_NATIVE_ISA: isa, MHA_NATIVE_INLINE_FLOPS: '0' } },
      })),
    ],
  },
});
