// Test helpers for the attention variants: the layer's steps written out with the functional
// reference ops (project, split heads, rotate, attend, merge, project), explicit masks that
// equal the window and ALiBi rules, and packing of per-sequence tensors.
import { reference, type Tensor } from '../lib/index.js';
import { type M, type T, type Weights, numel } from './helpers.js';

/** MHA weights (k/v projections of E rows) cut to a GQA layer's: the first Ekv rows of the
 * key/value projections and biases. */
export function firstKvRows(w: Weights, E: number, Ekv: number): Weights {
  const cut = (a: Float32Array | undefined) => a?.slice(0, (Ekv * a.length) / E);
  return { ...w, kWeight: cut(w.kWeight)!, vWeight: cut(w.vWeight)!, kBias: cut(w.kBias), vBias: cut(w.vBias) };
}

/** x [B, N, In] -> x W^T + bias as [B, heads, N, D] (torch.nn.Linear, then split into heads). */
export function projectHeads(x: T, w: Float32Array, bias: Float32Array | undefined, heads: number): T {
  const [B, N, inDim] = x.shape;
  const width = w.length / inDim;
  const D = width / heads;
  const out = new Float32Array(B * heads * N * D);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < N; n++) {
      for (let o = 0; o < width; o++) {
        let acc = bias ? bias[o] : 0;
        for (let i = 0; i < inDim; i++) acc += x.data[(b * N + n) * inDim + i] * w[o * inDim + i];
        const [h, c] = [Math.floor(o / D), o % D];
        out[((b * heads + h) * N + n) * D + c] = acc;
      }
    }
  }
  return { data: out, shape: [B, heads, N, D] };
}

/** [B, H, L, D] heads -> [B, L, H*D], projected by outWeight / outBias. */
export function mergeAndProject(o: Tensor, outWeight: Float32Array, outBias: Float32Array | undefined): T {
  const [B, H, L, D] = o.shape;
  const E = H * D;
  const merged = new Float32Array(B * L * E);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        for (let c = 0; c < D; c++) merged[(b * L + l) * E + h * D + c] = o.data[((b * H + h) * L + l) * D + c];
      }
    }
  }
  const y = reference.matmul({ data: merged, shape: [B * L, E] }, { data: outWeight, shape: [E, E] },
    { transposeB: true });
  if (outBias) for (let i = 0; i < y.data.length; i++) y.data[i] += outBias[i % E];
  return { data: y.data, shape: [B, L, E] };
}

export interface ManualOptions {
  numKvHeads?: number; isCausal?: boolean; scale?: number; softcap?: number; alibiSlopes?: Float32Array;
  window?: { left?: number; right?: number }; rotary?: { dim?: number; base?: number; interleaved?: boolean };
  attnMask?: M;
}

/** The layer's forward written out with the functional reference ops. */
export function manualForward(w: Weights, H: number, query: T, key: T, value: T, o: ManualOptions = {}): T {
  const Hkv = o.numKvHeads ?? H;
  let q: Tensor = projectHeads(query, w.qWeight, w.qBias, H);
  let k: Tensor = projectHeads(key, w.kWeight, w.kBias, Hkv);
  const v = projectHeads(value, w.vWeight, w.vBias, Hkv);
  const [L, S] = [query.shape[1], key.shape[1]];
  if (o.rotary) {
    q = reference.rotaryEmbedding(q, { ...o.rotary, positions: Array.from({ length: L }, (_, i) => i + S - L) });
    k = reference.rotaryEmbedding(k, o.rotary);
  }
  const heads = reference.scaledDotProductAttention(q, k, v, {
    isCausal: o.isCausal, scale: o.scale, softcap: o.softcap, alibiSlopes: o.alibiSlopes, window: o.window,
    attnMask: o.attnMask,
  });
  return mergeAndProject(heads, w.outWeight, w.outBias);
}

/** [B, Hkv, S, D] -> [B, H, S, D]: query head h gets key/value head floor(h / (H / Hkv)). */
export function repeatHeads(x: Tensor, H: number): T {
  const [B, Hkv, S, D] = x.shape;
  const out = new Float32Array(B * H * S * D);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hkv));
      out.set(x.data.subarray((b * Hkv + g) * S * D, (b * Hkv + g + 1) * S * D), (b * H + h) * S * D);
    }
  }
  return { data: out, shape: [B, H, S, D] };
}

/** A [Hkv * D, In] projection (or [Hkv * D] bias) with its head blocks repeated for H heads
 * (head h gets block floor(h / (H / Hkv))). */
export function repeatRows(w: Float32Array, Hkv: number, H: number): Float32Array {
  const block = w.length / Hkv;
  const out = new Float32Array(block * H);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / Hkv));
    out.set(w.subarray(g * block, (g + 1) * block), h * block);
  }
  return out;
}

/** Positions pq = i + (S - L), pk = j: key j blocked unless pq - left <= pk <= pq + right. */
export function windowMask(L: number, S: number, left?: number, right?: number): M {
  const data = new Uint8Array(L * S);
  for (let i = 0; i < L; i++) {
    const pq = i + S - L;
    for (let j = 0; j < S; j++) {
      const visible = (left === undefined || j >= pq - left) && (right === undefined || j <= pq + right);
      data[i * S + j] = visible ? 0 : 1;
    }
  }
  return { data, shape: [L, S] };
}

/** The ALiBi bias -slope[h] * |pq - pk| as an additive mask [1, H, L, S]. */
export function alibiMask(slopes: Float32Array, L: number, S: number): M {
  const H = slopes.length;
  const data = new Float32Array(H * L * S);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < S; j++) data[(h * L + i) * S + j] = -slopes[h] * Math.abs(i + S - L - j);
    }
  }
  return { data, shape: [1, H, L, S] };
}

/** Rows [from, to) of dim `axis` (0 or 1) of a tensor, as a fresh tensor. */
export function rows(x: Tensor, axis: 0 | 1, from: number, to: number): T {
  const shape = [...x.shape];
  const outer = axis === 0 ? 1 : shape[0];
  const n = shape[axis];
  const inner = numel(shape.slice(axis + 1));
  const data = new Float32Array(outer * (to - from) * inner);
  for (let o = 0; o < outer; o++) {
    data.set(x.data.subarray((o * n + from) * inner, (o * n + to) * inner), o * (to - from) * inner);
  }
  shape[axis] = to - from;
  return { data, shape };
}

/** Tensors concatenated along dim 0. */
export function cat0(parts: Tensor[]): T {
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) { data.set(p.data, at); at += p.data.length; }
  return { data, shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...parts[0].shape.slice(1)] };
}
