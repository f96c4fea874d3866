// One workload in its own process: builds every backend/peer case, checks each output against
// ours, then times the cases interleaved round by round (the order rotates every round) and
// writes <dir>/result.json. Progress goes to stderr, one line per case and round.
// GEMM workloads are then timed once more, paired: mha-native's baseline call and each peer
// that can serve bursts (OpenBLAS with its widest kernels) take turns in bursts of about
// PAIR_BURST_SECONDS (each started as soon as the other runtime's threads went idle), and each
// pair gives the ratio of the two bursts' median call times. A shared machine changes speed from
// one second to the next; two bursts a fraction of a second apart see nearly the same machine,
// so the median of these ratios holds still where the round medians do not.
// Usage: node case-worker.mjs <dir>/job.json            (the workload)
//        node case-worker.mjs <dir>/job.json <caseId>   (peak RSS growth of one call, fresh process)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { peakRssGrowth } from './memory.mjs';
import { openblasCases } from './peers/openblas.mjs';
import { ortCases } from './peers/ort.mjs';
import { nativeCases, referenceCases } from './peers/ours.mjs';
import { torchCases } from './peers/torch.mjs';
import { relativeL2, summarize } from './stats.mjs';
import { burstMedian, settle, timeSync } from './timing.mjs';
import { makeInputs, readInputs, workCount } from './workloads.mjs';

const CHECK_TOLERANCE = 1e-4; // rel L2 between float32 implementations; above it a peer "differs"
const PAIR_BURST_SECONDS = 0.02;
const PAIRED_SECONDS_PER_ROUND_TIME = 10; // paired timing per peer: 10 x the profile's time per case and round

const jobFile = process.argv[2];
const memoryCaseId = process.argv[3];
const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
const w = job.workload;
const progress = (msg) => process.stderr.write(`[${job.id}] ${msg}\n`);

let modulePromise;
const loadModule = () => {
  modulePromise ??= import(pathToFileURL(job.distEntry).href).then((mod) => {
    try {
      mod.setNumThreads(job.threads);
    } catch { /* no addon: the native cases fail with the loader's error, the reference still runs */ }
    return mod;
  });
  return modulePromise;
};

function buildCases(inputs) {
  const ctx = { loadModule, threads: job.threads, modelsDir: job.modelsDir, python: job.python,
    dir: job.dir, probes: job.probes };
  return [nativeCases, referenceCases, ortCases, torchCases, openblasCases].flatMap((f) => f(w, inputs, ctx));
}

/** Reference speed from a small problem of the same kind, to decide whether it fits the budget. */
async function estimateReferenceSeconds(calls) {
  const small = w.kind === 'gemm' ? { ...w, batch: w.batch && 1, M: 96, N: 96, K: 96 }
    : w.kind === 'decode' ? { ...w, B: 1, S: 64 }
      : { ...w, B: 1, L: Math.min(w.L, 16), S: Math.min(w.S, 16), padKeys: Math.min(w.padKeys ?? 0, 4) };
  const [probe] = referenceCases(small, makeInputs(small), { loadModule });
  await probe.setup();
  const seconds = Math.min(...timeSync(() => probe.runOnce(), { maxTime: 0.05, minSamples: 2 }));
  const rate = workCount(small).flops / seconds;
  return { seconds: (workCount(w).flops / rate) * calls, gflops: rate / 1e9 };
}

async function prepare(cases) {
  const outputs = new Map();
  for (const c of cases) {
    if (c.inapplicable) { c.status = 'n/a'; c.reason = c.inapplicable; continue; }
    if (c.unavailable) { c.status = 'missing'; c.reason = c.unavailable; continue; }
    try {
      if (c.slow) {
        const calls = 1 + job.profile.rounds * 2; // the check, then per round benchmark.js's warm-up + 1 sample
        const est = await estimateReferenceSeconds(calls);
        c.estimate = est;
        if (est.seconds > job.profile.referenceLimitSeconds) {
          c.status = 'skipped';
          c.reason = `estimated ${est.seconds.toFixed(0)} s for ${calls} calls at ${est.gflops.toFixed(2)} GFLOP/s `
            + `(limit ${job.profile.referenceLimitSeconds} s)`;
          progress(`${c.peer} ${c.variant}: skipped, ${c.reason}`);
          continue;
        }
      }
      await c.setup();
      const t0 = performance.now();
      outputs.set(c, Float32Array.from(await c.check()));
      c.firstCallSeconds ??= (performance.now() - t0) / 1e3; // out-of-process peers report their own
      c.status = 'ok';
    } catch (e) {
      c.status = c.unavailable ? 'missing' : 'failed';
      c.reason = c.unavailable ?? `${e.message.split('\n')[0]}`;
      progress(`${c.peer} ${c.variant}: ${c.status}: ${c.reason}`);
    }
  }
  const baseline = cases.find((c) => c.baseline && c.status === 'ok') ?? cases.find((c) => c.status === 'ok');
  if (!baseline) return;
  // the baseline itself is checked against the reference (float64 accumulation) when that ran
  const reference = cases.find((c) => c.peer === 'reference' && c.status === 'ok');
  for (const [c, out] of outputs) {
    const against = c === baseline ? reference : baseline;
    if (c.expected) { // a case doing other work than the workload's brings its own expected output
      const { label, output } = await c.expected();
      c.checkedAgainst = label;
      c.relL2 = relativeL2(out, output);
    } else {
      if (!against || against === c) continue;
      c.checkedAgainst = `${against.peer} ${against.variant}`;
      c.relL2 = relativeL2(out, outputs.get(against));
    }
    if (!(c.relL2 <= CHECK_TOLERANCE)) {
      c.status = 'failed';
      c.reason = `output differs from ${c.checkedAgainst}: rel L2 ${c.relL2.toExponential(2)}`;
    }
    progress(`check ${c.peer} ${c.variant}: rel L2 ${c.relL2.toExponential(2)} vs ${c.checkedAgainst}${c.status === 'ok' ? '' : ' FAILED'}`);
  }
}

async function measureRounds(cases) {
  const live = cases.filter((c) => c.status === 'ok');
  for (const c of live) c.samples = [];
  const budget = { maxTime: job.profile.maxTime, minSamples: job.profile.minSamples };
  for (let round = 0; round < job.profile.rounds; round++) {
    const order = live.map((_, i) => live[(i + round) % live.length]);
    for (const c of order) {
      if (c.status !== 'ok') continue;
      try {
        // a case whose first call took longer than the sampling budget gets one sample a round
        const slow = c.firstCallSeconds > budget.maxTime;
        const samples = await c.measure(slow ? { maxTime: 0, minSamples: 1 } : budget);
        c.samples.push(...samples);
        const med = summarize(samples).median * 1e3;
        progress(`round ${round + 1}/${job.profile.rounds} ${c.peer} ${c.variant}: ${med.toFixed(3)} ms (n=${samples.length})`);
      } catch (e) {
        c.status = 'failed';
        c.reason = `while timing: ${e.message.split('\n')[0]}`;
        progress(`${c.peer} ${c.variant}: failed: ${c.reason}`);
      }
      settle(peerPids(live)); // the next case gets idle cores, not the spinning threads of this one
    }
  }
}

/** The processes of out-of-process peers that outlive a measurement (PyTorch's python). */
const peerPids = (cases) => cases.flatMap((c) => c.pid?.() ?? []);

/** Paired timing (GEMM workloads): the baseline and each serving peer in alternating bursts;
 * sets peer.paired = { against, burstSeconds, ratio: summarize() of t_peer / t_baseline per pair }. */
async function measurePaired(cases) {
  const baseline = cases.find((c) => c.baseline && c.status === 'ok');
  if (!baseline) return;
  const seconds = job.profile.maxTime * PAIRED_SECONDS_PER_ROUND_TIME;
  for (const c of cases.filter((x) => x.serve && x.status === 'ok')) {
    let server;
    try {
      server = await c.serve();
      const pids = [...peerPids(cases), server.pid];
      const ours = () => {
        const t = burstMedian(() => baseline.runOnce(), PAIR_BURST_SECONDS);
        settle(pids);
        return t;
      };
      const peer = async () => {
        const t = await server.burst(PAIR_BURST_SECONDS);
        settle(pids);
        return t;
      };
      const ratios = [];
      const start = performance.now();
      settle(pids);
      while (ratios.length < 2 || (performance.now() - start) / 1e3 < seconds) {
        if (ratios.length % 2 === 0) { // the order alternates from pair to pair
          const t = ours();
          ratios.push((await peer()) / t);
        } else {
          const t = await peer();
          ratios.push(t / ours());
        }
      }
      c.paired = { against: `${baseline.peer} ${baseline.variant}`, burstSeconds: PAIR_BURST_SECONDS, ratio: summarize(ratios) };
      progress(`paired ${c.peer} ${c.variant}: t_peer / t_ours median ${c.paired.ratio.median.toFixed(3)} over ${ratios.length} pairs`);
    } catch (e) {
      c.pairedError = e.message.split('\n')[0];
      progress(`paired ${c.peer} ${c.variant}: failed: ${c.pairedError}`);
    } finally {
      server?.close();
    }
  }
}

/** Peak RSS growth of each case's first call, each in a fresh process. */
async function measureMemory(cases) {
  for (const c of cases.filter((x) => x.status === 'ok')) {
    try {
      if (c.memory) {
        c.peakRssGrowthBytes = await c.memory();
      } else {
        const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), jobFile, c.id], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr.match(/worker error: (.*)/)?.[1] ?? `exit ${r.status}`);
        c.peakRssGrowthBytes = JSON.parse(r.stdout).growthBytes;
      }
      progress(`memory ${c.peer} ${c.variant}: peak RSS +${(c.peakRssGrowthBytes / 2 ** 20).toFixed(1)} MiB`);
    } catch (e) {
      c.memoryError = e.message;
      progress(`memory ${c.peer} ${c.variant}: ${e.message}`);
    }
  }
}

async function memoryChild(caseId) {
  const c = buildCases(readInputs(job.dir)).find((x) => x.id === caseId);
  await c.setup();
  const growthBytes = await peakRssGrowth(() => c.runOnce());
  process.stdout.write(`${JSON.stringify({ growthBytes })}\n`);
}

async function main() {
  const inputs = readInputs(job.dir);
  const cases = buildCases(inputs);
  await prepare(cases);
  await measureRounds(cases);
  if (w.kind === 'gemm') await measurePaired(cases);
  if (w.memory) await measureMemory(cases);
  for (const c of cases) await c.close?.();
  const work = workCount(w);
  const result = {
    id: job.id, workload: w, flops: work.flops, bytes: work.bytes,
    cases: cases.map((c) => ({
      id: c.id, peer: c.peer, variant: c.variant, baseline: Boolean(c.baseline), version: c.version,
      status: c.status, reason: c.reason,
      relL2: c.relL2, checkedAgainst: c.checkedAgainst, estimate: c.estimate, work: c.work,
      stats: c.status === 'ok' ? summarize(c.samples) : undefined,
      samples: c.status === 'ok' ? c.samples : undefined,
      peakRssGrowthBytes: c.peakRssGrowthBytes, memoryError: c.memoryError,
      paired: c.paired, pairedError: c.pairedError,
    })),
  };
  fs.writeFileSync(path.join(job.dir, 'result.json'), JSON.stringify(result));
}

(memoryCaseId ? memoryChild(memoryCaseId) : main()).catch((e) => {
  process.stderr.write(`[${job.id}] worker error: ${e.message.split('\n')[0]}\n${e.stack}\n`);
  process.exit(1);
});
