// The native runtime: the kernel set chosen at load and the addon's own thread pool.
import { addon } from './addon.js';
import type { Bf16Path } from './backend.js';
import { checkPositiveInteger } from './validate.js';

/** Upper bound accepted by setNumThreads (a guard against runaway thread creation). */
export const MAX_THREADS = 1024;

/** The kernel set chosen at load ("avx512", "avx2", "neon" or "scalar"), the bfloat16 path, the
 * pool size and the version. */
export function nativeInfo(): { isa: string; bf16: Bf16Path; threads: number; version: string } {
  return addon().nativeInfo();
}

/** Resizes the addon's thread pool (shared by every worker); n is an integer in [1, MAX_THREADS]. */
export function setNumThreads(n: number): void {
  const threads = checkPositiveInteger('n', n, MAX_THREADS);
  addon().setNumThreads(threads);
}

export function getNumThreads(): number {
  return addon().getNumThreads();
}
