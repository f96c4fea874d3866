// A PyTorch nn.MultiheadAttention state_dict -> MultiHeadAttention options. Accepted keys:
// in_proj_weight [3E, E] or q_proj_weight [E, E] / k_proj_weight [E, kDim] / v_proj_weight
// [E, vDim]; in_proj_bias [3E] (packed even with separate weights); out_proj.weight [E, E];
// out_proj.bias [E]. Values are Float32Arrays or Tensors; no bias keys means bias: false.
import type { MultiHeadAttentionOptions, MultiHeadAttentionWeights } from './mha-types.js';
import type { Tensor } from './types.js';
import { checkLive, checkObject, checkShape, checkTensor, formatShape, invalidParameterError } from './validate.js';

const KEYS = ['in_proj_weight', 'in_proj_bias', 'q_proj_weight', 'k_proj_weight', 'v_proj_weight',
  'out_proj.weight', 'out_proj.bias'];

/** A state entry: its data, and its shape when given as a Tensor. */
interface Entry { name: string; data: Float32Array; shape?: readonly number[] }

function entry(state: Record<string, unknown>, key: string, rank: number, dims: string): Entry | undefined {
  const value = state[key];
  const name = `state["${key}"]`;
  if (value === undefined) return undefined;
  if (value instanceof Float32Array) {
    checkLive(name, value);
    return { name, data: value };
  }
  if (ArrayBuffer.isView(value)) throw invalidParameterError(name, `a Float32Array or Tensor ${dims}`, value, TypeError);
  const t: Tensor = checkTensor(name, value, rank, dims);
  return { name, data: t.data, shape: t.shape };
}

function required(state: Record<string, unknown>, key: string, rank: number, dims: string): Entry {
  const e = entry(state, key, rank, dims);
  if (!e) throw invalidParameterError(`state["${key}"]`, `a Float32Array or Tensor ${dims}`, undefined, TypeError);
  return e;
}

/** RangeError unless the entry has exactly this shape (or, as a bare array, its element count). */
function expectShape(e: Entry, expected: number[], dims: string): Float32Array {
  if (e.shape) {
    checkShape(e.name, e.shape, expected, dims);
  } else {
    const count = expected.reduce((p, d) => p * d, 1);
    if (e.data.length !== count) {
      throw invalidParameterError(`${e.name}.length`, `${count} (${dims} = ${formatShape(expected)})`, e.data.length);
    }
  }
  return e.data;
}

/** The second dim of a [E, X] weight. */
function inputDim(e: Entry, E: number, dims: string): number {
  const dim = e.shape ? e.shape[1] : e.data.length / E;
  if (!Number.isInteger(dim) || dim < 1) {
    throw invalidParameterError(`${e.name}.length`, `a multiple of E = ${E} (${dims})`, e.data.length);
  }
  expectShape(e, [E, dim], dims);
  return dim;
}

export function stateDictOptions(state: unknown, options: unknown): MultiHeadAttentionOptions {
  const dict = checkObject('state', state);
  const opts = checkObject('options', options);
  const unknown = Object.keys(dict).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) {
    throw invalidParameterError('state', `only the keys ${KEYS.map((k) => `"${k}"`).join(', ')}`, unknown);
  }

  const outWeight = required(dict, 'out_proj.weight', 2, '[E, E]');
  const E = outWeight.shape ? outWeight.shape[0] : Math.round(Math.sqrt(outWeight.data.length));
  if (E < 1) throw invalidParameterError(`${outWeight.name}.length`, 'E * E with E >= 1 ([E, E])', 0);
  expectShape(outWeight, [E, E], '[E, E]');

  const packed = entry(dict, 'in_proj_weight', 2, '[3E, E]');
  const separate = ['q_proj_weight', 'k_proj_weight', 'v_proj_weight'].filter((k) => dict[k] !== undefined);
  if (packed && separate.length > 0) {
    throw invalidParameterError('state', 'either "in_proj_weight" or q/k/v_proj_weight, not both', separate);
  }
  let qWeight: Float32Array, kWeight: Float32Array, vWeight: Float32Array;
  let kDim = E, vDim = E;
  if (packed) {
    const w = expectShape(packed, [3 * E, E], '[3E, E]');
    [qWeight, kWeight, vWeight] = [0, 1, 2].map((i) => w.subarray(i * E * E, (i + 1) * E * E));
  } else {
    qWeight = expectShape(required(dict, 'q_proj_weight', 2, '[E, E]'), [E, E], '[E, E]');
    const k = required(dict, 'k_proj_weight', 2, '[E, kDim]');
    const v = required(dict, 'v_proj_weight', 2, '[E, vDim]');
    kDim = inputDim(k, E, '[E, kDim]');
    vDim = inputDim(v, E, '[E, vDim]');
    kWeight = k.data;
    vWeight = v.data;
  }

  const inBias = entry(dict, 'in_proj_bias', 1, '[3E]');
  const outBias = entry(dict, 'out_proj.bias', 1, '[E]');
  if (!inBias !== !outBias) {
    const missing = inBias ? 'out_proj.bias' : 'in_proj_bias';
    throw invalidParameterError(`state["${missing}"]`, `a Float32Array or Tensor (the other bias is present)`,
      undefined, TypeError);
  }
  const weights: MultiHeadAttentionWeights = { qWeight, kWeight, vWeight, outWeight: outWeight.data };
  if (inBias && outBias) {
    const b = expectShape(inBias, [3 * E], '[3E]');
    weights.qBias = b.subarray(0, E);
    weights.kBias = b.subarray(E, 2 * E);
    weights.vBias = b.subarray(2 * E);
    weights.outBias = expectShape(outBias, [E], '[E]');
  }
  return {
    embedDim: E, numHeads: opts.numHeads as number, kDim, vDim, bias: inBias !== undefined, weights,
    backend: opts.backend as MultiHeadAttentionOptions['backend'],
  };
}
