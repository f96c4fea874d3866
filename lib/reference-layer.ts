// The reference's MultiHeadAttention layer (backend.ts LayerDesc, ForwardArgs), dense or packed:
// project q/k/v, rotate q and k (rotary), attend per sequence and head with the layer's rule,
// concatenate the heads, project the output. The cached forms (reference-kv-cache.ts) share
// attendAndProject.
import type { ForwardArgs, LayerDesc, LayerOutputs, MaskView } from './backend.js';
import { rounding } from './reduced-precision.js';
import { attendSequence, type HeadRows, type ProbsSink } from './reference-attend.js';
import { rotateRows } from './reference-rotary.js';
import { linear } from './reference.js';

/** One sequence of a layer call: its queries are rows [qRow, qRow + l) of the projected q
 * [rows, E], its s keys and values the views k and v (numKvHeads heads). */
export interface LayerSequence { b: number; qRow: number; l: number; s: number; k: HeadRows; v: HeadRows }

/** A layer call's outputs and masks; weights (when wanted) are [batch, (H,) l, s]. */
export interface LayerCall extends LayerOutputs {
  batch: number; l: number; s: number;
  attnMask?: MaskView; keyPadding?: MaskView; causal: boolean;
}

/** A projection of the layer: linear() with the inputs rounded like the weights in a bfloat16
 * layer (whose weights the backend keeps rounded). */
export function project(w: LayerDesc, x: ArrayLike<number>, rows: number, inDim: number, weight: Float32Array,
  outDim: number, bias: Float32Array | undefined): Float64Array {
  return linear(x, rows, inDim, weight, outDim, bias, rounding(w.dtype));
}

/** The head dims of a layer: D = embedDim / numHeads, and the width of a key/value row. */
export function headDims(w: LayerDesc): { d: number; kvWidth: number } {
  const d = w.embedDim / w.numHeads;
  return { d, kvWidth: w.numKvHeads * d };
}

/** Writes probabilities into probs [batch, H, l, s] (rows of a sequence with fewer keys end early). */
function probsInto(probs: Float64Array, H: number, L: number, S: number): ProbsSink {
  return (seq, h, i, row) => probs.set(row, ((seq.b * H + h) * L + i) * S);
}

/** The attention weights averaged over heads [B, L, S], or per head [B, H, L, S]. */
function writeWeights(weights: Float32Array, probs: Float64Array, average: boolean, B: number, H: number,
  LS: number): void {
  if (!average) {
    weights.set(probs);
    return;
  }
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < LS; i++) {
      let sum = 0;
      for (let h = 0; h < H; h++) sum += probs[(b * H + h) * LS + i];
      weights[b * LS + i] = sum / H;
    }
  }
}

/**
 * The projected queries q [rows, E] rotated (rotary, query i of a sequence at position i + s - l),
 * attended per sequence and head over its keys/values, the heads concatenated and projected by
 * the output projection into call.out; the probabilities into call.weights when wanted.
 */
export function attendAndProject(w: LayerDesc, q: Float64Array, seqs: LayerSequence[], call: LayerCall): void {
  const { embedDim: E, numHeads: H, numKvHeads } = w;
  const { d } = headDims(w);
  const rows = q.length / E;
  const context = new Float64Array(rows * E);
  const probs = call.weights ? new Float64Array(call.batch * H * call.l * call.s) : undefined;
  const sink = probs && probsInto(probs, H, call.l, call.s);
  const masks = { attnMask: call.attnMask, keyPadding: call.keyPadding };
  const rowsOf = (data: Float64Array, qRow: number) => ({ data, base: qRow * E, sh: d, sr: E });
  for (const { b, qRow, l, s, k, v } of seqs) {
    if (w.rotary) rotateRows(q, H, d, w.rotary, qRow, l, (i) => i + s - l);
    attendSequence({ heads: H, kvHeads: numKvHeads, d, dv: d }, { ...w, causal: call.causal }, masks,
      { b, l, s, q: rowsOf(q, qRow), k, v, out: rowsOf(context, qRow) }, sink, rounding(w.dtype));
  }
  call.out.set(project(w, context, rows, E, w.outWeight, E, w.outBias));
  if (call.weights && probs) writeWeights(call.weights, probs, call.averageWeights, call.batch, H, call.l * call.s);
}

/** The layer's forward over a dense [B, L, E] / [B, S, *] or packed [T, E] / [Tk, *] call. */
export function referenceForward(w: LayerDesc, args: ForwardArgs): void {
  const { embedDim: E, numKvHeads, kDim, vDim } = w;
  const { d, kvWidth } = headDims(w);
  const { batch: B, l: L, s: S, packed } = args;
  const q = project(w, args.query, packed ? packed.q[B] : B * L, E, w.qWeight, E, w.qBias);
  const kvRows = packed ? packed.kv[B] : B * S;
  const k = project(w, args.key, kvRows, kDim, w.kWeight, kvWidth, w.kBias);
  const v = project(w, args.value, kvRows, vDim, w.vWeight, kvWidth, w.vBias);
  const seqs = Array.from({ length: B }, (_, b): LayerSequence => {
    const [qRow, l] = packed ? [packed.q[b], packed.q[b + 1] - packed.q[b]] : [b * L, L];
    const [kvRow, s] = packed ? [packed.kv[b], packed.kv[b + 1] - packed.kv[b]] : [b * S, S];
    if (w.rotary) rotateRows(k, numKvHeads, d, w.rotary, kvRow, s, (j) => j);
    const rowsOf = (data: Float64Array) => ({ data, base: kvRow * kvWidth, sh: d, sr: kvWidth });
    return { b, qRow, l, s, k: rowsOf(k), v: rowsOf(v) };
  });
  attendAndProject(w, q, seqs, args);
}
