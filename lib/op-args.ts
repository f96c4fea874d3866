// The functional ops' public arguments, validated and normalized into the backend contract's
// records (backend.ts), with the result they will hold: options.out, or a fresh array.
import type { AttentionArgs, MatmulArgs, Packing, Precision, SoftmaxArgs } from './backend.js';
import { attnMaskDescriptor, keyPaddingDescriptor, softmaxMaskDescriptor } from './masks.js';
import { isPacked, PACKED_NOTE, packedDims, rejectWithPacking } from './packing.js';
import { functionalScoreRule } from './score-rule.js';
import type { AttentionWindow, Mask, Tensor } from './types.js';
import {
  checkBoolean, checkFiniteNumber, checkOneOf, checkOptions, checkTensor, formatShape, invalidParameterError,
  PRECISIONS, resultArray, shapesEqual,
} from './validate.js';

export interface MatmulOptions {
  transposeA?: boolean; transposeB?: boolean; alpha?: number;
  /** 'bfloat16': a and b rounded to bfloat16, products accumulated in float32. Default 'float32'. */
  precision?: Precision;
  /** Where to write the result: at least its element count long, sharing no memory with a or
   * b; the result's data is the view of exactly that length at its start. Default: a new array. */
  out?: Float32Array;
}
/** The score options shared by maskedSoftmax and scaledDotProductAttention (API.md, "Attention
 * variants"): the score s becomes softcap * tanh(s / softcap), then s - alibiSlopes[h] * |pq - pk|,
 * then the masks apply; window blocks keys outside [pq - left, pq + right]. */
export interface ScoreOptions {
  scale?: number; isCausal?: boolean;
  softcap?: number;            // > 0
  alibiSlopes?: Float32Array;  // one slope per head
  window?: AttentionWindow;
}
export interface MaskedSoftmaxOptions extends ScoreOptions {
  mask?: Mask; keyPaddingMask?: Mask;
  /** Where to write the result: at least x's element count long, either starting exactly at
   * x.data (a softmax in place) or sharing no memory with x or the masks; the result's data is
   * the view of exactly that length at its start. Default: a new array. */
  out?: Float32Array;
}
export interface ScaledDotProductAttentionOptions extends ScoreOptions {
  attnMask?: Mask;
  /** 'bfloat16': q, k, v and the probabilities rounded to bfloat16 for the products (float32
   * accumulation and softmax). Default 'float32'. */
  precision?: Precision;
  /** Packed q [T, H, D], k [Tk, Hkv, D], v [Tk, Hkv, Dv]: the N query sequences' lengths (sum T). */
  sequenceLengths?: ArrayLike<number>;
  /** The N key/value sequences' lengths (sum Tk); default: sequenceLengths. */
  kvSequenceLengths?: ArrayLike<number>;
  /** Where to write the result: at least its element count long, sharing no memory with q, k,
   * v or the mask; the result's data is the view of exactly that length at its start. Default:
   * a new array. */
  out?: Float32Array;
}

/** Validated arguments of one op, and the result its out array becomes. */
export interface OpArgs<A> { args: A; result: Tensor }

export function matmulArgs(a: Tensor, b: Tensor, options?: MatmulOptions): OpArgs<MatmulArgs> {
  const ta = checkTensor('a', a, 'min2', '[..., M, K]');
  const tb = checkTensor('b', b, 'min2', '[..., K, N]');
  const opts = checkOptions('options', options);
  const transA = checkBoolean('options.transposeA', opts.transposeA, false);
  const transB = checkBoolean('options.transposeB', opts.transposeB, false);
  const alpha = checkFiniteNumber('options.alpha', opts.alpha, 1);

  const batchDims = ta.shape.slice(0, -2);
  const [ar, ac] = ta.shape.slice(-2);
  const [m, k] = transA ? [ac, ar] : [ar, ac];
  const [br, bc] = tb.shape.slice(-2);
  const n = transB ? br : bc;
  const bKDim = transB ? bc : br;
  const bBatched = tb.shape.length > 2;
  if (bKDim !== k || (bBatched && !shapesEqual(tb.shape.slice(0, -2), batchDims))) {
    const last = transB ? ['N', k] : [k, 'N'];
    const dims = transB ? 'N, K' : 'K, N';
    const expected = batchDims.length > 0
      ? `shape ${formatShape([...batchDims, ...last])} ([..., ${dims}]) or ${formatShape(last)} ([${dims}], shared)`
      : `shape ${formatShape(last)} ([${dims}])`;
    throw invalidParameterError('b', expected, tb.shape);
  }
  const shape = [...batchDims, m, n];
  const batch = batchDims.reduce((p, d) => p * d, 1);
  const out = resultArray('options.out', opts.out, shape, { 'a.data': ta.data, 'b.data': tb.data });
  return {
    args: {
      a: ta.data, b: tb.data, out, batch, m, n, k, transA, transB, alpha, bBatched,
      precision: checkOneOf('options.precision', opts.precision, PRECISIONS, 'float32'),
    },
    result: { data: out, shape },
  };
}

export function maskedSoftmaxArgs(x: Tensor, options?: MaskedSoftmaxOptions): OpArgs<SoftmaxArgs> {
  const tx = checkTensor('x', x, 'min2', '[..., L, S]');
  const opts = checkOptions('options', options);
  const rank = tx.shape.length;
  const [l, s] = tx.shape.slice(-2);
  const leading = tx.shape.slice(0, -2);
  // Rank 4 is [B, H, L, S]; any other leading dims flatten into the batch.
  const [batch, heads] = rank === 4 ? [leading[0], leading[1]] : [leading.reduce((p, d) => p * d, 1), 1];
  for (const option of ['keyPaddingMask', 'alibiSlopes'] as const) {
    if (opts[option] !== undefined && rank !== 4) {
      throw invalidParameterError('x', `a shape of rank 4 ([B, H, L, S]) when options.${option} is given`, tx.shape);
    }
  }
  const rule = functionalScoreRule(opts, heads, 1);
  const dims = { batch, heads, l, s };
  const attnMask = softmaxMaskDescriptor('options.mask', opts.mask, tx.shape, dims);
  const keyPadding = keyPaddingDescriptor('options.keyPaddingMask', opts.keyPaddingMask, dims);
  const shape = [...tx.shape];
  const out = resultArray('options.out', opts.out, shape, {
    'x.data': tx.data, 'options.mask.data': attnMask?.data, 'options.keyPaddingMask.data': keyPadding?.data,
  }, 'x.data');
  return {
    args: { x: tx.data, out, batch, heads, l, s, ...rule, attnMask, keyPadding },
    result: { data: out, shape },
  };
}

/** The dims of an attention call: dense [B, H, L, D] or packed [T, H, D] (then batch = N). */
interface AttentionCallDims {
  batch: number; heads: number; kvHeads: number; l: number; s: number; d: number; dv: number;
  packed?: Packing; shape: number[];
}

/** q [B, H, L, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv]. */
function denseAttentionDims(tq: Tensor, tk: Tensor, tv: Tensor): AttentionCallDims {
  const [batch, heads, l, d] = tq.shape;
  const [, kvHeads, s] = tk.shape;
  if (!shapesEqual(tk.shape, [batch, kvHeads, s, d]) || heads % kvHeads !== 0) {
    throw invalidParameterError('k', `shape ${formatShape([batch, 'Hkv', 'S', d])} ([B, Hkv, S, D], Hkv dividing ` +
      `H = ${heads})`, tk.shape);
  }
  const dv = tv.shape[3];
  if (!shapesEqual(tv.shape, [batch, kvHeads, s, dv])) {
    throw invalidParameterError('v', `shape ${formatShape([batch, kvHeads, s, 'Dv'])} ([B, Hkv, S, Dv])`, tv.shape);
  }
  return { batch, heads, kvHeads, l, s, d, dv, shape: [batch, heads, l, dv] };
}

/** q [T, H, D], k [Tk, Hkv, D], v [Tk, Hkv, Dv] with the options' sequence lengths. */
function packedAttentionDims(tq: Tensor, tk: Tensor, tv: Tensor, opts: Record<string, unknown>): AttentionCallDims {
  const [T, heads, d] = tq.shape;
  const [Tk, kvHeads] = tk.shape;
  if (!shapesEqual(tk.shape, [Tk, kvHeads, d]) || heads % kvHeads !== 0) {
    throw invalidParameterError('k', `shape ${formatShape(['Tk', 'Hkv', d])} ([Tk, Hkv, D], Hkv dividing H = ${heads})`,
      tk.shape);
  }
  const dv = tv.shape[2];
  if (!shapesEqual(tv.shape, [Tk, kvHeads, dv])) {
    throw invalidParameterError('v', `shape ${formatShape([Tk, kvHeads, 'Dv'])} ([Tk, Hkv, Dv])`, tv.shape);
  }
  rejectWithPacking('options.attnMask', opts.attnMask);
  const { packed, batch, l, s } = packedDims(opts, T, 'T (q.shape[0])', Tk, 'Tk (k.shape[0])');
  return { batch, heads, kvHeads, l, s, d, dv, packed, shape: [T, heads, dv] };
}

export function attentionArgs(q: Tensor, k: Tensor, v: Tensor,
  options?: ScaledDotProductAttentionOptions): OpArgs<AttentionArgs> {
  const opts = checkOptions('options', options);
  // options.sequenceLengths makes the call packed (token-major tensors of one rank less).
  const packing = isPacked(opts);
  const rank = packing ? 3 : 4;
  const tq = checkTensor('q', q, rank, packing ? `[T, H, D]${PACKED_NOTE}` : '[B, H, L, D]');
  const tk = checkTensor('k', k, rank, packing ? `[Tk, Hkv, D]${PACKED_NOTE}` : '[B, Hkv, S, D]');
  const tv = checkTensor('v', v, rank, packing ? `[Tk, Hkv, Dv]${PACKED_NOTE}` : '[B, Hkv, S, Dv]');
  const call = packing ? packedAttentionDims(tq, tk, tv, opts) : denseAttentionDims(tq, tk, tv);
  const { batch, heads, kvHeads, l, s, d, dv, packed, shape } = call;
  const rule = functionalScoreRule(opts, heads, 1 / Math.sqrt(d));
  const attnMask = attnMaskDescriptor('options.attnMask', opts.attnMask, { batch, heads, l, s });
  const out = resultArray('options.out', opts.out, shape, {
    'q.data': tq.data, 'k.data': tk.data, 'v.data': tv.data, 'options.attnMask.data': attnMask?.data,
  });
  return {
    args: {
      q: tq.data, k: tk.data, v: tv.data, out, batch, heads, kvHeads, l, s, d, dv, packed, ...rule, attnMask,
      precision: checkOneOf('options.precision', opts.precision, PRECISIONS, 'float32'),
    },
    result: { data: out, shape },
  };
}
