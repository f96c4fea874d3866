// The kernel set the addon chose at load: MHA_NATIVE_ISA (set per vitest project) is obeyed
// when the CPU supports it, and the choice is reported by nativeInfo().
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getNumThreads, nativeInfo } from '../lib/index.js';

const KNOWN = ['scalar', 'avx2', 'avx512', 'neon'];

function bestOnThisCpu(): string {
  if (process.arch === 'arm64') return 'neon';
  if (process.arch !== 'x64') return 'scalar';
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  const has = (f: string) => new RegExp(`\\b${f}\\b`).test(flags);
  if (['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every(has)) return 'avx512';
  if (['avx2', 'fma', 'f16c'].every(has)) return 'avx2';
  return 'scalar';
}

describe('kernel dispatch', () => {
  it('reports the kernel set it runs: the forced one, else the best the CPU has', () => {
    const info = nativeInfo();
    expect(KNOWN).toContain(info.isa);
    const forced = process.env.MHA_NATIVE_ISA;
    expect(info.isa).toBe(forced ?? bestOnThisCpu());
    expect(info.threads).toBe(getNumThreads());
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
