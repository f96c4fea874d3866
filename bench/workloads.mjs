// The benchmark workloads (shared/WORKLOADS.md) and the tiny ones the harness test runs:
// shapes, useful FLOPs and bytes, and the deterministic inputs every backend and peer is fed.
// A 'gemm' workload with a `batch` field is a batched matmul: a [batch,M,K] x b [batch,K,N].
import fs from 'node:fs';
import path from 'node:path';

export const WORKLOADS = {
  W1: { kind: 'layer', title: 'BERT-base encoder self-attention', B: 8, L: 128, S: 128, E: 768, H: 12,
    mask: 'keypad', padKeys: 32, self: true, unfused: true },
  W2: { kind: 'layer', title: 'long-context decoder self-attention', B: 1, L: 2048, S: 2048, E: 768, H: 12,
    mask: 'causal', self: true, unfused: true, memory: true },
  W3: { kind: 'decode', title: 'one decode step against a KV cache', B: 16, S: 1024, E: 768, H: 12 },
  W4: { kind: 'layer', title: 'small request, latency', B: 1, L: 32, S: 32, E: 256, H: 4,
    mask: 'none', self: true },
  W5: { kind: 'layer', title: 'translation decoder cross-attention', B: 8, L: 64, S: 96, E: 512, H: 8,
    mask: 'keypad', padKeys: 16, self: false },
  G0: { kind: 'gemm', title: 'SGEMM 256', M: 256, N: 256, K: 256 },
  G1: { kind: 'gemm', title: 'SGEMM 1024', M: 1024, N: 1024, K: 1024 },
  G2: { kind: 'gemm', title: 'SGEMM 2048', M: 2048, N: 2048, K: 2048 },
  // W1's attention products (8 batch x 12 heads, L = S = 128, D = 64) as plain batched matmuls
  GQ: { kind: 'gemm', title: 'attention scores Q.K^T, batched', batch: 96, M: 128, N: 128, K: 64 },
  GP: { kind: 'gemm', title: 'attention P.V, batched', batch: 96, M: 128, N: 64, K: 128 },
  // Tiny stand-ins (harness test): same code paths, milliseconds to run.
  T1: { kind: 'layer', title: 'tiny self-attention (harness test)', B: 2, L: 8, S: 8, E: 32, H: 4,
    mask: 'keypad', padKeys: 3, self: true, unfused: true, memory: true },
  T3: { kind: 'decode', title: 'tiny decode step (harness test)', B: 2, S: 16, E: 32, H: 4 },
  TG: { kind: 'gemm', title: 'tiny SGEMM (harness test)', M: 64, N: 48, K: 32 },
  TB: { kind: 'gemm', title: 'tiny batched SGEMM (harness test)', batch: 3, M: 5, N: 7, K: 4 },
};

export const WORKLOAD_SETS = {
  default: ['W1', 'W2', 'W3', 'W4', 'W5', 'G0', 'G1', 'G2', 'GQ', 'GP'],
  gemm: ['G0', 'G1', 'G2', 'GQ', 'GP'],
  tiny: ['T1', 'T3', 'TG', 'TB'],
};

/** `--workloads` value ("W1,W3", "tiny", "default") -> workload ids, validated. */
export function selectWorkloads(spec) {
  const ids = (spec ?? 'default').split(',').flatMap((s) => WORKLOAD_SETS[s.trim()] ?? [s.trim()]);
  for (const id of ids) if (!WORKLOADS[id]) throw new RangeError(`unknown workload "${id}" (known: ${Object.keys(WORKLOADS).join(', ')}, ${Object.keys(WORKLOAD_SETS).join(', ')})`);
  return ids;
}

/** Useful FLOPs of one call (WORKLOADS.md formulas) and, for the decode step, K+V bytes read. */
export function workCount(w) {
  if (w.kind === 'gemm') return { flops: 2 * (w.batch ?? 1) * w.M * w.N * w.K, bytes: 0 };
  if (w.kind === 'decode') return { flops: 4 * w.B * 1 * w.S * w.E, bytes: 2 * w.B * w.S * w.E * 4 };
  const { B, L, S, E } = w;
  const projections = 2 * B * L * E * E + 2 * B * S * E * E + 2 * B * S * E * E + 2 * B * L * E * E;
  return { flops: projections + attentionWorkCount(w).flops, bytes: 0 };
}

/** The attention products alone (Q·Kᵀ and P·V over every head), halved for causal. */
export function attentionWorkCount(w) {
  return { flops: 4 * w.B * w.L * w.S * w.E * (w.mask === 'causal' ? 0.5 : 1), bytes: 0 };
}

/** One decode step through the layer with a KV cache: query and output projections of the new
 * token plus attention over the S cached positions (the cache's K+V are read once). */
export function cachedStepWorkCount(w) {
  return { flops: 2 * w.B * w.E * w.E * 2 + 4 * w.B * w.S * w.E, bytes: 2 * w.B * w.S * w.E * 4 };
}

/** Human-readable shape summary for reports. */
export function describe(w) {
  if (w.kind === 'gemm') {
    const shapes = `M=${w.M} N=${w.N} K=${w.K}`;
    return w.batch ? `batch=${w.batch} ${shapes}, a [${w.batch},${w.M},${w.K}] x b [${w.batch},${w.K},${w.N}]` : shapes;
  }
  if (w.kind === 'decode') return `B=${w.B} L=1 S=${w.S} E=${w.E} H=${w.H}, q [B,H,1,D], K/V [B,H,S,D]`;
  return `B=${w.B} L=${w.L} S=${w.S} E=${w.E} H=${w.H}, ${w.self ? 'self' : 'cross'}-attention, mask: ${w.mask}`;
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
