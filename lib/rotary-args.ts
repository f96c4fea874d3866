// Rotary position embedding (RoPE): the layer's options.rotary and rotaryEmbedding's arguments,
// validated into the backend contract's RotarySpec / RotaryArgs (backend.ts).
import type { RotaryArgs, RotarySpec } from './backend.js';
import type { OpArgs } from './op-args.js';
import { checkSequenceLengths } from './packing.js';
import type { RotaryOptions, Tensor } from './types.js';
import {
  checkBoolean, checkFiniteNumber, checkNumberList, checkOptions, checkPositiveInteger, checkPositiveNumber,
  checkTensor, invalidParameterError, resultArray,
} from './validate.js';

export interface RotaryEmbeddingOptions extends RotaryOptions {
  /** The position of each of the L (x [B, H, L, D]) or T (x [T, H, D]) vectors; default 0, 1, ... */
  positions?: ArrayLike<number>;
  /** x [T, H, D] only: the packed sequences' lengths (sum T); default positions restart at 0 in each. */
  sequenceLengths?: ArrayLike<number>;
  /** Where to write the result: at least x's element count long, either exactly x.data (in
   * place) or sharing no memory with x; the result's data is the view of exactly that length
   * at its start. Default: a new array. */
  out?: Float32Array;
}

/** A RotaryOptions object (named `name`) for heads of headDim features -> the RotarySpec. */
export function checkRotarySpec(name: string, value: unknown, headDim: number): RotarySpec {
  const opts = checkOptions(name, value);
  const dim = opts.dim === undefined ? headDim : checkPositiveInteger(`${name}.dim`, opts.dim);
  if (dim % 2 !== 0 || dim > headDim) {
    throw invalidParameterError(`${name}.dim`, `an even number of features, at most the head dim (${headDim})`, dim);
  }
  return {
    dim,
    base: checkPositiveNumber(`${name}.base`, opts.base, 10000),
    interleaved: checkBoolean(`${name}.interleaved`, opts.interleaved, false),
  };
}

/** Positions 0..n-1, restarting at 0 at each of the given offsets' sequences when given. */
function defaultPositions(n: number, offsets?: Int32Array): Float64Array {
  const positions = Float64Array.from({ length: n }, (_, i) => i);
  if (offsets) {
    for (let seq = 0; seq + 1 < offsets.length; seq++) {
      for (let i = offsets[seq]; i < offsets[seq + 1]; i++) positions[i] = i - offsets[seq];
    }
  }
  return positions;
}

function checkPosition(name: string, value: unknown): number {
  if (typeof value !== 'number') throw invalidParameterError(name, 'a finite number', value, TypeError);
  return checkFiniteNumber(name, value, 0);
}

/** rotaryEmbedding(x [B, H, L, D] | [T, H, D], options). */
export function rotaryArgs(x: Tensor, options?: RotaryEmbeddingOptions): OpArgs<RotaryArgs> {
  const tx = checkTensor('x', x, 'min2', '[B, H, L, D] or [T, H, D]');
  if (tx.shape.length !== 3 && tx.shape.length !== 4) {
    throw invalidParameterError('x', 'a shape of rank 4 ([B, H, L, D]) or 3 ([T, H, D], packed)', tx.shape);
  }
  const opts = checkOptions('options', options);
  const packed = tx.shape.length === 3;
  // [B, H, L, D]: B*H groups of L vectors of one head; [T, H, D]: one group of T vectors of H heads.
  const [groups, n, heads, d] = packed ? [1, ...tx.shape] : [tx.shape[0] * tx.shape[1], tx.shape[2], 1, tx.shape[3]];
  const spec = checkRotarySpec('options', { dim: opts.dim, base: opts.base, interleaved: opts.interleaved }, d);
  let offsets: Int32Array | undefined;
  if (opts.sequenceLengths !== undefined) {
    if (!packed) {
      throw invalidParameterError('options.sequenceLengths', 'undefined with x of rank 4 (only packed x [T, H, D] ' +
        'has sequences)', opts.sequenceLengths);
    }
    if (opts.positions !== undefined) {
      throw invalidParameterError('options.sequenceLengths', 'undefined when options.positions is given',
        opts.sequenceLengths);
    }
    offsets = checkSequenceLengths('options.sequenceLengths', opts.sequenceLengths, n, 'T (x.shape[0])').offsets;
  }
  const positions = opts.positions === undefined ? defaultPositions(n, offsets)
    : Float64Array.from(checkNumberList('options.positions', opts.positions, checkPosition));
  if (positions.length !== n) {
    throw invalidParameterError('options.positions.length', `${n} (one per ${packed ? 'token, T' : 'query, L'})`,
      positions.length);
  }
  const shape = [...tx.shape];
  const out = resultArray('options.out', opts.out, shape, { 'x.data': tx.data }, 'x.data');
  return { args: { x: tx.data, out, groups, n, heads, d, positions, ...spec }, result: { data: out, shape } };
}
