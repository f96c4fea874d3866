// Where one layer call's time goes: runs a workload's forward in a loop under `perf record`
// (Linux perf, sampling every thread of the process) and sorts the samples of the loop into
// the parts of a call: JavaScript validation and result allocation, N-API argument
// unwrapping, allocation and page faults, the thread pool (hand-over and polling), packing,
// and the kernels. Prints the loop's wall time per call, its CPU time per call (all threads),
// and each part's share of the samples and of that CPU time.
//   node bench/soak/profile-call.mjs [W4|W1] [--out] [--threads N] [--calls N]
// Needs `perf` (Debian linux-perf) and a kernel that lets it sample (perf_event_paranoid).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const name = args.find((a) => /^W\d$/.test(a)) ?? 'W4';
const calls = Number(value('--calls', name === 'W4' ? 20000 : 300));
const threads = value('--threads', String(os.availableParallelism()));
const here = path.dirname(fileURLToPath(import.meta.url));

// The loop that perf samples: `calls` forwards after a warm-up, timed with the wall clock.
const loop = `
import { setNumThreads } from ${JSON.stringify(path.join(here, '../../dist/index.js'))};
import { workload } from ${JSON.stringify(path.join(here, 'workloads.mjs'))};
setNumThreads(${Number(threads)});
const { mha, args } = workload(${JSON.stringify(name)});
const [q, k, v, options] = args;
const out = ${flag('--out') ? 'new Float32Array(q.data.length)' : 'undefined'};
const call = () => mha.forward(q, k, v, out ? { ...options, out } : options);
for (let i = 0; i < ${Math.ceil(calls / 10)}; i++) call();
const cpu0 = process.cpuUsage(), t0 = process.hrtime.bigint();
for (let i = 0; i < ${calls}; i++) call();
const wall = Number(process.hrtime.bigint() - t0) / ${calls} / 1e3, cpu = process.cpuUsage(cpu0);
console.log(wall, (cpu.user + cpu.system) / ${calls});
`;

// Each sample is sorted by its call stack, from the innermost frame out: page faults count as
// allocation wherever they strike; other kernel frames, and memset / memcpy / sched_yield, take
// the part of their caller (a memset zeroing a GEMM tile is kernel work, one zeroing a new
// array is allocation); the first frame that matches a part below decides.
const PAGE_FAULT = /page_fault|handle_mm_fault|clear_page|alloc_pages|do_anonymous_page/;
const PASS_THROUGH = /^(__)?(memset|memcpy|memmove)|^syscall|^__GI_/;
const PARTS = [
  // (sched_yield and the clock are the pool's polling: nothing else in the loop calls them)
  ['thread pool', /parallel_for|Pool::|spin_until|worker_loop|run_chunks|sched_yield|steady_clock|clock_gettime|pthread_cond|futex|std::thread/],
  ['kernels', /sgemm|tile<|mask_max_row|exp_sum_row|scale_row|scores<|dots<|\bpv<|run_tile|compute_block|Attention::|mha_rotary|mha_attention|kv_cache_store/],
  ['packing', /pack|transpose/],
  ['allocation and page faults', /malloc|_int_free|^free|calloc|cfree|operator new|operator delete|AllocateExternalBackingStore|BackingStore|mmap|munmap|scratch/],
  ['N-API argument unwrapping', /napi_|Napi::|mha_binding::|v8impl|v8::Object::Get|v8::String::New|Utf8Decoder|InternalizeString|StringTable|LookupIterator|GetProperty|CallApiCallback|FunctionCallbackArguments|JSTypedArray/],
  ['JavaScript (validation, records, results)', /^JS:|Builtins_|v8::internal|Runtime_/],
];

/** The part of the call one sample's stack (innermost frame first, [kernel, symbol] pairs) belongs to. */
function classify(frames) {
  for (const [kernel, symbol] of frames) {
    if (kernel) {
      if (PAGE_FAULT.test(symbol)) return 'allocation and page faults';
      continue;
    }
    if (PASS_THROUGH.test(symbol)) continue;
    for (const [part, re] of PARTS) if (re.test(symbol)) return part;
  }
  return 'other';
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mha-profile-'));
const loopFile = path.join(dir, 'loop.mjs');
fs.writeFileSync(loopFile, loop);
const data = path.join(dir, 'perf.data');
const run = spawnSync('perf', ['record', '-F', '4999', '-g', '-o', data, '--', process.execPath, '--perf-basic-prof', loopFile],
  { cwd: dir, encoding: 'utf8' });
if (run.status !== 0) {
  console.error(`perf record failed (status ${run.status}):\n${run.stderr}`);
  process.exit(1);
}
const [wallUs, cpuUs] = run.stdout.trim().split('\n').pop().split(' ').map(Number);
const script = execFileSync('perf', ['script', '-i', data, '-F', 'ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 });
const totals = new Map();
let sampled = 0;
for (const block of script.split('\n\n')) {
  const frames = [];
  for (const line of block.split('\n')) {
    const m = /^\s*([0-9a-f]+)\s+(.*?)\s*$/.exec(line);
    if (m) frames.push([m[1].length === 16 && m[1].startsWith('ffff'), m[2]]);
  }
  if (frames.length === 0) continue;
  sampled++;
  const part = classify(frames);
  totals.set(part, (totals.get(part) ?? 0) + 1);
}
fs.rmSync(dir, { recursive: true, force: true });

// The samples cover every thread while it runs, so a part's share of them is its share of the
// loop's CPU time (the caller's and the pool threads' together).
console.log(`${name} forward${flag('--out') ? ' into options.out' : ''}, ${threads} threads, ${calls} calls: ` +
  `${wallUs.toFixed(1)} us wall and ${cpuUs.toFixed(1)} us CPU (all threads) per call; ${os.cpus()[0]?.model ?? 'unknown CPU'}`);
console.log(`${'part'.padEnd(44)}share of samples   CPU us per call`);
for (const [part, share] of [...totals].sort((a, b) => b[1] - a[1])) {
  console.log(`${part.padEnd(44)}${`${(100 * share / sampled).toFixed(1)}%`.padStart(16)}   ${(cpuUs * share / sampled).toFixed(1).padStart(15)}`);
}
