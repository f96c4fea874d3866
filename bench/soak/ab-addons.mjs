// Two builds of the addon side by side: times one call of a workload in fresh processes that
// alternate between the two .node files (MHA_NATIVE_BINARY), so that both see the same
// stretches of a shared machine, and prints each process's median and the medians over all.
//   node bench/soak/ab-addons.mjs W1|W4|W7 <a.node> <b.node> [--pairs N] [--calls N]
// W1, W4: the soak scripts' BERT batch and small request (workloads.mjs), forward into
// options.out. W7: one decode step of the grouped-query layer through a float32 KV cache of
// 2048 positions per sequence (RoPE, no biases), the cache truncated back after each step. Inputs are seeded
// random data (workloads.mjs's randomTensor).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);

/** The timed call of a workload, built with the addon this process loaded. */
async function workloadCall(name) {
  const { MultiHeadAttention } = await import(path.join(here, '../../dist/index.js'));
  const { workload, randomTensor } = await import(path.join(here, 'workloads.mjs'));
  if (name === 'W1' || name === 'W4') {
    const { mha, args: [x, , , masks] } = workload(name);
    const options = { ...masks, out: new Float32Array(x.data.length) };
    const [unit, scale] = name === 'W4' ? ['us', 1e3] : ['ms', 1];
    return { unit, scale, call: () => mha.forward(x, x, x, options) };
  }
  if (name === 'W7') {
    const [B, S, E, H, kvHeads, D] = [8, 2048, 2048, 32, 8, 64];
    const kv = kvHeads * D, bound = Math.sqrt(6 / (2 * E));
    const weight = (rows, seed) => randomTensor([rows, E], seed).data.map((w) => w * bound);
    const layer = new MultiHeadAttention({ embedDim: E, numHeads: H, numKvHeads: kvHeads, rotary: { base: 500000 },
      bias: false, weights: { qWeight: weight(E, 1), kWeight: weight(kv, 2), vWeight: weight(kv, 3), outWeight: weight(E, 4) } });
    const cache = layer.createKVCache({ batchSize: B, capacity: S + 1 });
    for (let at = 0; at < S; at += 256) {
      const chunk = randomTensor([B, 256, E], 10 + at);
      layer.forward(chunk, chunk, chunk, { kvCache: cache, isCausal: true });
    }
    const token = randomTensor([B, 1, E], 99);
    const options = { kvCache: cache, isCausal: true };
    return { unit: 'ms', scale: 1, call: () => { layer.forward(token, token, token, options); cache.truncate(S); } };
  }
  throw new RangeError(`unknown workload "${name}" (W1, W4, W7)`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

if (args[0] === '--child') {  // one process: warm up, then time calls one by one
  const { unit, scale, call } = await workloadCall(args[1]);
  const calls = Number(args[2]);
  for (let i = 0; i < Math.ceil(calls / 10); i++) call();
  const times = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    call();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6 * scale);
  }
  console.log(JSON.stringify({ unit, median: median(times) }));
} else {
  const [name, a, b] = args;
  if (!name || !a || !b) throw new TypeError('usage: node bench/soak/ab-addons.mjs W1|W4|W7 <a.node> <b.node> [--pairs N] [--calls N]');
  const pairs = value('--pairs', 4), calls = value('--calls', { W1: 200, W4: 20000 }[name] ?? 300);
  const results = { [a]: [], [b]: [] };
  let unit;
  for (let i = 0; i < pairs; i++) {
    for (const binary of [a, b]) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', name, String(calls)],
        { env: { ...process.env, MHA_NATIVE_BINARY: path.resolve(binary) }, encoding: 'utf8' });
      const r = JSON.parse(out);
      unit = r.unit;
      results[binary].push(r.median);
      console.log(`pair ${i + 1}/${pairs} ${binary}: median ${r.median.toFixed(3)} ${unit}`);
    }
  }
  for (const binary of [a, b]) {
    const xs = results[binary];
    console.log(`${binary}: medians ${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)} ${unit}, median of medians ${median(xs).toFixed(3)}`);
  }
}
