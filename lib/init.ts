// Default weights, as torch.nn.MultiheadAttention._reset_parameters draws them, from a seeded
// PRNG (mulberry32) so a given seed always gives the same layer.
import type { MultiHeadAttentionWeights } from './mha-types.js';

/** mulberry32: a small 32-bit PRNG; returns uniform floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function uniform(random: () => number, length: number, bound: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (2 * random() - 1) * bound;
  return out;
}

/** Xavier-uniform bound of a [fanOut, fanIn] matrix. */
function xavierBound(fanOut: number, fanIn: number): number {
  return Math.sqrt(6 / (fanIn + fanOut));
}

/**
 * q/k/v: Xavier-uniform over the fused [E + 2 Ekv, E] projection (torch's packed [3E, E]
 * in_proj_weight when Ekv = E) when kDim == vDim == E, else over each of q [E, E], k [Ekv, kDim],
 * v [Ekv, vDim]; out [E, E]: torch.nn.Linear's default U(-1/sqrt(E), 1/sqrt(E)); biases zero
 * (none when !bias). Drawn in the order q, k, v, out. kvDim = Ekv = numKvHeads * headDim.
 */
export function defaultWeights(embedDim: number, kDim: number, vDim: number, bias: boolean,
  seed: number, kvDim = embedDim): MultiHeadAttentionWeights {
  const E = embedDim;
  const random = mulberry32(seed);
  const fused = kDim === E && vDim === E ? xavierBound(E + 2 * kvDim, E) : undefined;
  const qWeight = uniform(random, E * E, fused ?? xavierBound(E, E));
  const kWeight = uniform(random, kvDim * kDim, fused ?? xavierBound(kvDim, kDim));
  const vWeight = uniform(random, kvDim * vDim, fused ?? xavierBound(kvDim, vDim));
  const outWeight = uniform(random, E * E, 1 / Math.sqrt(E));
  if (!bias) return { qWeight, kWeight, vWeight, outWeight };
  return {
    qWeight, kWeight, vWeight, outWeight,
    qBias: new Float32Array(E), kBias: new Float32Array(kvDim), vBias: new Float32Array(kvDim),
    outBias: new Float32Array(E),
  };
}
