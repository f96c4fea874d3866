// A layer call without a KV cache, validated into the backend contract's ForwardArgs: dense
// query [B, L, E], key [B, S, kDim], value [B, S, vDim], or packed query [T, E], key [Tk, kDim],
// value [Tk, vDim] with options.sequenceLengths.
import type { ForwardArgs } from './backend.js';
import { layerOutputs } from './layer-result.js';
import { attnMaskDescriptor, keyPaddingDescriptor } from './masks.js';
import { isPacked, PACKED_NOTE, packedDims, rejectWithPacking } from './packing.js';
import { sameTensor } from './tensor.js';
import type { AttentionResult } from './types.js';
import { checkBoolean, checkElementCount, checkOptions, checkShape, checkTensor } from './validate.js';

/** The layer dims a call is checked against. */
export interface LayerDims { embedDim: number; numHeads: number; kDim: number; vDim: number }

export interface LayerCallArgs { args: ForwardArgs; result: AttentionResult }

function denseForwardArgs(layer: LayerDims, query: unknown, key: unknown, value: unknown,
  opts: Record<string, unknown>): LayerCallArgs {
  const { embedDim: E, numHeads: H, kDim, vDim } = layer;
  const q = checkTensor('query', query, 3, '[B, L, E]');
  const k = checkTensor('key', key, 3, '[B, S, kDim]');
  const v = checkTensor('value', value, 3, '[B, S, vDim]');
  const [B, L] = q.shape;
  const S = k.shape[1];
  checkShape('query', q.shape, [B, L, E], '[B, L, E]');
  checkShape('key', k.shape, [B, S, kDim], '[B, S, kDim]');
  checkShape('value', v.shape, [B, S, vDim], '[B, S, vDim]');
  checkElementCount('key projected to [B, S, E]', [B, S, E]);
  const dims = { batch: B, heads: H, l: L, s: S };
  const keyPadding = keyPaddingDescriptor('options.keyPaddingMask', opts.keyPaddingMask, dims);
  const attnMask = attnMaskDescriptor('options.attnMask', opts.attnMask, dims);
  const causal = checkBoolean('options.isCausal', opts.isCausal, false);
  const { outputs, result } = layerOutputs(opts, [B, L, E], dims, {
    'query.data': q.data, 'key.data': k.data, 'value.data': v.data,
    'options.attnMask.data': attnMask?.data, 'options.keyPaddingMask.data': keyPadding?.data,
  });
  const args: ForwardArgs = {
    query: q.data, key: k.data, value: v.data, batch: B, l: L, s: S,
    selfAttention: sameTensor(q, k) && sameTensor(q, v),
    attnMask, keyPadding, causal, ...outputs,
  };
  return { args, result };
}

function packedForwardArgs(layer: LayerDims, query: unknown, key: unknown, value: unknown,
  opts: Record<string, unknown>): LayerCallArgs {
  const { embedDim: E, kDim, vDim } = layer;
  const q = checkTensor('query', query, 2, `[T, E]${PACKED_NOTE}`);
  const k = checkTensor('key', key, 2, `[Tk, kDim]${PACKED_NOTE}`);
  const v = checkTensor('value', value, 2, `[Tk, vDim]${PACKED_NOTE}`);
  const [T] = q.shape;
  const [Tk] = k.shape;
  checkShape('query', q.shape, [T, E], '[T, E]');
  checkShape('key', k.shape, [Tk, kDim], '[Tk, kDim]');
  checkShape('value', v.shape, [Tk, vDim], '[Tk, vDim]');
  checkElementCount('key projected to [Tk, E]', [Tk, E]);
  rejectWithPacking('options.attnMask', opts.attnMask);
  rejectWithPacking('options.keyPaddingMask', opts.keyPaddingMask);
  const { packed, batch, l, s } = packedDims(opts, T, 'T (query.shape[0])', Tk, 'Tk (key.shape[0])');
  const causal = checkBoolean('options.isCausal', opts.isCausal, false);
  const { outputs, result } = layerOutputs(opts, [T, E], undefined,
    { 'query.data': q.data, 'key.data': k.data, 'value.data': v.data });
  const args: ForwardArgs = {
    query: q.data, key: k.data, value: v.data, batch, l, s, packed,
    selfAttention: sameTensor(q, k) && sameTensor(q, v), causal, ...outputs,
  };
  return { args, result };
}

/** forward(query, key, value, options) without a kvCache: dense, or packed with options.sequenceLengths. */
export function forwardArgs(layer: LayerDims, query: unknown, key: unknown, value: unknown,
  options: unknown): LayerCallArgs {
  const opts = checkOptions('options', options);
  return (isPacked(opts) ? packedForwardArgs : denseForwardArgs)(layer, query, key, value, opts);
}
