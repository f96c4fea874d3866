// Calls through a KV cache (appendKV, forward with options.kvCache), validated into the backend
// contract's records (backend.ts AppendArgs, CachedForwardArgs) with the lengths every
// sequence will hold once the call is done. Nothing is changed here: a call that fails
// validation (e.g. one overflowing any sequence) leaves the cache as it was.
import type { AppendArgs, CachedForwardArgs, MaskView } from './backend.js';
import type { LayerDims } from './forward-args.js';
import type { KVCache } from './kv-cache.js';
import { layerOutputs } from './layer-result.js';
import { attnMaskDescriptor, keyPaddingDescriptor } from './masks.js';
import { checkSequenceLengths, isPacked, PACKED_NOTE, rejectWithPacking } from './packing.js';
import { sameTensor } from './tensor.js';
import type { AttentionResult, Tensor } from './types.js';
import {
  checkBoolean, checkOptions, checkShape, checkTensor, describe, invalidParameterError,
} from './validate.js';

/** A padding mask [B, T] over new positions -> one flag per position (nonzero = padding). */
function paddingFlags(name: string, value: unknown, B: number, T: number): Uint8Array | undefined {
  const mask = keyPaddingDescriptor(name, value, { batch: B, heads: 1, l: 1, s: T });
  if (!mask) return undefined;
  if (mask.data instanceof Uint8Array) return Uint8Array.from(mask.data, (x) => (x !== 0 ? 1 : 0));
  return Uint8Array.from(mask.data, (x, i) => {
    if (x === -Infinity) return 1;
    if (x === 0) return 0;
    throw invalidParameterError(`${name}.data[${i}]`,
      '0 or -Infinity (a KV cache keeps one padding flag per position, no additive bias)', x);
  });
}

function checkBatch(name: string, shape: readonly number[], cache: KVCache): void {
  if (shape[0] !== cache.batchSize) {
    throw invalidParameterError(name, `batch size ${cache.batchSize} (the KVCache's batchSize)`, shape);
  }
}

/** RangeError unless `holder` (holding `held` positions) has room for `count` more. */
function checkRoom(name: string, cache: KVCache, held: number, count: number, holder = 'the KVCache'): void {
  if (held + count > cache.capacity) {
    throw invalidParameterError(name,
      `at most ${cache.capacity - held} new positions (${holder} holds ${held} of capacity ${cache.capacity})`, count);
  }
}

const longest = (lengths: Int32Array) => lengths.reduce((m, n) => Math.max(m, n), 0);

/** A cached call: its record, its result, and each sequence's length once it is done. */
export interface CachedCall<A> { args: A; result: AttentionResult; lengths: Int32Array }

/** appendKV(cache, key [B, T, kDim], value [B, T, vDim], { keyPaddingMask? [B, T] }): T new
 * positions for every sequence, each after its own. */
export function appendArgs(layer: LayerDims, cache: KVCache, lengths: Int32Array, key: unknown, value: unknown,
  options: unknown): { args: AppendArgs; lengths: Int32Array } {
  const k = checkTensor('key', key, 3, '[B, T, kDim]');
  const v = checkTensor('value', value, 3, '[B, T, vDim]');
  const [B, T] = k.shape;
  checkShape('key', k.shape, [B, T, layer.kDim], '[B, T, kDim]');
  checkShape('value', v.shape, [B, T, layer.vDim], '[B, T, vDim]');
  checkBatch('key', k.shape, cache);
  const opts = checkOptions('options', options);
  const padding = paddingFlags('options.keyPaddingMask', opts.keyPaddingMask, B, T);
  checkRoom('key.shape[1]', cache, longest(lengths), T);
  return {
    args: { key: k.data, value: v.data, batch: B, t: T, starts: lengths.slice(), padding },
    lengths: lengths.map((n) => n + T),
  };
}

/** The query's rows per sequence: dense [B, L, E] (L each) or packed [T, E] (sequenceLengths). */
interface CachedQuery {
  q: Tensor; l: number; packed?: Int32Array;
  newTokens: Int32Array;      // [B]: the query rows of each sequence
  newPadding?: Uint8Array; attnMask?: MaskView;
}

function denseCachedQuery(layer: LayerDims, cache: KVCache, lengths: Int32Array, query: unknown,
  opts: Record<string, unknown>, append: boolean): CachedQuery {
  const q = checkTensor('query', query, 3, '[B, L, E]');
  const [B, L] = q.shape;
  checkShape('query', q.shape, [B, L, layer.embedDim], '[B, L, E]');
  checkBatch('query', q.shape, cache);
  if (!append && opts.keyPaddingMask !== undefined) {
    throw invalidParameterError('options.keyPaddingMask', 'undefined when nothing is appended (give the padding to ' +
      'appendKV; the cache keeps it)', opts.keyPaddingMask, TypeError);
  }
  if (append) checkRoom('query.shape[1]', cache, longest(lengths), L);
  const S = longest(lengths) + (append ? L : 0);
  return {
    q, l: L, newTokens: new Int32Array(B).fill(L),
    newPadding: append ? paddingFlags('options.keyPaddingMask', opts.keyPaddingMask, B, L) : undefined,
    attnMask: attnMaskDescriptor('options.attnMask', opts.attnMask, { batch: B, heads: layer.numHeads, l: L, s: S }),
  };
}

function packedCachedQuery(layer: LayerDims, cache: KVCache, lengths: Int32Array, query: unknown,
  opts: Record<string, unknown>, append: boolean): CachedQuery {
  const q = checkTensor('query', query, 2, `[T, E]${PACKED_NOTE}`);
  const [T] = q.shape;
  checkShape('query', q.shape, [T, layer.embedDim], '[T, E]');
  rejectWithPacking('options.attnMask', opts.attnMask);
  rejectWithPacking('options.keyPaddingMask', opts.keyPaddingMask);
  if (opts.kvSequenceLengths !== undefined) {
    throw invalidParameterError('options.kvSequenceLengths', "undefined with options.kvCache (a sequence's keys " +
      'are its cache)', opts.kvSequenceLengths);
  }
  const { offsets, longest: l } = checkSequenceLengths('options.sequenceLengths', opts.sequenceLengths, T,
    'T (query.shape[0])');
  const newTokens = offsets.slice(1).map((end, b) => end - offsets[b]);
  if (newTokens.length !== cache.batchSize) {
    throw invalidParameterError('options.sequenceLengths', `${cache.batchSize} lengths (one per sequence of the ` +
      "KVCache's batchSize)", Array.from(newTokens));
  }
  if (append) {
    newTokens.forEach((count, b) =>
      checkRoom(`options.sequenceLengths[${b}]`, cache, lengths[b], count, `sequence ${b} of the KVCache`));
  }
  return { q, l, packed: offsets, newTokens };
}

/**
 * forward(query, key, value, { kvCache, ... }): key and value are the query itself (append the
 * query's keys/values, then attend) or both null (attend to the cache as it is). Dense query
 * [B, L, E], or packed [T, E] with options.sequenceLengths (batchSize lengths).
 */
export function cachedForwardArgs(layer: LayerDims, cache: KVCache, lengths: Int32Array, query: Tensor,
  key: Tensor | null, value: Tensor | null, opts: Record<string, unknown>): CachedCall<CachedForwardArgs> {
  const { embedDim: E, numHeads: H, kDim, vDim } = layer;
  const append = key !== null || value !== null;
  const packing = isPacked(opts);
  const call = (packing ? packedCachedQuery : denseCachedQuery)(layer, cache, lengths, query, opts, append);
  const { q, l, packed, newTokens, newPadding, attnMask } = call;
  const isQuery = (t: unknown) => typeof t === 'object' && t !== null && (t as Tensor).data instanceof Float32Array
    && Array.isArray((t as Tensor).shape) && sameTensor(q, t as Tensor);
  if (append && !(isQuery(key) && isQuery(value))) {
    throw new TypeError('key, value: with options.kvCache, expected the query tensor itself (self-attention: its ' +
      'keys/values are appended to the cache) or both null (attend to the cache as filled by appendKV), got ' +
      `${describe(key)} and ${describe(value)} that are not the query`);
  }
  if (append && (kDim !== E || vDim !== E)) {
    throw invalidParameterError('options.kvCache', `a layer with kDim == vDim == embedDim (${E}) to append the query's ` +
      'keys/values (use appendKV for other key/value dims)', `kDim ${kDim}, vDim ${vDim}`);
  }
  const after = append ? lengths.map((n, b) => n + newTokens[b]) : lengths.slice();
  const S = longest(after);
  if (S === 0) {
    throw invalidParameterError('options.kvCache', 'a cache holding at least one position when key and value are ' +
      'null (fill it with appendKV first)', 'length 0');
  }
  const causal = checkBoolean('options.isCausal', opts.isCausal, false);
  const B = cache.batchSize;
  const { outputs, result } = layerOutputs(opts, [...q.shape], packing ? undefined : { batch: B, heads: H, l, s: S }, {
    'query.data': q.data, 'options.attnMask.data': attnMask?.data,
    'options.keyPaddingMask.data': (opts.keyPaddingMask as { data?: ArrayBufferView } | undefined)?.data,
  });
  return {
    args: {
      query: q.data, batch: B, l, starts: lengths.slice(), packed, append, newPadding, attnMask, causal, ...outputs,
    },
    result, lengths: after,
  };
}
