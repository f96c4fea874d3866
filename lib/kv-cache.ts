// KV caches for incremental decoding (MultiHeadAttention.createKVCache): the public KVCache
// object, and the validation that turns a cached call into the backend contract's records.
// The cache's memory is its layer backend's KVStore (native memory, or the reference's JS
// arrays); the number of valid positions is kept here, so reset/truncate only move `length`.
import type { AppendArgs, CachedForwardArgs, KVStore } from './backend.js';
import { layerOutputs } from './layer-result.js';
import { attnMaskDescriptor, keyPaddingDescriptor } from './masks.js';
import { sameTensor } from './tensor.js';
import type { AttentionResult, Tensor } from './types.js';
import {
  checkBoolean, checkOptions, checkShape, checkTensor, describe, invalidParameterError,
} from './validate.js';

/** A cache's mutable state, seen by the layer that created it. */
export interface CacheState {
  readonly owner: object;    // the MultiHeadAttention that created the cache
  readonly store: KVStore;
  length: number;
  busy: boolean;             // a forwardAsync on this cache is pending
}

const token = Symbol('KVCache');
let stateOf: (cache: KVCache) => CacheState;

/**
 * The keys and values of every position seen so far, for one MultiHeadAttention layer and a
 * fixed batch; created by `layer.createKVCache({ batchSize, capacity })`. Every sequence of
 * the batch holds the same number of positions (`length`); padded positions are stored with
 * a padding flag and stay blocked for every later query.
 */
export class KVCache {
  readonly batchSize: number;
  readonly capacity: number;
  readonly #state: CacheState;

  static {
    stateOf = (cache) => cache.#state;
  }

  /** Not public: use MultiHeadAttention.createKVCache. */
  constructor(key: symbol, batchSize: number, capacity: number, state: CacheState) {
    if (key !== token) throw new TypeError('KVCache: create one with MultiHeadAttention.createKVCache');
    this.batchSize = batchSize;
    this.capacity = capacity;
    this.#state = state;
  }

  /** Positions held (the same for every sequence of the batch). */
  get length(): number {
    return this.#state.length;
  }

  /** Empties the cache (its memory is kept for reuse). */
  reset(): void {
    checkIdle('reset', this.#state);
    this.#state.length = 0;
  }

  /** Rolls every sequence back to at most `length` positions (beam search, speculative decoding). */
  truncate(length: number): void {
    if (typeof length !== 'number') throw invalidParameterError('length', 'a non-negative integer', length, TypeError);
    if (!Number.isInteger(length) || length < 0) throw invalidParameterError('length', 'a non-negative integer', length);
    checkIdle('truncate', this.#state);
    this.#state.length = Math.min(this.#state.length, length);
  }
}

function checkIdle(what: string, state: CacheState): void {
  if (state.busy) {
    throw new Error(`KVCache.${what}: the cache is in use by a pending forwardAsync; await it before using the cache again`);
  }
}

export function newKVCache(owner: object, batchSize: number, capacity: number, store: KVStore): KVCache {
  return new KVCache(token, batchSize, capacity, { owner, store, length: 0, busy: false });
}

/** The state of a cache this layer created and no pending forwardAsync holds. */
export function checkKVCache(name: string, value: unknown, owner: object): CacheState {
  if (!(value instanceof KVCache)) {
    throw invalidParameterError(name, 'a KVCache (from MultiHeadAttention.createKVCache)', value, TypeError);
  }
  const state = stateOf(value);
  if (state.owner !== owner) {
    throw new TypeError(`${name}: expected a KVCache created by this layer's createKVCache, got one from another layer`);
  }
  if (state.busy) {
    throw new Error(`${name}: the cache is in use by a pending forwardAsync; await it before using the cache again`);
  }
  return state;
}

/** The layer dims a cached call is checked against. */
export interface LayerDims { embedDim: number; numHeads: number; kDim: number; vDim: number }

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

function checkRoom(name: string, cache: KVCache, start: number, count: number): void {
  if (start + count > cache.capacity) {
    throw invalidParameterError(name,
      `at most ${cache.capacity - start} new positions (the KVCache holds ${start} of capacity ${cache.capacity})`, count);
  }
}

/** appendKV(cache, key [B, T, kDim], value [B, T, vDim], { keyPaddingMask? [B, T] }). */
export function appendArgs(layer: LayerDims, cache: KVCache, start: number, key: unknown, value: unknown,
  options: unknown): { args: AppendArgs; length: number } {
  const k = checkTensor('key', key, 3, '[B, T, kDim]');
  const v = checkTensor('value', value, 3, '[B, T, vDim]');
  const [B, T] = k.shape;
  checkShape('key', k.shape, [B, T, layer.kDim], '[B, T, kDim]');
  checkShape('value', v.shape, [B, T, layer.vDim], '[B, T, vDim]');
  checkBatch('key', k.shape, cache);
  const opts = checkOptions('options', options);
  const padding = paddingFlags('options.keyPaddingMask', opts.keyPaddingMask, B, T);
  checkRoom('key.shape[1]', cache, start, T);
  return { args: { key: k.data, value: v.data, batch: B, t: T, start, padding }, length: start + T };
}

/**
 * forward(query, key, value, { kvCache, ... }): key and value are the query itself (append the
 * query's keys/values, then attend) or both null (attend to the cache as it is).
 */
export function cachedForwardArgs(layer: LayerDims, cache: KVCache, start: number, query: Tensor,
  key: Tensor | null, value: Tensor | null, opts: Record<string, unknown>):
  { args: CachedForwardArgs; result: AttentionResult; length: number } {
  const { embedDim: E, numHeads: H, kDim, vDim } = layer;
  const q = checkTensor('query', query, 3, '[B, L, E]');
  const [B, L] = q.shape;
  checkShape('query', q.shape, [B, L, E], '[B, L, E]');
  checkBatch('query', q.shape, cache);
  const append = key !== null || value !== null;
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
  if (!append && opts.keyPaddingMask !== undefined) {
    throw invalidParameterError('options.keyPaddingMask', 'undefined when nothing is appended (give the padding to ' +
      'appendKV; the cache keeps it)', opts.keyPaddingMask, TypeError);
  }
  if (append) checkRoom('query.shape[1]', cache, start, L);
  const S = start + (append ? L : 0);
  if (S === 0) {
    throw invalidParameterError('options.kvCache', 'a cache holding at least one position when key and value are ' +
      'null (fill it with appendKV first)', 'length 0');
  }
  const newPadding = append ? paddingFlags('options.keyPaddingMask', opts.keyPaddingMask, B, L) : undefined;
  const attnMask = attnMaskDescriptor('options.attnMask', opts.attnMask, { batch: B, heads: H, l: L, s: S });
  const causal = checkBoolean('options.isCausal', opts.isCausal, false);
  const { outputs, result } = layerOutputs(opts, B, H, L, S, E, {
    'query.data': q.data, 'options.attnMask.data': attnMask?.data,
    'options.keyPaddingMask.data': (opts.keyPaddingMask as { data?: ArrayBufferView } | undefined)?.data,
  });
  return {
    args: { query: q.data, batch: B, l: L, start, append, newPadding, attnMask, causal, ...outputs },
    result, length: S,
  };
}
