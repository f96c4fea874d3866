// Memory soak: many forward / forwardAsync calls of W4 (B=1, L=S=32, E=256, H=4) and W1
// (B=8, L=S=128, E=768, H=12, key padding), RSS at start, after a warm-up (10% of every phase,
// at least 3 rounds of concurrent forwardAsync calls, so allocator arenas reach their peak) and
// at the end. Passes (exit 0) when RSS grows by less than 5% after the warm-up.
//   node bench/soak/leak.mjs [--quick]     (--quick: a tenth of the calls; needs dist/ and the addon)
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { machine, mib, workload } from './workloads.mjs';

if (typeof globalThis.gc !== 'function') { // re-run with --expose-gc so every reading follows a full GC
  const { status } = spawnSync(process.execPath, ['--expose-gc', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(status ?? 1);
}

const quick = process.argv.includes('--quick');
const scale = quick ? 0.1 : 1;
const TARGET_GROWTH = 0.05;
const CONCURRENCY = 8; // forwardAsync calls in flight

const W4 = workload('W4');
const W1 = workload('W1');
const phases = [
  { w: W4, mode: 'forward', calls: 100_000 * scale },
  { w: W4, mode: 'forwardAsync', calls: 20_000 * scale },
  { w: W1, mode: 'forward', calls: 1_000 * scale },
  { w: W1, mode: 'forwardAsync', calls: 200 * scale },
];

async function run({ w, mode }, calls) {
  const { mha, args } = w;
  if (mode === 'forward') {
    for (let i = 0; i < calls; i++) mha.forward(...args);
    return;
  }
  for (let done = 0; done < calls; done += CONCURRENCY) {
    const n = Math.min(CONCURRENCY, calls - done);
    await Promise.all(Array.from({ length: n }, () => mha.forwardAsync(...args)));
  }
}

/** Memory after full GCs, with time between them for freed ArrayBuffer backing stores to be released. */
async function memory() {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await sleep(100);
  }
  return process.memoryUsage();
}

function line(label, m) {
  console.log(`${label.padEnd(16)} rss ${mib(m.rss).padStart(10)}  heapUsed ${mib(m.heapUsed).padStart(9)}  ` +
    `arrayBuffers ${mib(m.arrayBuffers).padStart(9)}`);
}

console.log(machine());
const t0 = performance.now();
const start = await memory();
line('start', start);
const warmUpCalls = (phase) => Math.max(Math.round(phase.calls * 0.1), phase.mode === 'forwardAsync' ? 3 * CONCURRENCY : 1);
for (const phase of phases) await run(phase, warmUpCalls(phase));
const warm = await memory();
line('after warm-up', warm);
for (const phase of phases) {
  const t = performance.now();
  await run(phase, Math.round(phase.calls * 0.9));
  const ms = performance.now() - t;
  line(`${phase.w.name} ${phase.mode}`, await memory());
  console.log(`${''.padEnd(16)} ${Math.round(phase.calls * 0.9)} calls, ${(ms / (phase.calls * 0.9)).toFixed(3)} ms/call`);
}
const end = await memory();
line('end', end);
const growth = (end.rss - warm.rss) / warm.rss;
const ok = growth < TARGET_GROWTH;
console.log(`RSS growth after warm-up: ${(growth * 100).toFixed(2)}% (target < ${TARGET_GROWTH * 100}%) -> ${ok ? 'PASS' : 'FAIL'}` +
  `  [${quick ? 'quick, ' : ''}${((performance.now() - t0) / 1000).toFixed(1)} s]`);
process.exit(ok ? 0 : 1);
