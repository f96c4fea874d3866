// The functional ops' public arguments, validated and normalized into the addon's argument
// records (with a fresh output buffer). The native addon and the TypeScript reference both
// execute these same records.
import type { NativeAttentionArgs, NativeMatmulArgs, NativeSoftmaxArgs } from './addon.js';
import { attnMaskDescriptor, keyPaddingDescriptor, softmaxMaskDescriptor } from './masks.js';
import type { Mask, Tensor } from './tensor.js';
import {
  checkBoolean, checkElementCount, checkFiniteNumber, checkOptions, checkOutput, checkTensor, formatShape,
  invalidParameterError, shapesEqual,
} from './validate.js';

export interface MatmulOptions {
  transposeA?: boolean; transposeB?: boolean; alpha?: number;
  /** Where to write the result (its length = the result's element count; it may not share
   * memory with a or b); returned as the result's data. Without it a new array is allocated. */
  out?: Float32Array;
}
export interface MaskedSoftmaxOptions {
  scale?: number; mask?: Mask; keyPaddingMask?: Mask; isCausal?: boolean;
  /** Where to write the result (its length = x's element count): x.data itself for a softmax
   * in place, or an array sharing no memory with x or the masks; returned as the result's
   * data. Without it a new array is allocated. */
  out?: Float32Array;
}
export interface ScaledDotProductAttentionOptions {
  attnMask?: Mask; isCausal?: boolean; scale?: number;
  /** Where to write the result (its length = B·H·L·Dv; it may not share memory with q, k, v
   * or the mask); returned as the result's data. Without it a new array is allocated. */
  out?: Float32Array;
}

/** Validated arguments of one op, and the shape of its result (held in args.out). */
export interface OpArgs<A> { args: A; shape: number[] }

function output(name: string, shape: number[]): Float32Array {
  return new Float32Array(checkElementCount(name, shape));
}

export function matmulArgs(a: Tensor, b: Tensor, options?: MatmulOptions): OpArgs<NativeMatmulArgs> {
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
  const out = opts.out === undefined
    ? output('result', shape)
    : checkOutput('options.out', opts.out, checkElementCount('result', shape), { 'a.data': ta.data, 'b.data': tb.data });
  return {
    args: { a: ta.data, b: tb.data, out, batch, m, n, k, transA, transB, alpha, bBatched },
    shape,
  };
}

export function maskedSoftmaxArgs(x: Tensor, options?: MaskedSoftmaxOptions): OpArgs<NativeSoftmaxArgs> {
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
  const out = opts.out === undefined
    ? output('result', [...tx.shape])
    : checkOutput('options.out', opts.out, tx.data.length, {
      'x.data': tx.data, 'options.mask.data': attnMask?.data, 'options.keyPaddingMask.data': keyPadding?.data,
    }, 'x.data');
  return {
    args: { x: tx.data, out, batch, heads, l, s, scale, attnMask, keyPadding, causal },
    shape: [...tx.shape],
  };
}

export function attentionArgs(q: Tensor, k: Tensor, v: Tensor,
  options?: ScaledDotProductAttentionOptions): OpArgs<NativeAttentionArgs> {
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
  const out = opts.out === undefined
    ? output('result', shape)
    : checkOutput('options.out', opts.out, checkElementCount('result', shape), {
      'q.data': tq.data, 'k.data': tk.data, 'v.data': tv.data, 'options.attnMask.data': attnMask?.data,
    });
  return {
    args: {
      q: tq.data, k: tk.data, v: tv.data, out,
      batch, heads, l, s, d, dv, scale, attnMask, causal,
    },
    shape,
  };
}
