// Event-loop responsiveness: perf_hooks.monitorEventLoopDelay (1 ms resolution) while 8
// concurrent callers run W1 (B=8, L=S=128, E=768, H=12, key padding) back to back for a fixed
// time, first with forwardAsync, then with the synchronous forward (each caller yielding with
// setImmediate between calls). Passes (exit 0) when, under forwardAsync, the delay's p99 is
// below 5 ms and its maximum below 20 ms: the JavaScript thread's share of a call (validation,
// the input copy into reused native memory, the result array) must stay small and free of
// first touches of fresh memory and of large frees. Each line also says (Linux) how long the
// JavaScript thread ran and how long it waited on a run queue for a core meanwhile.
//   node bench/soak/event-loop.mjs [--quick] [--threads N]
//   (--quick: 3 s per mode instead of 10 s; --threads: setNumThreads(N) first)
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { setNumThreads } from '../../dist/index.js';
import { machine, workload } from './workloads.mjs';

const SECONDS = process.argv.includes('--quick') ? 3 : 10;
const threadsArg = process.argv.indexOf('--threads');
if (threadsArg > 0) setNumThreads(Number(process.argv[threadsArg + 1]));
const CALLERS = 8;
const TARGET_P99_MS = 5;
const TARGET_MAX_MS = 20;
const { mha, args } = workload('W1');

const callers = {
  forwardAsync: async (until) => { let n = 0; while (Date.now() < until) { await mha.forwardAsync(...args); n++; } return n; },
  forward: async (until) => { let n = 0; while (Date.now() < until) { mha.forward(...args); n++; await nextTurn(); } return n; },
};

/** The JavaScript thread's time running and waiting on a run queue so far, in ms (Linux:
 * /proc/thread-self/schedstat), or undefined elsewhere. */
function schedTimes() {
  try {
    const [run, wait] = fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
    return { run: run / 1e6, wait: wait / 1e6 };
  } catch {
    return undefined;
  }
}

/** Event-loop delay (ms) while fn runs for SECONDS, or while idle when fn is undefined; and
 * how long the JavaScript thread ran and waited for a core meanwhile (Linux). */
async function measure(fn) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const before = schedTimes();
  histogram.enable();
  const until = Date.now() + SECONDS * 1000;
  const counts = fn ? await Promise.all(Array.from({ length: CALLERS }, () => fn(until))) : (await sleep(1000), [0]);
  histogram.disable();
  const after = schedTimes();
  const ms = (ns) => ns / 1e6;
  return {
    calls: counts.reduce((a, b) => a + b, 0), samples: histogram.count,
    ...(before && after && { running: after.run - before.run, waiting: after.wait - before.wait }),
    mean: ms(histogram.mean), p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max),
  };
}

/** The JavaScript thread's share of forwardAsync: how long the call takes to return (the
 * validation, the input copy and the result array), with one call in flight at a time. */
async function syncPart() {
  const times = [];
  const until = Date.now() + SECONDS * 1000;
  while (Date.now() < until) {
    const t0 = process.hrtime.bigint();
    const pending = mha.forwardAsync(...args);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await pending;
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { calls: times.length, p50: at(0.5), p99: at(0.99), max: times[times.length - 1] };
}

function report(label, r, seconds) {
  const rate = seconds ? `  ${(r.calls / seconds).toFixed(1).padStart(6)} calls/s` : ''.padEnd(18);
  const sched = r.running === undefined ? ''
    : `; JavaScript thread ran ${r.running.toFixed(0)} ms, waited for a core ${r.waiting.toFixed(0)} ms`;
  console.log(`${label.padEnd(14)}${rate}  delay p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  ` +
    `max ${r.max.toFixed(2).padStart(8)} ms  (${r.samples} samples${sched})`);
}

console.log(machine());
mha.forward(...args); // load the addon and warm up before measuring
report('idle', await measure(undefined), 0);
const asyncResult = await measure(callers.forwardAsync);
report('forwardAsync', asyncResult, SECONDS);
report('forward', await measure(callers.forward), SECONDS);
const sync = await syncPart();
console.log(`forwardAsync's synchronous part, one call in flight: p50 ${sync.p50.toFixed(3)} ms  p99 ${sync.p99.toFixed(3)} ms  ` +
  `max ${sync.max.toFixed(3)} ms  (${sync.calls} calls)`);
const ok = asyncResult.samples > 0 && asyncResult.p99 < TARGET_P99_MS && asyncResult.max < TARGET_MAX_MS;
console.log(`${CALLERS} concurrent W1 callers, ${SECONDS} s per mode; forwardAsync p99 ${asyncResult.p99.toFixed(2)} ms ` +
  `(target < ${TARGET_P99_MS} ms), max ${asyncResult.max.toFixed(2)} ms (target < ${TARGET_MAX_MS} ms) -> ${ok ? 'PASS' : 'FAIL'}`);
process.exit(ok ? 0 : 1);
