// The two timers every case uses: synchronous calls go through the `benchmark` package
// (plain closures: inputs are built outside, nothing is decompiled); promise-returning calls
// (forwardAsync) through a plain performance.now() loop with the same sampling rules. Both
// return seconds per call, one entry per sample. Also: burstMedian (one side of the GEMM
// workloads' paired timing) and settle (waits out other runtimes' spinning threads).
import fs from 'node:fs';
import Benchmark from 'benchmark';

/** Sync fn: benchmark.js samples until maxTime seconds have passed and minSamples were taken. */
export function timeSync(fn, { maxTime, minSamples }) {
  const bench = new Benchmark({ fn, maxTime, minSamples, async: false });
  bench.run({ async: false });
  if (bench.error) throw bench.error;
  return bench.stats.sample.slice();
}

/** Async fn: batches of calls lasting >= minTime seconds, until maxTime passed and minSamples taken. */
export async function timeAsync(fn, { maxTime, minSamples, minTime = 0.05 }) {
  let batch = 1;
  for (;;) { // calibrate the batch size so one sample is long enough to time
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    if ((performance.now() - t0) / 1e3 >= minTime || batch >= 1 << 20) break;
    batch *= 2;
  }
  const samples = [];
  const start = performance.now();
  while (samples.length < minSamples || (performance.now() - start) / 1e3 < maxTime) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) await fn();
    samples.push((performance.now() - t0) / 1e3 / batch);
  }
  return samples;
}

/** Sync fn called back to back for about `seconds` (at least once), each call timed on its own:
 * the median seconds per call (one side of a paired burst, see case-worker.mjs). */
export function burstMedian(fn, seconds) {
  const samples = [];
  const start = performance.now();
  do {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) / 1e3);
  } while ((performance.now() - start) / 1e3 < seconds);
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

/** Blocks the thread for ms milliseconds. */
function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Seconds that the threads of process `pid` have so far spent running or waiting to run
 * (Linux /proc/<pid>/task/<tid>/schedstat; undefined without it): a spinning thread counts as
 * busy even while other processes keep it off the CPU. */
function demandSeconds(pid) {
  try {
    let ns = 0;
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const [running, waiting] = fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ');
      ns += Number(running) + Number(waiting);
    }
    return ns / 1e9;
  } catch {
    return undefined; // gone, or no /proc
  }
}

function ownCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const SETTLE_WINDOW_MS = 5;
const SETTLE_BUSY_FRACTION = 0.2; // of one CPU over a window
const SETTLE_MAX_MS = 400;

/**
 * Blocks until the runtimes just timed have let their worker threads go idle: this process
 * (its pool threads and in-process peers) and the peer processes `pids` together run (or wait
 * to run) less than a fifth of one CPU over a 5 ms window, or 400 ms have passed. Runtimes such
 * as ONNX Runtime and OpenBLAS keep their threads spinning for a while after a call; a fixed
 * pause shorter than that would leave whichever case runs next sharing the cores with them.
 * Returns the milliseconds waited.
 */
export function settle(pids = []) {
  const used = () => (demandSeconds(process.pid) ?? ownCpuSeconds())
    + pids.reduce((sum, pid) => sum + (demandSeconds(pid) ?? 0), 0);
  const start = performance.now();
  for (;;) {
    const before = used();
    pause(SETTLE_WINDOW_MS);
    const busy = (used() - before) / (SETTLE_WINDOW_MS / 1e3);
    if (busy < SETTLE_BUSY_FRACTION || performance.now() - start > SETTLE_MAX_MS) return performance.now() - start;
  }
}
