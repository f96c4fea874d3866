// A state_dict -> MultiHeadAttention options. Accepted keys (PyTorch nn.MultiheadAttention
// names; Llama and Hugging Face BERT names are renamed to these first, weight-names.ts):
// in_proj_weight [E + 2 Ekv, E] or q_proj_weight [E, E] / k_proj_weight [Ekv, kDim] /
// v_proj_weight [Ekv, vDim]; in_proj_bias [E + 2 Ekv] (packed even with separate weights);
// out_proj.weight [E, E]; out_proj.bias [E]. Ekv = numKvHeads * headDim: E, unless
// options.numKvHeads says otherwise or (separate weights) k_proj_weight's rows do.
// Values are Float32Arrays or Tensors; no bias keys means bias: false.
import { checkNumKvHeads, RULE_OPTIONS } from './layer-variant.js';
import type { MultiHeadAttentionOptions, MultiHeadAttentionWeights } from './mha-types.js';
import type { Tensor } from './types.js';
import {
  checkLive, checkObject, checkPositiveInteger, checkShape, checkTensor, formatShape, invalidParameterError,
} from './validate.js';
import { torchNamedState } from './weight-names.js';

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

/** The second dim of a [rows, X] weight; rowsName names rows in messages ("E" or "Ekv"). */
function inputDim(e: Entry, rows: number, rowsName: string, dims: string): number {
  const dim = e.shape ? e.shape[1] : e.data.length / rows;
  if (!Number.isInteger(dim) || dim < 1) {
    throw invalidParameterError(`${e.name}.length`, `a multiple of ${rowsName} = ${rows} (${dims})`, e.data.length);
  }
  expectShape(e, [rows, dim], dims);
  return dim;
}

/** Ekv, the rows of the key/value projections: from options.numKvHeads when given, else from
 * k_proj_weight's shape (a Tensor), else E; RangeError unless it is numKvHeads * headDim with
 * numKvHeads dividing numHeads. */
function kvRows(k: Entry | undefined, E: number, H: number, numKvHeads: unknown): number {
  if (numKvHeads !== undefined) return (checkNumKvHeads(numKvHeads, H) * E) / H;
  const rows = k?.shape ? k.shape[0] : E;
  const heads = (rows * H) / E;
  if (!Number.isInteger(heads) || heads < 1 || H % heads !== 0) {
    throw invalidParameterError(k!.name, `rows numKvHeads * headDim (headDim ${E / H}) with numKvHeads dividing ` +
      `numHeads (${H})`, k!.shape);
  }
  return rows;
}

export function stateDictOptions(state: unknown, options: unknown): MultiHeadAttentionOptions {
  const dict = torchNamedState(checkObject('state', state));
  const opts = checkObject('options', options);
  const unknown = Object.keys(dict).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) {
    throw invalidParameterError('state', `only the keys ${KEYS.map((k) => `"${k}"`).join(', ')} (PyTorch), or ` +
      'Llama / Hugging Face BERT names', unknown);
  }

  const outWeight = required(dict, 'out_proj.weight', 2, '[E, E]');
  const E = outWeight.shape ? outWeight.shape[0] : Math.round(Math.sqrt(outWeight.data.length));
  if (E < 1) throw invalidParameterError(`${outWeight.name}.length`, 'E * E with E >= 1 ([E, E])', 0);
  expectShape(outWeight, [E, E], '[E, E]');
  const H = checkPositiveInteger('options.numHeads', opts.numHeads);

  const packed = entry(dict, 'in_proj_weight', 2, '[E + 2 Ekv, E]');
  const separate = ['q_proj_weight', 'k_proj_weight', 'v_proj_weight'].filter((k) => dict[k] !== undefined);
  if (packed && separate.length > 0) {
    throw invalidParameterError('state', 'either "in_proj_weight" or q/k/v_proj_weight, not both', separate);
  }
  let qWeight: Float32Array, kWeight: Float32Array, vWeight: Float32Array;
  let kDim = E, vDim = E, Ekv: number;
  if (packed) {
    Ekv = kvRows(undefined, E, H, opts.numKvHeads);
    const w = expectShape(packed, [E + 2 * Ekv, E], Ekv === E ? '[3E, E]' : '[E + 2 Ekv, E]');
    [qWeight, kWeight, vWeight] = [[0, E], [E, E + Ekv], [E + Ekv, E + 2 * Ekv]].map(([from, to]) =>
      w.subarray(from * E, to * E));
  } else {
    qWeight = expectShape(required(dict, 'q_proj_weight', 2, '[E, E]'), [E, E], '[E, E]');
    const k = required(dict, 'k_proj_weight', 2, '[Ekv, kDim]');
    const v = required(dict, 'v_proj_weight', 2, '[Ekv, vDim]');
    Ekv = kvRows(k, E, H, opts.numKvHeads);
    const rows = Ekv === E ? ['E', '[E, kDim]', '[E, vDim]'] : ['Ekv', '[Ekv, kDim]', '[Ekv, vDim]'];
    kDim = inputDim(k, Ekv, rows[0], rows[1]);
    vDim = inputDim(v, Ekv, rows[0], rows[2]);
    kWeight = k.data;
    vWeight = v.data;
  }

  const inBias = entry(dict, 'in_proj_bias', 1, '[E + 2 Ekv]');
  const outBias = entry(dict, 'out_proj.bias', 1, '[E]');
  if (!inBias !== !outBias) {
    const missing = inBias ? 'out_proj.bias' : 'in_proj_bias';
    throw invalidParameterError(`state["${missing}"]`, `a Float32Array or Tensor (the other bias is present)`,
      undefined, TypeError);
  }
  const weights: MultiHeadAttentionWeights = { qWeight, kWeight, vWeight, outWeight: outWeight.data };
  if (inBias && outBias) {
    const b = expectShape(inBias, [E + 2 * Ekv], Ekv === E ? '[3E]' : '[E + 2 Ekv]');
    weights.qBias = b.subarray(0, E);
    weights.kBias = b.subarray(E, E + Ekv);
    weights.vBias = b.subarray(E + Ekv);
    weights.outBias = expectShape(outBias, [E], '[E]');
  }
  const rule = Object.fromEntries(RULE_OPTIONS.map((key) => [key, opts[key]]));
  return {
    ...rule, embedDim: E, numHeads: H, numKvHeads: (Ekv * H) / E, kDim, vDim, bias: inBias !== undefined, weights,
    backend: opts.backend as MultiHeadAttentionOptions['backend'],
  };
}
