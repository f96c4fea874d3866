// One workload in its own process: builds every backend/peer case, checks each output against
// ours, then times the cases interleaved round by round (the order rotates every round) and
// writes <dir>/result.json. Progress goes to stderr, one line per case and round.
// After each round the main comparisons are also timed paired: two calls take turns in bursts
// of about PAIR_BURST_SECONDS (each started as soon as the other runtime's threads went idle),
// and each pair gives the ratio of the two bursts' median call times. A shared machine changes
// speed from one second to the next; two bursts a fraction of a second apart see nearly the
// same machine, so the median of these ratios holds still where the round medians do not.
// Paired against the workload's baseline: the ONNX Runtime variant with the best median over
// all rounds, paired from the round after which it led (one per group where ORT's variants are
// grouped: W6 padded, and one request at a time; the int8 graphs) and each OpenBLAS variant with the widest kernels (a long-lived process
// serving bursts); against its named counterpart (pairWith): mha-native's unfused paths, against
// the fused ones, the other ways mha-native runs a workload (padded, full causal, reduced
// precision), against the baseline's way; and a case with pairWithOrt (the bfloat16 layer) also
// against each ORT group's best. A workload bound by memory (its call reads `bytes`: W3, W7) also
// has the baseline timed paired against the streaming-read probe (read_bw serve, over the same
// buffer size as the run's probe): the call's rate as a share of the probe's, both seen in
// nearly the same state of the machine.
// A workload with `reduced` (reduced-precision rows) also gets a float64 expectation
// (float64.mjs) before its cases are built: every row's relative L2 error against it.
// Usage: node case-worker.mjs <dir>/job.json            (the workload)
//        node case-worker.mjs <dir>/job.json <caseId>   (peak RSS growth of one call, fresh process)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { float64Expectation } from './float64.mjs';
import { peakRssGrowth } from './memory.mjs';
import { openblasCases } from './peers/openblas.mjs';
import { ortCases } from './peers/ort.mjs';
import { nativeCases, referenceCases } from './peers/ours.mjs';
import { torchCases } from './peers/torch.mjs';
import { relativeL2, summarize } from './stats.mjs';
import { burstMedian, settle, timeSync } from './timing.mjs';
import { serveBursts } from './serve.mjs';
import { makeInputs, prefillWorkCount, readInputs, workCount } from './workloads.mjs';

const CHECK_TOLERANCE = 1e-4; // rel L2 between float32 implementations; above it a peer "differs"
const PAIR_BURST_SECONDS = 0.02;
const PAIRED_SECONDS_PER_ROUND_TIME = 10; // paired timing per pairing: 10 x the profile's time per case and round, over all rounds

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

/** A small problem of w's kind, for the reference's speed. */
function smallWorkload() {
  if (w.kind === 'gemm') return { ...w, batch: w.batch && 1, M: 96, N: 96, K: 96 };
  if (w.kind === 'decode') return { ...w, B: 1, S: 64 };
  if (w.kind === 'ragged') return { ...w, lengths: [12, 4], decode: undefined };
  if (w.kind === 'gqa-decode') return { ...w, B: 1, S: 16, prefillChunk: 16 };
  return { ...w, B: 1, L: Math.min(w.L, 16), S: Math.min(w.S, 16), padKeys: Math.min(w.padKeys ?? 0, 4) };
}

/** Reference speed from a small problem of the same kind, to decide whether it fits the budget:
 * `calls` calls plus, for W7, the cache fill of its setup. Throws (with `unavailable` set when the
 * build lacks a feature the case needs) if the small problem cannot run. */
async function estimateReferenceSeconds(calls) {
  const small = smallWorkload();
  const [probe] = referenceCases(small, makeInputs(small), { loadModule });
  await probe.setup();
  const seconds = Math.min(...timeSync(() => probe.runOnce(), { maxTime: 0.05, minSamples: 2 }));
  const rate = workCount(small).flops / seconds;
  const setupFlops = w.kind === 'gqa-decode' ? prefillWorkCount(w).flops : 0;
  return { seconds: (workCount(w).flops * calls + setupFlops) / rate, gflops: rate / 1e9 };
}

/** The case every other is checked against: the baseline, or without it (not run, failed) the
 * first case that ran and computes the workload's own output (no `work` or `expected` of its
 * own, such as W2w's full causal row). */
const ownsOutput = (c) => c.status === 'ok' && !c.work && !c.expected;
function checkBaseline(cases) {
  return cases.find((c) => c.baseline && c.status === 'ok') ?? cases.find(ownsOutput);
}

/** The float64 output a case is compared with: its own `float64` name, else 'output' for a case
 * computing the workload's output (no `work` or `expected` of its own). */
const float64Name = (c) => c.float64 ?? (!c.work && !c.expected ? 'output' : undefined);

/** Each case's relative L2 error against the workload's float64 expectation (float64.mjs). An
 * output without a float64 route stands in mha-native's float32 one: the baseline's for
 * 'output', the float32 row's own expected output for another name; that row is not compared
 * with itself. */
function compareFloat64(cases, outputs, expectedOutputs, f64, baseline) {
  const stands = {};
  for (const [name, entry] of Object.entries(f64)) {
    if (entry.data) continue;
    const own = cases.find((c) => c.status === 'ok' && c.peer === 'mha-native' && !c.precision && float64Name(c) === name
      && (name === 'output' ? c === baseline : expectedOutputs.has(c)));
    if (own) stands[name] = { case: own, data: name === 'output' ? outputs.get(own) : expectedOutputs.get(own) };
  }
  for (const [c, out] of outputs) {
    const name = float64Name(c);
    const entry = name && f64[name];
    if (!entry) continue;
    const ref = entry.data ?? stands[name]?.data;
    if (!ref || (stands[name]?.case === c && name === 'output')) continue;
    c.relL2f64 = relativeL2(out, ref);
    c.float64Label = entry.label;
    progress(`float64 ${c.peer} ${c.variant}: rel L2 ${c.relL2f64.toExponential(2)} vs ${entry.label}`);
  }
}

async function prepare(cases, f64) {
  const outputs = new Map(), expectedOutputs = new Map();
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
      if (c.limited) { // its rounds, predicted from its first call, must fit the profile's limit
        const calls = job.profile.rounds * 2; // a case slower than maxTime: benchmark.js's warm-up + 1 sample a round
        const seconds = c.firstCallSeconds * calls;
        if (seconds > job.profile.referenceLimitSeconds) {
          c.status = 'skipped';
          c.reason = `first call took ${c.firstCallSeconds.toFixed(1)} s: the rounds' ${calls} calls would take `
            + `${seconds.toFixed(0)} s (limit ${job.profile.referenceLimitSeconds} s)`;
          progress(`${c.peer} ${c.variant}: skipped, ${c.reason}`);
        }
      }
    } catch (e) {
      c.unavailable ??= e.unavailable; // a feature the build lacks, found by the estimate's small problem
      c.status = c.unavailable ? 'missing' : 'failed';
      c.reason = c.unavailable ?? `${e.message.split('\n')[0]}`;
      progress(`${c.peer} ${c.variant}: ${c.status}: ${c.reason}`);
    }
  }
  const baseline = checkBaseline(cases);
  if (!baseline) return;
  // the baseline itself is checked against the reference (float64 accumulation) when that ran
  const reference = cases.find((c) => c.peer === 'reference' && !c.precision && c.status === 'ok');
  for (const [c, out] of outputs) {
    const against = c === baseline ? reference : baseline;
    if (c.expected) { // a case doing other work than the workload's brings its own expected output
      const { label, output } = await c.expected();
      expectedOutputs.set(c, output);
      c.checkedAgainst = label;
      c.relL2 = relativeL2(out, output);
    } else {
      if (!against || against === c) continue;
      c.checkedAgainst = `${against.peer} ${against.variant}`;
      c.relL2 = relativeL2(out, outputs.get(against));
    }
    // a reduced-precision row has its own tolerance (API.md's bound for its precision)
    const tolerance = c.tolerance ?? CHECK_TOLERANCE;
    if (!(c.relL2 <= tolerance)) {
      c.status = 'failed';
      c.reason = `output differs from ${c.checkedAgainst}: rel L2 ${c.relL2.toExponential(2)}`
        + `${c.tolerance ? ` (above ${c.tolerance} for ${c.precision})` : ''}`;
    }
    progress(`check ${c.peer} ${c.variant}: rel L2 ${c.relL2.toExponential(2)} vs ${c.checkedAgainst}${c.status === 'failed' ? ' FAILED' : ''}`);
  }
  if (f64) compareFloat64(cases, outputs, expectedOutputs, f64, baseline);
}

async function measureRounds(cases, readProbe) {
  const live = cases.filter((c) => c.status === 'ok' && !c.untimed);
  for (const c of live) c.samples = [];
  const budget = { maxTime: job.profile.maxTime, minSamples: job.profile.minSamples };
  const paired = pairedTiming(cases, readProbe);
  const pairSeconds = (job.profile.maxTime * PAIRED_SECONDS_PER_ROUND_TIME) / job.profile.rounds;
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
    await paired.round(pairSeconds);
  }
  paired.finish();
}

/** The streaming-read probe as a served peer of a workload bound by memory (paired with the
 * baseline only; not a row of the tables): its `bytes` are those of one pass. */
function readProbeCase(bytes) {
  if (!bytes || !job.probes.readBw) return undefined;
  const probe = { id: 'read-probe', peer: 'read probe', status: 'ok',
    variant: `streaming read of ${job.probes.readMiB} MiB, ${job.threads} threads`,
    async serve() {
      const server = await serveBursts(job.probes.readBw, [job.threads, job.probes.readMiB, 'serve'].map(String));
      probe.bytes = server.ready.bytes;
      return server;
    } };
  return probe;
}

/** The processes of out-of-process peers that outlive a measurement (PyTorch's python). */
const peerPids = (cases) => cases.flatMap((c) => c.pid?.() ?? []);

/** The ONNX Runtime variant with the best round median so far, per group (variants without a
 * group form one). */
function ortBestPerGroup(ok) {
  const best = new Map();
  for (const c of ok.filter((x) => x.peer === 'onnxruntime')) {
    const other = best.get(c.group);
    if (!other || summarize(c.samples).median < summarize(other.samples).median) best.set(c.group, c);
  }
  return [...best.values()];
}

/** The paired comparisons of a workload: [case, the case it is timed against] (the ONNX
 * Runtime variants by the round medians so far). */
function pairings(cases, readProbe) {
  const ok = cases.filter((c) => c.status === 'ok');
  // mha-native's main call; when it cannot run (a build without a feature it needs), the
  // mha-native case the outputs were checked against (W6: the padded forward)
  const baseline = ok.find((c) => c.baseline) ?? ok.find((c) => c.peer === 'mha-native' && ownsOutput(c));
  const list = [];
  if (baseline) {
    for (const ortBest of ortBestPerGroup(ok)) list.push([ortBest, baseline]);
    for (const c of ok.filter((x) => x.serve)) list.push([c, baseline]);
    if (readProbe) list.push([readProbe, baseline]);
  }
  for (const c of ok.filter((x) => x.pairWith)) {
    const against = ok.find((x) => x.id === c.pairWith);
    if (against) list.push([c, against]);
  }
  for (const c of ok.filter((x) => x.pairWithOrt)) {
    for (const ortBest of ortBestPerGroup(ok)) list.push([c, ortBest, 'ort']);
  }
  return list;
}

const pairKey = (c, against) => `${c.id} / ${against.id}`;

/** Paired timing, spread over the rounds (the machine's slow and fast stretches last seconds):
 * after each round, each pairing runs alternating bursts for its share of the time. The
 * pairings are those of pairings() after every round so far: an ONNX Runtime variant that
 * becomes its group's fastest in a later round is paired from then on. finish() keeps the
 * pairings with each group's fastest over all rounds and sets c.paired = { against,
 * burstSeconds, ratio: summarize() of t_c / t_against per pair }, and for the pairings with
 * ORT's group bests (pairWithOrt) c.pairedOrt = [{ against, group, precision, burstSeconds,
 * ratio }]. */
function pairedTiming(cases, readProbe) {
  const list = [];
  const servers = new Map(), ratios = new Map();
  const pair = async (c, against, seconds) => {
    if (c.serve && !servers.has(c)) servers.set(c, await c.serve());
    const server = servers.get(c);
    const pids = [...peerPids(cases), ...(server ? [server.pid] : [])];
    const timed = async (burst) => {
      const t = await burst();
      settle(pids);
      return t;
    };
    const mine = () => timed(() => (server ? server.burst(PAIR_BURST_SECONDS) : burstMedian(() => c.runOnce(), PAIR_BURST_SECONDS)));
    const theirs = () => timed(() => burstMedian(() => against.runOnce(), PAIR_BURST_SECONDS));
    const key = pairKey(c, against);
    const r = ratios.get(key) ?? [];
    ratios.set(key, r);
    settle(pids);
    const start = performance.now();
    do { // the order alternates from pair to pair
      if (r.length % 2 === 0) {
        const t = await theirs();
        r.push((await mine()) / t);
      } else {
        const t = await mine();
        r.push(t / (await theirs()));
      }
    } while ((performance.now() - start) / 1e3 < seconds);
  };
  return {
    async round(seconds) {
      for (const p of pairings(cases, readProbe))
        if (!list.some(([c, against]) => c === p[0] && against === p[1])) list.push(p);
      for (const [c, against] of list) {
        if (c.status !== 'ok' || against.status !== 'ok' || c.pairedError) continue;
        try {
          await pair(c, against, seconds);
        } catch (e) {
          c.pairedError = e.message.split('\n')[0];
          progress(`paired ${c.peer} ${c.variant}: failed: ${c.pairedError}`);
        }
      }
    },
    finish() {
      for (const server of servers.values()) server.close();
      const final = pairings(cases, readProbe);
      for (const [c, against, kind] of list.filter(([c, a]) => final.some(([fc, fa]) => fc === c && fa === a))) {
        const r = ratios.get(pairKey(c, against));
        if (c.pairedError || !r?.length) continue;
        const paired = { against: `${against.peer} ${against.variant}`, burstSeconds: PAIR_BURST_SECONDS, ratio: summarize(r) };
        if (kind === 'ort') (c.pairedOrt ??= []).push({ ...paired, group: against.group, precision: against.precision });
        else c.paired = paired;
        progress(`paired ${c.peer} ${c.variant} / ${against.peer} ${against.variant}: median `
          + `${paired.ratio.median.toFixed(3)} over ${r.length} pairs`);
      }
    },
  };
}

/** Peak RSS growth of each case's first call, each in a fresh process. */
async function measureMemory(cases) {
  for (const c of cases.filter((x) => x.status === 'ok' && !x.untimed)) {
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
  const f64 = w.reduced ? float64Expectation(w, inputs, { python: job.python, dir: job.dir, threads: job.threads,
    isa: job.probes.isa, limitSeconds: job.profile.referenceLimitSeconds, log: progress }) : undefined;
  const cases = buildCases(inputs);
  const work = workCount(w);
  const readProbe = readProbeCase(work.bytes);
  await prepare(cases, f64);
  await measureRounds(cases, readProbe);
  if (w.memory) await measureMemory(cases);
  for (const c of cases) await c.close?.();
  const result = {
    id: job.id, workload: w, flops: work.flops, bytes: work.bytes, bytesLabel: work.bytesLabel, tokens: work.tokens,
    readProbe: readProbe?.paired && { variant: readProbe.variant, bytes: readProbe.bytes, paired: readProbe.paired },
    readProbeError: readProbe?.pairedError,
    float64: f64 && Object.fromEntries(Object.entries(f64).map(([name, e]) => [name, e.label])),
    cases: cases.map((c) => ({
      id: c.id, peer: c.peer, variant: c.variant, group: c.group, precision: c.precision, baseline: Boolean(c.baseline),
      version: c.version, status: c.status, reason: c.reason, untimed: c.untimed,
      relL2: c.relL2, checkedAgainst: c.checkedAgainst, relL2f64: c.relL2f64, float64Label: c.float64Label,
      estimate: c.estimate, work: c.work, bytes: c.bytes,
      stats: c.status === 'ok' && !c.untimed ? summarize(c.samples) : undefined,
      samples: c.status === 'ok' && !c.untimed ? c.samples : undefined,
      peakRssGrowthBytes: c.peakRssGrowthBytes, memoryError: c.memoryError,
      paired: c.paired, pairedOrt: c.pairedOrt, pairedError: c.pairedError,
    })),
  };
  fs.writeFileSync(path.join(job.dir, 'result.json'), JSON.stringify(result));
}

(memoryCaseId ? memoryChild(memoryCaseId) : main()).catch((e) => {
  process.stderr.write(`[${job.id}] worker error: ${e.message.split('\n')[0]}\n${e.stack}\n`);
  process.exit(1);
});
