// Shared test helpers: a seeded PRNG, random tensors and masks, and the parity criterion
// (relative L2 error against a float64 evaluation, no NaN where the reference has none).
import { expect } from 'vitest';

export interface T { data: Float32Array; shape: number[] }
export interface M { data: Uint8Array | Float32Array; shape: number[] }

/** The parity tolerance of the API contract: relative L2 error against float64. */
export const TOL = 2e-5;

/** mulberry32: small, fast, deterministic. */
export class Rng {
  private state: number;
  constructor(seed: number) { this.state = seed >>> 0; }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.next() * n); }
  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

export function randn(rng: Rng, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * scale;
  return out;
}

export function randTensor(rng: Rng, shape: number[], scale = 1): T {
  return { data: randn(rng, numel(shape), scale), shape };
}

/** The same values as a view at a nonzero byteOffset inside a larger buffer. */
export function offsetView<A extends Float32Array | Uint8Array>(a: A, pad = 3): A {
  const Ctor = a.constructor as new (n: number) => A;
  const big = new Ctor(a.length + 2 * pad);
  big.fill(7 as never);
  big.set(a, pad);
  return big.subarray(pad, pad + a.length) as A;
}

/** Boolean mask (1 = blocked) with each entry blocked with probability `frac`. */
export function boolMask(rng: Rng, shape: number[], frac: number): M {
  const data = new Uint8Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < frac ? 1 : 0;
  return { data, shape };
}

/** Additive mask: finite values in [-2, 2); with `infFrac` > 0 some entries are -Infinity. */
export function additiveMask(rng: Rng, shape: number[], infFrac = 0): M {
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.next() < infFrac ? -Infinity : (rng.next() - 0.5) * 4;
  return { data, shape };
}

/** Key padding mask [B, S] (1 = padding) from each sequence's valid length (0 = fully padded). */
export function paddingBool(S: number, lengths: number[]): M {
  const data = new Uint8Array(lengths.length * S);
  lengths.forEach((n, b) => data.fill(1, b * S + n, (b + 1) * S));
  return { data, shape: [lengths.length, S] };
}

/** The same key padding as an additive mask (-Infinity on padding, small finite bias elsewhere). */
export function paddingAdditive(rng: Rng, S: number, lengths: number[]): M {
  const data = new Float32Array(lengths.length * S);
  lengths.forEach((n, b) => {
    for (let s = 0; s < S; s++) data[b * S + s] = s < n ? (rng.next() - 0.5) : -Infinity;
  });
  return { data, shape: [lengths.length, S] };
}

/** Explicit bottom-right causal mask [L, S]: query i may see key j iff j <= i + (S - L). */
export function causalBool(L: number, S: number): M {
  const data = new Uint8Array(L * S);
  for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) data[i * S + j] = j > i + (S - L) ? 1 : 0;
  return { data, shape: [L, S] };
}

/** Mark every key of row `row` (a flat index over the leading dims of an [..., S] mask) blocked. */
export function blockRow(mask: M, row: number): M {
  const S = mask.shape[mask.shape.length - 1];
  if (mask.data instanceof Uint8Array) mask.data.fill(1, row * S, (row + 1) * S);
  else mask.data.fill(-Infinity, row * S, (row + 1) * S);
  return mask;
}

/** Relative L2 error ||a - b|| / ||b|| in float64 over entries where b is not NaN. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i])) continue;
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  if (den === 0) return Math.sqrt(num);
  return Math.sqrt(num / den);
}

/** The contract's parity criterion; `label` names the case in failure messages. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, tol = TOL): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Number.isNaN(actual[i]) && !Number.isNaN(expected[i])) {
      expect.fail(`${label}: NaN at ${i} where the reference is ${expected[i]}`);
    }
  }
  const err = relL2(actual, expected);
  expect(err, `${label}: relative L2 error ${err}`).toBeLessThanOrEqual(tol);
}

/** True when row `row` (of length `rowLen`) of `a` is all exact zeros. */
export function rowIsZero(a: ArrayLike<number>, row: number, rowLen: number): boolean {
  for (let i = row * rowLen; i < (row + 1) * rowLen; i++) if (a[i] !== 0) return false;
  return true;
}

export function hasNaN(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) return true;
  return false;
}

export interface Weights {
  qWeight: Float32Array; kWeight: Float32Array; vWeight: Float32Array; outWeight: Float32Array;
  qBias?: Float32Array; kBias?: Float32Array; vBias?: Float32Array; outBias?: Float32Array;
}

/** Random MultiHeadAttention weights (torch.nn.Linear layout), nonzero biases when `bias`. */
export function randWeights(rng: Rng, E: number, kDim: number, vDim: number, bias: boolean): Weights {
  const w: Weights = {
    qWeight: randn(rng, E * E, 1 / Math.sqrt(E)),
    kWeight: randn(rng, E * kDim, 1 / Math.sqrt(kDim)),
    vWeight: randn(rng, E * vDim, 1 / Math.sqrt(vDim)),
    outWeight: randn(rng, E * E, 1 / Math.sqrt(E)),
  };
  if (bias) {
    w.qBias = randn(rng, E, 0.1); w.kBias = randn(rng, E, 0.1);
    w.vBias = randn(rng, E, 0.1); w.outBias = randn(rng, E, 0.1);
  }
  return w;
}
