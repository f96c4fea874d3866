// The machine's limits, measured in the same run as the workloads: compiles bench/probes/*.c
// with cc into a temp dir, then runs the FMA-throughput and streaming-read probes on the
// benchmark's thread count. The OpenBLAS SGEMM peer is compiled here too (linked to -lopenblas).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('./probes/', import.meta.url));

function compile(name, outDir, libs = []) {
  const exe = path.join(outDir, name);
  const r = spawnSync('cc', ['-O2', '-pthread', '-I', SRC, path.join(SRC, `${name}.c`), '-o', exe, ...libs],
    { encoding: 'utf8' });
  if (r.error) return { error: `cc not available: ${r.error.message}` };
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').slice(0, 2).join(' ') };
  return { exe };
}

function runJson(exe, args) {
  const r = spawnSync(exe, args.map(String), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(exe)} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/** Compiles the probes into outDir: { fma, readBw, openblas, openblasError }. */
export function compileProbes(outDir) {
  const fma = compile('fma_peak', outDir);
  const readBw = compile('read_bw', outDir);
  const openblas = compile('openblas_sgemm', outDir, ['-lopenblas']);
  if (fma.error || readBw.error) throw new Error(`cannot build the machine probes: ${fma.error ?? readBw.error}`);
  return { fma: fma.exe, readBw: readBw.exe, openblas: openblas.exe, openblasError: openblas.error };
}

/** Runs both probes: { isa, fmaGflops (best trial), fmaMedianGflops (median trial), readGBps, readBytes }. */
export function measurePeaks(probes, threads, readMiB) {
  const fma = runJson(probes.fma, [threads]);
  const bw = runJson(probes.readBw, [threads, readMiB]);
  return { isa: fma.isa, fmaGflops: fma.gflops, fmaMedianGflops: fma.median_gflops, readGBps: bw.gbps, readBytes: bw.bytes };
}
