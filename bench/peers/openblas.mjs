// OpenBLAS SGEMM peer (gemm workloads): bench/probes/openblas_sgemm.c, compiled by probes.mjs,
// run once per round with the workload's raw A/B files. Each variant twice: with the core
// OpenBLAS detects by itself (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from the env, as
// shipped), and with its kernels forced to the machine's widest ISA (old OpenBLAS builds detect
// new Xeons as Prescott). Batched workloads add the 'split' variant: the batch divided over the
// threads, each calling a single-threaded cblas_sgemm (how a framework runs many small products).
// The forced-core variants can also run as a server (serve.mjs): one process kept alive that
// times a burst of calls per request, for the worker's paired timing against mha-native.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { serveBursts } from '../serve.mjs';

/** The OpenBLAS core name of the machine's widest ISA (for OPENBLAS_CORETYPE). */
export function widestOpenblasCore(isa) {
  return isa === 'avx512' ? 'SkylakeX' : 'Haswell';
}

function sgemmEnv(threads, coretype) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (coretype) env.OPENBLAS_CORETYPE = coretype;
  return env;
}

/** How the probe runs the batch: one product after another on OpenBLAS's threads, or split. */
const MODES = {
  loop: { suffix: '', variant: (w) => (w.batch ? `cblas_sgemm ×${w.batch} in a loop, OpenBLAS threads` : 'cblas_sgemm') },
  split: { suffix: '-split', variant: (w, threads) => `batch split over ${threads} threads, single-threaded cblas_sgemm` },
};

/** OpenBLAS cases of an SGEMM workload; 'missing' when the probe did not compile (no libopenblas). */
export function openblasCases(w, _inputs, { threads, dir, probes }) {
  if (w.kind !== 'gemm') return [];
  const forced = widestOpenblasCore(probes.isa);
  const modes = w.batch ? ['loop', 'split'] : ['loop'];
  return modes.flatMap((mode) => [undefined, forced].map((coretype) => {
    const id = `openblas${MODES[mode].suffix}${coretype ? '-forced' : ''}`;
    const fields = { id, peer: 'openblas',
      variant: `${MODES[mode].variant(w, threads)}, ${coretype ? `OPENBLAS_CORETYPE=${coretype}` : 'core auto-detected'}` };
    if (!probes.openblas) return { ...fields, unavailable: `not installed: ${probes.openblasError}` };
    const out = path.join(dir, `${id}-c.f32`);
    const args = (maxTime, minSamples) => [w.batch ?? 1, w.M, w.N, w.K, threads, mode, maxTime, minSamples,
      path.join(dir, 'a.f32'), path.join(dir, 'b.f32'), out].map(String);
    const run = (maxTime, minSamples) => {
      const r = spawnSync(probes.openblas, args(maxTime, minSamples), { encoding: 'utf8', env: sgemmEnv(threads, coretype) });
      if (r.status !== 0) throw new Error(`openblas_sgemm exited ${r.status}: ${r.stderr.trim()}`);
      return JSON.parse(r.stdout);
    };
    return {
      ...fields,
      // OpenBLAS runs as shipped, OPENBLAS_THREAD_TIMEOUT included: its threads keep spinning
      // after a burst, which the worker waits out (settle) before the next burst. A shorter
      // timeout would end the spinning sooner but slows OpenBLAS's own calls, so the peer would
      // no longer be OpenBLAS as users run it.
      ...(coretype ? { serve: () => serveBursts(probes.openblas, args('serve', 1), sgemmEnv(threads, coretype)) } : {}),
      async setup() {
        const first = run(0, 1);
        this.version = first.config;
        this.firstCallSeconds = first.samples[0];
      },
      async check() {
        const bytes = fs.readFileSync(out);
        return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      },
      async measure({ maxTime, minSamples }) { return run(maxTime, minSamples).samples; },
    };
  }));
}

