// Helpers of the native parity suites of the attention variants, packed batches and
// per-sequence caches (parity-variants-native, packed-native, kv-cache-native): a layer on both
// backends with the same weights, the masks every variant allows, an independent oracle of
// which score rows have every key blocked, and token-major <-> head-major conversions.
import { expect } from 'vitest';
import { MultiHeadAttention, type MultiHeadAttentionOptions, type Tensor } from '../lib/index.js';
import {
  type M, type T, type Weights, Rng, additiveMask, blockRow, boolMask, paddingAdditive, paddingBool, randWeights,
} from './helpers.js';
import { firstKvRows } from './variant-helpers.js';

/** A layer's attention variant (fixed at construction). */
export type Variant = Pick<MultiHeadAttentionOptions, 'numKvHeads' | 'scale' | 'softcap' | 'alibi' | 'window' | 'rotary'>;

export interface LayerPair { native: MultiHeadAttention; ref: MultiHeadAttention; weights: Weights }

/** The same layer (random weights, nonzero biases unless bias is false) on both backends. */
export function layerPair(rng: Rng, E: number, H: number, variant: Variant = {}, kDim = E, vDim = E,
  bias = true): LayerPair {
  const Ekv = (variant.numKvHeads ?? H) * (E / H);
  const weights = firstKvRows(randWeights(rng, E, kDim, vDim, bias), E, Ekv);
  const make = (backend: 'native' | 'reference') =>
    new MultiHeadAttention({ embedDim: E, numHeads: H, kDim, vDim, bias, weights, backend, ...variant });
  return { native: make('native'), ref: make('reference'), weights };
}

/** Every mask kind a layer call (or, without the key padding kinds, scaledDotProductAttention) takes. */
export const MASK_KINDS = [
  'none', 'bool [L,S]', 'additive [L,S] with -Infinity', 'bool [B*H,L,S]', 'additive [B,H,L,S] with -Infinity',
  'bool [B,1,L,S]', 'bool [L,S], last row blocked', 'key padding bool', 'key padding additive',
  'key padding + bool [B,H,L,S]',
] as const;
export type MaskKind = typeof MASK_KINDS[number];

/** Key lengths of B sequences of S keys: S, about half, then 0 (a sequence with no key), repeating. */
export function paddingLengths(B: number, S: number): number[] {
  return Array.from({ length: B }, (_, b) => [S, Math.ceil(S / 2), 0][b % 3]);
}

export interface MaskSet { attnMask?: M; keyPaddingMask?: M }

export function makeMasks(kind: MaskKind, rng: Rng, B: number, H: number, L: number, S: number): MaskSet {
  switch (kind) {
    case 'none': return {};
    case 'bool [L,S]': return { attnMask: boolMask(rng, [L, S], 0.3) };
    case 'additive [L,S] with -Infinity': return { attnMask: additiveMask(rng, [L, S], 0.25) };
    case 'bool [B*H,L,S]': return { attnMask: boolMask(rng, [B * H, L, S], 0.3) };
    case 'additive [B,H,L,S] with -Infinity': return { attnMask: additiveMask(rng, [B, H, L, S], 0.25) };
    case 'bool [B,1,L,S]': return { attnMask: boolMask(rng, [B, 1, L, S], 0.3) };
    case 'bool [L,S], last row blocked': return { attnMask: blockRow(boolMask(rng, [L, S], 0.2), L - 1) };
    case 'key padding bool': return { keyPaddingMask: paddingBool(S, paddingLengths(B, S)) };
    case 'key padding additive': return { keyPaddingMask: paddingAdditive(rng, S, paddingLengths(B, S)) };
    case 'key padding + bool [B,H,L,S]':
      return { keyPaddingMask: paddingBool(S, paddingLengths(B, S)), attnMask: boolMask(rng, [B, H, L, S], 0.2) };
  }
}

/** Whether a mask blocks (b, h, l, s): [L, S], [B*H, L, S], [B, H, L, S] (dims of 1 broadcast) or,
 * as a key padding mask, [B, S]. Boolean nonzero or additive -Infinity blocks. */
function maskBlocks(mask: M, keyPadding: boolean, H: number, L: number, S: number,
  b: number, h: number, l: number, s: number): boolean {
  let i: number;
  const shape = mask.shape;
  if (keyPadding) i = b * shape[1] + s;
  else if (shape.length === 2) i = l * S + s;
  else if (shape.length === 3) i = ((b * H + h) * L + l) * S + s;
  else {
    const [, mh, ml, ms] = shape;
    const at = (d: number, x: number) => (shape[d] === 1 ? 0 : x);
    i = ((at(0, b) * mh + at(1, h)) * ml + at(2, l)) * ms + at(3, s);
  }
  const v = mask.data[i];
  return mask.data instanceof Uint8Array ? v !== 0 : v === -Infinity;
}

export interface Visibility {
  B: number; H: number; L: number; S: number;
  isCausal?: boolean; window?: { left?: number; right?: number };
  attnMask?: M; keyPaddingMask?: M;
  /** Keys held by each sequence (a cache with uneven lengths): keys from sLens[b] on are blocked
   * and query l of sequence b is at position l + sLens[b] - L. Default: S for every sequence. */
  sLens?: number[];
}

/**
 * The score rows (b, h, l) whose every key is blocked, from the API's definitions alone: query
 * position pq = l + S_b - L, key position pk = s; causal blocks pk > pq, the window keys outside
 * [pq - left, pq + right]; the masks block where they say. 1 = fully blocked, [B * H * L].
 */
export function blockedRows(v: Visibility): Uint8Array {
  const { B, H, L, S } = v;
  const rows = new Uint8Array(B * H * L);
  for (let b = 0; b < B; b++) {
    const Sb = v.sLens?.[b] ?? S;
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        const pq = l + Sb - L;
        let open = false;
        for (let s = 0; s < Sb && !open; s++) {
          if (v.isCausal && s > pq) continue;
          if (v.window?.left !== undefined && s < pq - v.window.left) continue;
          if (v.window?.right !== undefined && s > pq + v.window.right) continue;
          if (v.attnMask && maskBlocks(v.attnMask, false, H, L, S, b, h, l, s)) continue;
          if (v.keyPaddingMask && maskBlocks(v.keyPaddingMask, true, H, L, S, b, h, l, s)) continue;
          open = true;
        }
        rows[(b * H + h) * L + l] = open ? 0 : 1;
      }
    }
  }
  return rows;
}

/** Query rows (b, l) blocked in every head, as flat b * L + l indices. */
export function blockedInEveryHead(rows: Uint8Array, B: number, H: number, L: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let l = 0; l < L; l++) {
      let all = true;
      for (let h = 0; h < H && all; h++) all = rows[(b * H + h) * L + l] === 1;
      if (all) out.push(b * L + l);
    }
  }
  return out;
}

/** Row `row` (of length n) of `a` equals `want` exactly (=== per element, so -0 equals 0). */
export function expectRowEquals(a: ArrayLike<number>, row: number, want: ArrayLike<number>, label: string): void {
  const n = want.length;
  const bad: string[] = [];
  for (let i = 0; i < n; i++) if (!(a[row * n + i] === want[i])) bad.push(`[${i}] ${a[row * n + i]} != ${want[i]}`);
  expect(bad.slice(0, 4), `${label}: row ${row}`).toEqual([]);
}

/** Row `row` (of length n) of `a` is all exact zeros. */
export function expectRowZero(a: ArrayLike<number>, row: number, n: number, label: string): void {
  expectRowEquals(a, row, new Float32Array(n), label);
}

/** Dense [B, H, L, D] -> token-major [B * L, H, D] (B packed sequences of L tokens each). */
export function toTokenMajor(x: Tensor): T {
  const [B, H, L, D] = x.shape;
  const data = new Float32Array(x.data.length);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let l = 0; l < L; l++) {
        data.set(x.data.subarray(((b * H + h) * L + l) * D, ((b * H + h) * L + l + 1) * D), ((b * L + l) * H + h) * D);
      }
    }
  }
  return { data, shape: [B * L, H, D] };
}

/** Rows [from, from + n) of token-major [T, H, D] as dense [1, H, n, D]. */
export function headMajorRows(x: Tensor, from: number, n: number): T {
  const [, H, D] = x.shape;
  const data = new Float32Array(n * H * D);
  for (let i = 0; i < n; i++) {
    for (let h = 0; h < H; h++) {
      data.set(x.data.subarray(((from + i) * H + h) * D, ((from + i) * H + h + 1) * D), (h * n + i) * D);
    }
  }
  return { data, shape: [1, H, n, D] };
}

/** Cumulative offsets of lengths: [0, l0, l0 + l1, ...]. */
export function offsetsOf(lengths: readonly number[]): number[] {
  const out = [0];
  for (const n of lengths) out.push(out[out.length - 1] + n);
  return out;
}
