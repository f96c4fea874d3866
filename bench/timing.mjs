// The two timers every case uses. Synchronous calls go through the `benchmark` package
// (plain closures: inputs are built outside, nothing is decompiled); promise-returning calls
// (forwardAsync) through a plain performance.now() loop with the same sampling rules.
// Both return seconds per call, one entry per sample.
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

/** Blocks the thread for ms milliseconds (lets another runtime's spinning workers go idle). */
export function pause(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
