// The benchmark workloads (shared/WORKLOADS.md) and the tiny ones the harness test runs:
// shapes, useful FLOPs and bytes, and the deterministic inputs every backend and peer is fed.
// Kinds: 'layer' (a layer forward; `window` adds a sliding window to its causal mask), 'decode'
// (W3), 'gemm' (with a `batch` field a batched matmul: a [batch,M,K] x b [batch,K,N]), 'ragged'
// (W6: requests of the given `lengths`, self-attention without a mask inside a request, and with
// `decode` a continuous-batching decode step over caches of uneven length) and 'gqa-decode' (W7:
// one decode step of a grouped-query layer with RoPE and no biases, B sequences holding S
// positions each).
// `reduced` (WORKLOADS.md, reduced precision) adds rows in other precisions next to float32, each
// with its error against a float64 evaluation (bench/float64.mjs): `bf16` a layer with dtype
// 'bfloat16'; `int8` ONNX Runtime's int8 dynamic-quantized graphs; `cacheDtypes` the decode step
// through 16-bit KV caches.
import fs from 'node:fs';
import path from 'node:path';

export const WORKLOADS = {
  W1: { kind: 'layer', title: 'BERT-base encoder self-attention', B: 8, L: 128, S: 128, E: 768, H: 12,
    mask: 'keypad', padKeys: 32, self: true, unfused: true, reduced: { bf16: true, int8: true } },
  W2: { kind: 'layer', title: 'long-context decoder self-attention', B: 1, L: 2048, S: 2048, E: 768, H: 12,
    mask: 'causal', self: true, unfused: true, memory: true, reduced: { bf16: true, int8: true } },
  W3: { kind: 'decode', title: 'one decode step against a KV cache', B: 16, S: 1024, E: 768, H: 12,
    reduced: { cacheDtypes: ['float16', 'bfloat16'] } },
  W4: { kind: 'layer', title: 'small request, latency', B: 1, L: 32, S: 32, E: 256, H: 4,
    mask: 'none', self: true },
  W5: { kind: 'layer', title: 'translation decoder cross-attention', B: 8, L: 64, S: 96, E: 512, H: 8,
    mask: 'keypad', padKeys: 16, self: false, reduced: { bf16: true, int8: true } },
  W6: { kind: 'ragged', title: 'embedding service: a ragged batch of 32 requests', E: 768, H: 12,
    lengths: [512, 384, 256, 200, 160, 128, 112, 96, 80, 72, 64, 56, 48, 48, 40, 40, 32, 32, 28, 24, 24, 20,
      16, 16, 16, 12, 12, 10, 8, 8, 6, 4],
    // the continuous-batching decode rows: sequence i holds first + i * step positions
    decode: { sequences: 16, first: 64, step: 64 } },
  W7: { kind: 'gqa-decode', title: 'one decode step of a grouped-query LLM layer (Llama-3.2-1B-like)',
    B: 8, S: 2048, E: 2048, H: 32, kvHeads: 8, ropeBase: 500000, prefillChunk: 256,
    reduced: { cacheDtypes: ['float16'], bf16: true } },
  W2w: { kind: 'layer', title: 'W2 with a sliding window of 256 keys', B: 1, L: 2048, S: 2048, E: 768, H: 12,
    mask: 'causal', window: { left: 256 }, self: true },
  G0: { kind: 'gemm', title: 'SGEMM 256', M: 256, N: 256, K: 256 },
  G1: { kind: 'gemm', title: 'SGEMM 1024', M: 1024, N: 1024, K: 1024 },
  G2: { kind: 'gemm', title: 'SGEMM 2048', M: 2048, N: 2048, K: 2048 },
  // W1's attention products (8 batch x 12 heads, L = S = 128, D = 64) as plain batched matmuls
  GQ: { kind: 'gemm', title: 'attention scores Q.K^T, batched', batch: 96, M: 128, N: 128, K: 64 },
  GP: { kind: 'gemm', title: 'attention P.V, batched', batch: 96, M: 128, N: 64, K: 128 },
  // Tiny stand-ins (harness test): same code paths, milliseconds to run.
  T1: { kind: 'layer', title: 'tiny self-attention (harness test)', B: 2, L: 8, S: 8, E: 32, H: 4,
    mask: 'keypad', padKeys: 3, self: true, unfused: true, memory: true, reduced: { bf16: true, int8: true } },
  T2: { kind: 'layer', title: 'tiny causal self-attention (harness test)', B: 1, L: 12, S: 12, E: 32, H: 4,
    mask: 'causal', self: true, reduced: { bf16: true, int8: true } },
  T5: { kind: 'layer', title: 'tiny cross-attention (harness test)', B: 2, L: 6, S: 9, E: 32, H: 4,
    mask: 'keypad', padKeys: 2, self: false, reduced: { bf16: true, int8: true } },
  T3: { kind: 'decode', title: 'tiny decode step (harness test)', B: 2, S: 16, E: 32, H: 4,
    reduced: { cacheDtypes: ['float16', 'bfloat16'] } },
  TG: { kind: 'gemm', title: 'tiny SGEMM (harness test)', M: 64, N: 48, K: 32 },
  TB: { kind: 'gemm', title: 'tiny batched SGEMM (harness test)', batch: 3, M: 5, N: 7, K: 4 },
  T6: { kind: 'ragged', title: 'tiny ragged batch (harness test)', E: 32, H: 4, lengths: [7, 5, 3, 1],
    decode: { sequences: 3, first: 2, step: 3 } },
  // D 16: onnxruntime's GroupQueryAttention rotates only head sizes that are multiples of 16
  T7: { kind: 'gqa-decode', title: 'tiny grouped-query decode step (harness test)', B: 2, S: 16, E: 64, H: 4,
    kvHeads: 2, ropeBase: 500000, prefillChunk: 6, reduced: { cacheDtypes: ['float16'], bf16: true } },
  T2w: { kind: 'layer', title: 'tiny sliding-window self-attention (harness test)', B: 1, L: 24, S: 24, E: 32, H: 4,
    mask: 'causal', window: { left: 5 }, self: true },
};

export const WORKLOAD_SETS = {
  default: ['W1', 'W2', 'W3', 'W4', 'W5', 'W6', 'W7', 'W2w', 'G0', 'G1', 'G2', 'GQ', 'GP'],
  gemm: ['G0', 'G1', 'G2', 'GQ', 'GP'],
  tiny: ['T1', 'T3', 'TG', 'TB', 'T6', 'T7', 'T2w', 'T2', 'T5'],
};

/** `--workloads` value ("W1,W3", "tiny", "default") -> workload ids, validated. */
export function selectWorkloads(spec) {
  const ids = (spec ?? 'default').split(',').flatMap((s) => WORKLOAD_SETS[s.trim()] ?? [s.trim()]);
  for (const id of ids) if (!WORKLOADS[id]) throw new RangeError(`unknown workload "${id}" (known: ${Object.keys(WORKLOADS).join(', ')}, ${Object.keys(WORKLOAD_SETS).join(', ')})`);
  return ids;
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** W6's decode rows: the positions each sequence's cache holds before the step. */
export function decodeLengths(w) {
  const { sequences, first, step } = w.decode;
  return Array.from({ length: sequences }, (_, i) => first + i * step);
}

/** W6's padding: every request padded to the longest. */
export const paddedLength = (w) => Math.max(...w.lengths);

/** The key/value width of a grouped-query workload (numKvHeads heads of D). */
export const kvDim = (w) => (w.E / w.H) * w.kvHeads;

/**
 * Useful FLOPs of one call (WORKLOADS.md formulas), the bytes it must read where it is bound by
 * memory (`bytesLabel` says which), and the tokens it yields where tokens/s is reported.
 * W6 counts its real tokens only (2·4·T·E² + 4·E·Σ len²), padded or not; W7 reads its four
 * projection weights and each key/value head of the S + 1 positions once.
 */
export function workCount(w) {
  if (w.kind === 'gemm') return { flops: 2 * (w.batch ?? 1) * w.M * w.N * w.K, bytes: 0 };
  if (w.kind === 'decode') {
    return { flops: 4 * w.B * 1 * w.S * w.E, bytes: 2 * w.B * w.S * w.E * 4, bytesLabel: 'K+V read per step', tokens: w.B };
  }
  if (w.kind === 'ragged') {
    return { flops: 2 * 4 * sum(w.lengths) * w.E * w.E + 4 * w.E * sum(w.lengths.map((n) => n * n)), bytes: 0,
      tokens: sum(w.lengths) };
  }
  if (w.kind === 'gqa-decode') {
    const { B, S, E } = w, kv = kvDim(w);
    return { flops: 2 * B * E * (2 * E + 2 * kv) + 4 * B * (S + 1) * E,
      bytes: gqaStepBytes(w, 4, 4), bytesLabel: 'weights + K/V read per step', tokens: B };
  }
  const { B, L, S, E } = w;
  const projections = 2 * B * L * E * E + 2 * B * S * E * E + 2 * B * S * E * E + 2 * B * L * E * E;
  return { flops: projections + attentionWorkCount(w).flops, bytes: 0 };
}

/** The attention products alone (Q·Kᵀ and P·V over every head), halved for causal. With a
 * window only the band counts: query i (at position p = i + S - L) sees the keys
 * max(0, p - left) ..= p, so 4·B·E·Σᵢ (p - max(0, p - left) + 1), about 4·B·E·left·L. */
export function attentionWorkCount(w) {
  if (w.window) {
    let keys = 0;
    for (let i = 0; i < w.L; i++) {
      const p = i + w.S - w.L;
      keys += Math.min(p, w.S - 1) - Math.max(0, p - (w.window.left ?? Infinity)) + 1;
    }
    return { flops: 4 * w.B * w.E * keys, bytes: 0 };
  }
  return { flops: 4 * w.B * w.L * w.S * w.E * (w.mask === 'causal' ? 0.5 : 1), bytes: 0 };
}

/** W7's bytes read per step: its four projection weights (weightBytes per element) and each
 * key/value head of the S + 1 positions once (kvBytes per element). */
export function gqaStepBytes(w, weightBytes, kvBytes) {
  const { B, S, E } = w, kv = kvDim(w);
  return weightBytes * (2 * E * E + 2 * kv * E) + 2 * B * (S + 1) * kv * kvBytes;
}

/** One decode step through the layer with a KV cache: query and output projections of the new
 * token plus attention over the S cached positions (the cache's K+V, elementBytes each, are read
 * once). */
export function cachedStepWorkCount(w, elementBytes = 4) {
  return { flops: 2 * w.B * w.E * w.E * 2 + 4 * w.B * w.S * w.E, bytes: 2 * w.B * w.S * w.E * elementBytes,
    bytesLabel: `K+V read per step${elementBytes === 4 ? '' : ` (${8 * elementBytes}-bit)`}`, tokens: w.B };
}

/** W6's continuous-batching decode step: one new token per sequence, projected (Q, K, V, out)
 * and attending to its sequence's cache plus itself; the real positions' K+V are read once. */
export function raggedDecodeWorkCount(w) {
  const n = w.decode.sequences, E = w.E, seen = sum(decodeLengths(w)) + n;
  return { flops: 2 * 4 * n * E * E + 4 * E * seen, bytes: 2 * E * seen * 4, bytesLabel: 'K+V read per step', tokens: n };
}

/** W7's cache fill before the timed steps (the prompt through the layer, causal): for the
 * reference backend's time estimate. */
export function prefillWorkCount(w) {
  const { B, S, E } = w, kv = kvDim(w);
  return { flops: 2 * B * S * E * (2 * E + 2 * kv) + 2 * B * S * S * E, bytes: 0 };
}

/** Human-readable shape summary for reports. */
export function describe(w) {
  if (w.kind === 'gemm') {
    const shapes = `M=${w.M} N=${w.N} K=${w.K}`;
    return w.batch ? `batch=${w.batch} ${shapes}, a [${w.batch},${w.M},${w.K}] x b [${w.batch},${w.K},${w.N}]` : shapes;
  }
  if (w.kind === 'decode') return `B=${w.B} L=1 S=${w.S} E=${w.E} H=${w.H}, q [B,H,1,D], K/V [B,H,S,D]`;
  if (w.kind === 'ragged') {
    const n = w.lengths.length, T = sum(w.lengths), pad = paddedLength(w);
    const cached = w.decode ? decodeLengths(w) : [];
    return `${n} requests of ${Math.min(...w.lengths)}–${pad} tokens (${T} real tokens; padded to ${pad}: ${n * pad}), `
      + `E=${w.E} H=${w.H}, self-attention, no mask inside a request; useful FLOPs count the real tokens only: `
      + '2·4·T·E² + 4·E·Σ len²'
      + (w.decode ? `. Decode rows: ${cached.length} sequences holding ${cached[0]}–${cached[cached.length - 1]} `
        + 'positions, one new token each (useful FLOPs 2·4·n·E² + 4·E·Σ (len + 1); GB/s of their K+V)' : '');
  }
  if (w.kind === 'gqa-decode') {
    return `B=${w.B} sequences, 1 new token each, ${w.S} cached positions; E=${w.E} H=${w.H} numKvHeads=${w.kvHeads} `
      + `D=${w.E / w.H}; RoPE base ${w.ropeBase}, causal through the cache, no biases; GB/s count the four projection `
      + 'weights and each key/value head of the S + 1 positions once';
  }
  const window = w.window ? `, window ${w.window.left} keys back (attention FLOPs count the band only: `
    + '4·B·E·Σᵢ (keys query i sees))' : '';
  return `B=${w.B} L=${w.L} S=${w.S} E=${w.E} H=${w.H}, ${w.self ? 'self' : 'cross'}-attention, mask: ${w.mask}${window}`;
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(rand, n, bound) {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * bound;
  return out;
}

/** Inputs of one workload: name -> { data, shape }. Weights use torch.nn.Linear layout [out, in]. */
export function makeInputs(w, seed = 1234) {
  const rand = mulberry32(seed);
  const t = (data, shape) => ({ data, shape });
  if (w.kind === 'gemm') {
    const lead = w.batch ? [w.batch] : [];
    const count = w.batch ?? 1;
    return { a: t(uniform(rand, count * w.M * w.K, 1), [...lead, w.M, w.K]),
      b: t(uniform(rand, count * w.K * w.N, 1), [...lead, w.K, w.N]) };
  }
  const D = w.E / w.H;
  const { B, S, E } = w;
  const xavier = Math.sqrt(6 / (E + E));
  if (w.kind === 'gqa-decode') { // Llama: no biases; k/v project to numKvHeads heads
    const kv = kvDim(w), kvBound = Math.sqrt(6 / (E + kv));
    return {
      prompt: t(uniform(rand, B * S * E, 1), [B, S, E]), // the S positions the cache holds
      token: t(uniform(rand, B * E, 1), [B, 1, E]),
      qWeight: t(uniform(rand, E * E, xavier), [E, E]),
      kWeight: t(uniform(rand, kv * E, kvBound), [kv, E]),
      vWeight: t(uniform(rand, kv * E, kvBound), [kv, E]),
      outWeight: t(uniform(rand, E * E, xavier), [E, E]),
    };
  }
  const weights = () => ({
    qWeight: t(uniform(rand, E * E, xavier), [E, E]),
    kWeight: t(uniform(rand, E * E, xavier), [E, E]),
    vWeight: t(uniform(rand, E * E, xavier), [E, E]),
    outWeight: t(uniform(rand, E * E, xavier), [E, E]),
    qBias: t(uniform(rand, E, 0.1), [E]),
    kBias: t(uniform(rand, E, 0.1), [E]),
    vBias: t(uniform(rand, E, 0.1), [E]),
    outBias: t(uniform(rand, E, 0.1), [E]),
  });
  if (w.kind === 'ragged') { // the requests' tokens back to back [T, E]
    const inputs = { tokens: t(uniform(rand, sum(w.lengths) * E, 1), [sum(w.lengths), E]), ...weights() };
    if (w.decode) {
      const n = w.decode.sequences, P = sum(decodeLengths(w));
      inputs.decodePrompt = t(uniform(rand, P * E, 1), [P, E]); // each sequence's cached positions, back to back
      inputs.decodeToken = t(uniform(rand, n * E, 1), [n, E]);
    }
    return inputs;
  }
  if (w.kind === 'decode') { // K/V as a cache holds them; token/memory/weights for the layer step
    return {
      q: t(uniform(rand, B * w.H * D, 1), [B, w.H, 1, D]),
      k: t(uniform(rand, B * w.H * S * D, 1), [B, w.H, S, D]),
      v: t(uniform(rand, B * w.H * S * D, 1), [B, w.H, S, D]),
      token: t(uniform(rand, B * E, 1), [B, 1, E]),
      memory: t(uniform(rand, B * S * E, 1), [B, S, E]),
      ...weights(),
    };
  }
  const inputs = { query: t(uniform(rand, B * w.L * E, 1), [B, w.L, E]), ...weights() };
  if (!w.self) inputs.memory = t(uniform(rand, B * S * E, 1), [B, S, E]);
  if (w.mask === 'keypad') {
    const blocked = new Uint8Array(B * S); // nonzero = blocked; odd batch entries lose their last keys
    for (let b = 1; b < B; b += 2) blocked.fill(1, b * S + S - w.padKeys, (b + 1) * S);
    inputs.keyPaddingMask = t(blocked, [B, S]);
  }
  if (w.unfused) { // projected heads [B, H, L|S, D] for the attention alone, fused against three passes
    inputs.headQ = t(uniform(rand, B * w.H * w.L * D, 1), [B, w.H, w.L, D]);
    inputs.headK = t(uniform(rand, B * w.H * S * D, 1), [B, w.H, S, D]);
    inputs.headV = t(uniform(rand, B * w.H * S * D, 1), [B, w.H, S, D]);
  }
  return inputs;
}

/** Writes inputs as raw little-endian files + inputs.json ({name: {file, dtype, shape}}). */
export function writeInputs(dir, inputs) {
  const index = {};
  for (const [name, { data, shape }] of Object.entries(inputs)) {
    const dtype = data instanceof Uint8Array ? 'uint8' : 'float32';
    const file = `${name}.${dtype === 'uint8' ? 'u8' : 'f32'}`;
    fs.writeFileSync(path.join(dir, file), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    index[name] = { file, dtype, shape };
  }
  fs.writeFileSync(path.join(dir, 'inputs.json'), JSON.stringify(index));
}

/** Reads what writeInputs wrote. */
export function readInputs(dir) {
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
  const out = {};
  for (const [name, { file, dtype, shape }] of Object.entries(index)) {
    const bytes = fs.readFileSync(path.join(dir, file));
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    out[name] = { data: dtype === 'uint8' ? copy : new Float32Array(copy.buffer), shape };
  }
  return out;
}
