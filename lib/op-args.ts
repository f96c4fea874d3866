// The functional ops' public arguments, validated and normalized into the backend contract's
// records (backend.ts), with the result they will hold: options.out, or a fresh array.
import type { AttentionArgs, MatmulArgs, SoftmaxArgs } from './backend.js';
import { attnMaskDescriptor, keyPaddingDescriptor, softmaxMaskDescriptor } from './masks.js';
import type { Mask, Tensor } from './types.js';
import {
  checkBoolean, checkFiniteNumber, checkOptions, checkTensor, formatShape, invalidParameterError, resultArray,
  shapesEqual,
} from './validate.js';

export interface MatmulOptions {
  transposeA?: boolean; transposeB?: boolean; alpha?: number;
  /** Where to write the result: at least its element count long, sharing no memory with a or
   * b; the result's data is the view of exactly that length at its start. Default: a new array. */
  out?: Float32Array;
}
export interface MaskedSoftmaxOptions {
  scale?: number; mask?: Mask; keyPaddingMask?: Mask; isCausal?: boolean;
  /** Where to write the result: at least x's element count long, either starting exactly at
   * x.data (a softmax in place) or sharing no memory with x or the masks; the result's data is
   * the view of exactly that length at its start. Default: a new array. */
  out?: Float32Array;
}
export interface ScaledDotProductAttentionOptions {
  attnMask?: Mask; isCausal?: boolean; scale?: number;
  /** Where to write the result: at least B·H·L·Dv long, sharing no memory with q, k, v or the
   * mask; the result's data is the view of exactly that length at its start. Default: a new array. */
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
    args: { a: ta.data, b: tb.data, out, batch, m, n, k, transA, transB, alpha, bBatched },
    result: { data: out, shape },
  };
}

export function maskedSoftmaxArgs(x: Tensor, options?: MaskedSoftmaxOptions): OpArgs<SoftmaxArgs> {
  const tx = checkTensor('x', x, 'min2', '[..., L, S]');
  const opts = checkOptions('options', options);
  const scale = checkFiniteNumber('options.scale', opts.scale, 1);
  const causal = checkBoolean('options.isCausal', opts.isCausal, false);
  const rank = tx.shape.length;
  const [l, s] = tx.shape.slice(-2);
  const leading = tx.shape.slice(0, -2);
  // Rank 4 is [B, H, L, S]; any other leading dims flatten into the batch.
  const [batch, heads] = rank === 4 ? [leading[0], leading[1]] : [leading.reduce((p, d) => p * d, 1), 1];
  const dims = { batch, heads, l, s };
  const attnMask = softmaxMaskDescriptor('options.mask', opts.mask, tx.shape, dims);
  if (opts.keyPaddingMask !== undefined && rank !== 4) {
    throw invalidParameterError('x', 'a shape of rank 4 ([B, H, L, S]) when options.keyPaddingMask is given', tx.shape);
  }
  const keyPadding = keyPaddingDescriptor('options.keyPaddingMask', opts.keyPaddingMask, dims);
  const shape = [...tx.shape];
  const out = resultArray('options.out', opts.out, shape, {
    'x.data': tx.data, 'options.mask.data': attnMask?.data, 'options.keyPaddingMask.data': keyPadding?.data,
  }, 'x.data');
  return {
    args: { x: tx.data, out, batch, heads, l, s, scale, attnMask, keyPadding, causal },
    result: { data: out, shape },
  };
}

export function attentionArgs(q: Tensor, k: Tensor, v: Tensor,
  options?: ScaledDotProductAttentionOptions): OpArgs<AttentionArgs> {
  const tq = checkTensor('q', q, 4, '[B, H, L, D]');
  const tk = checkTensor('k', k, 4, '[B, H, S, D]');
  const tv = checkTensor('v', v, 4, '[B, H, S, Dv]');
  const [batch, heads, l, d] = tq.shape;
  const s = tk.shape[2];
  if (!shapesEqual(tk.shape, [batch, heads, s, d])) {
    throw invalidParameterError('k', `shape ${formatShape([batch, heads, 'S', d])} ([B, H, S, D])`, tk.shape);
  }
  const dv = tv.shape[3];
  if (!shapesEqual(tv.shape, [batch, heads, s, dv])) {
    throw invalidParameterError('v', `shape ${formatShape([batch, heads, s, 'Dv'])} ([B, H, S, Dv])`, tv.shape);
  }
  const opts = checkOptions('options', options);
  const scale = checkFiniteNumber('options.scale', opts.scale, 1 / Math.sqrt(d));
  const causal = checkBoolean('options.isCausal', opts.isCausal, false);
  const dims = { batch, heads, l, s };
  const attnMask = attnMaskDescriptor('options.attnMask', opts.attnMask, dims);
  const shape = [batch, heads, l, dv];
  const out = resultArray('options.out', opts.out, shape, {
    'q.data': tq.data, 'k.data': tk.data, 'v.data': tv.data, 'options.attnMask.data': attnMask?.data,
  });
  return {
    args: { q: tq.data, k: tk.data, v: tv.data, out, batch, heads, l, s, d, dv, scale, attnMask, causal },
    result: { data: out, shape },
  };
}
