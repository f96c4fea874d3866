// The reference's attention of one sequence (backend.ts AttentionArgs semantics, one sequence
// at a time): scores by the ScoreRule (reference-score.ts), softmax, weighted sum of the
// values, with grouped-query head sharing. Every caller (the functional op, the layer, the
// cached layer) describes its sequences' rows as strided views, dense or packed alike.
import type { ScoreRule } from './backend.js';
import type { MaskSet } from './masks.js';
import type { Writable } from './reference-rotary.js';
import { logit, softmaxInPlace } from './reference-score.js';

/** Vector (h, row) of a sequence starts at base + h * sh + row * sr; its features are contiguous. */
export interface HeadRows<A = ArrayLike<number>> { data: A; base: number; sh: number; sr: number }

/** One sequence: batch entry b (masks, weights), l queries and s keys (positions from 0). */
export interface Sequence {
  b: number; l: number; s: number;
  q: HeadRows; k: HeadRows; v: HeadRows; out: HeadRows<Writable>;
}

export interface HeadDims { heads: number; kvHeads: number; d: number; dv: number }

/** The probabilities of query row i of head h of sequence `seq`, as they are computed. */
export type ProbsSink = (seq: Sequence, h: number, i: number, probs: Float64Array) => void;

const at = (rows: HeadRows<unknown>, h: number, row: number) => rows.base + h * rows.sh + row * rows.sr;

/** Rows [first, first + n) of head h, `width` features each, read through `round` into one dense
 * array: each operand is rounded once, not once per product it enters. */
function denseRows(rows: HeadRows, h: number, first: number, n: number, width: number,
  round: (x: number) => number): Float64Array {
  const out = new Float64Array(n * width);
  for (let j = 0; j < n; j++) {
    const from = at(rows, h, first + j);
    for (let c = 0; c < width; c++) out[j * width + c] = round(rows.data[from + c]);
  }
  return out;
}

/** out(h, i) = sum_j p(h, i, j) v(kv(h), j) with p the softmax of the rule's logits of q(h, i) . k(kv(h), j)
 * over the sequence's keys; query head h reads key/value head floor(h / (heads / kvHeads)).
 * With `round` (bfloat16 products), q, k and v are read rounded and p is rounded for the sum;
 * the sink sees p unrounded. */
export function attendSequence(dims: HeadDims, rule: ScoreRule, masks: MaskSet, seq: Sequence,
  sink?: ProbsSink, round: (x: number) => number = (x) => x): void {
  const { heads, kvHeads, d, dv } = dims;
  const { b, l, s, q, k, v, out } = seq;
  const row = new Float64Array(s), p = new Float64Array(s);
  let kvHead = -1, kr: Float64Array = new Float64Array(0), vr = kr;
  for (let h = 0; h < heads; h++) {
    const group = Math.floor(h / (heads / kvHeads));
    if (group !== kvHead) {  // a group's heads are consecutive: its K and V are read once
      kvHead = group;
      kr = denseRows(k, kvHead, 0, s, d, round);
      vr = denseRows(v, kvHead, 0, s, dv, round);
    }
    for (let i = 0; i < l; i++) {
      const qr = denseRows(q, h, i, 1, d, round);
      for (let j = 0; j < s; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += qr[c] * kr[j * d + c];
        row[j] = logit(rule, masks, dot, { b, h, i, j, l, s });
      }
      softmaxInPlace(row);
      sink?.(seq, h, i, row);
      for (let j = 0; j < s; j++) p[j] = round(row[j]);
      const outAt = at(out, h, i);
      for (let c = 0; c < dv; c++) {
        let acc = 0;
        for (let j = 0; j < s; j++) acc += p[j] * vr[j * dv + c];
        out.data[outAt + c] = acc;
      }
    }
  }
}
