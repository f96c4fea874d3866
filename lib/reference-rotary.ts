// The reference's rotary position embedding (RoPE, backend.ts RotarySpec), in float64.
import type { RotaryArgs, RotarySpec } from './backend.js';

/** A writable array of numbers (a typed array). */
export type Writable = { [i: number]: number };

/**
 * Rotates one head vector of d features, src[from, from + d) -> dst[to, to + d), for `position`:
 * pair k (features (k, k + dim/2), or (2k, 2k + 1) interleaved) turns by position * base^(-2k/dim);
 * features from dim on are copied. dst may be src (each pair is read before it is written).
 */
export function rotateHead(src: ArrayLike<number>, from: number, dst: Writable, to: number, d: number,
  spec: RotarySpec, position: number): void {
  const half = spec.dim / 2;
  for (let k = 0; k < half; k++) {
    const [a, b] = spec.interleaved ? [2 * k, 2 * k + 1] : [k, k + half];
    const angle = position * spec.base ** ((-2 * k) / spec.dim);
    const cos = Math.cos(angle), sin = Math.sin(angle);
    const x = src[from + a], y = src[from + b];
    dst[to + a] = x * cos - y * sin;
    dst[to + b] = x * sin + y * cos;
  }
  for (let i = spec.dim; i < d; i++) dst[to + i] = src[from + i];
}

/** Token rows of `heads` heads of d features (row r at r * heads * d): rows [first, first + count)
 * rotated in place, row first + i for position positionOf(i). */
export function rotateRows(data: Float64Array, heads: number, d: number, spec: RotarySpec, first: number,
  count: number, positionOf: (i: number) => number): void {
  for (let i = 0; i < count; i++) {
    for (let h = 0; h < heads; h++) {
      const at = ((first + i) * heads + h) * d;
      rotateHead(data, at, data, at, d, spec, positionOf(i));
    }
  }
}

/** x [groups, n, heads, d] -> out: vector (g, i, h) rotated for positions[i]. */
export function referenceRotary(args: RotaryArgs): void {
  const { x, out, groups, n, heads, d, positions } = args;
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < n; i++) {
      for (let h = 0; h < heads; h++) {
        const at = ((g * n + i) * heads + h) * d;
        rotateHead(x, at, out, at, d, args, positions[i]);
      }
    }
  }
}
