// KV caches for incremental decoding (MultiHeadAttention.createKVCache): the public KVCache
// object and its state. The cache's memory is its layer backend's KVStore (native memory, or
// the reference's JS arrays); how many positions each sequence holds is kept here, so
// reset/truncate only move lengths. kv-cache-args.ts turns cached calls into records.
import type { KVStore, StorageDtype } from './backend.js';
import { checkNonNegativeInteger, checkNumberList, invalidParameterError } from './validate.js';

/** A cache's mutable state, seen by the layer that created it. */
export interface CacheState {
  readonly owner: object;    // the MultiHeadAttention that created the cache
  readonly store: KVStore;
  lengths: Int32Array;       // positions held by each sequence; replaced (never written) by a call
  busy: boolean;             // a forwardAsync on this cache is pending
}

const token = Symbol('KVCache');
let stateOf: (cache: KVCache) => CacheState;

/**
 * The keys and values of every position seen so far, for one MultiHeadAttention layer and a
 * fixed batch of sequences; created by `layer.createKVCache({ batchSize, capacity })`. Each
 * sequence holds its own number of positions (`lengths`), so sequences can join, leave and
 * advance independently (continuous batching); padded positions are stored with a padding
 * flag and stay blocked for every later query.
 */
export class KVCache {
  readonly batchSize: number;
  readonly capacity: number;
  /** How keys and values are stored (16-bit types converted back as attention reads them). */
  readonly dtype: StorageDtype;
  readonly #state: CacheState;

  static {
    stateOf = (cache) => cache.#state;
  }

  /** Not public: use MultiHeadAttention.createKVCache. */
  constructor(key: symbol, batchSize: number, capacity: number, dtype: StorageDtype, state: CacheState) {
    if (key !== token) throw new TypeError('KVCache: create one with MultiHeadAttention.createKVCache');
    this.batchSize = batchSize;
    this.capacity = capacity;
    this.dtype = dtype;
    this.#state = state;
  }

  /** Positions held by each sequence (a fresh array each read). */
  get lengths(): readonly number[] {
    return Array.from(this.#state.lengths);
  }

  /** Positions held by the longest sequence. */
  get length(): number {
    return this.#state.lengths.reduce((m, n) => Math.max(m, n), 0);
  }

  /** Empties every sequence, or only sequence `sequence` (a slot for a new request); the
   * memory is kept for reuse. */
  reset(sequence?: number): void {
    const index = sequence === undefined ? undefined : checkSequenceIndex('sequence', sequence, this.batchSize);
    checkIdle('reset', this.#state);
    if (index === undefined) this.#state.lengths.fill(0);
    else this.#state.lengths[index] = 0;
  }

  /**
   * Rolls sequences back (beam search, speculative decoding): every sequence to at most
   * `length`, or sequence b to at most length[b] (batchSize non-negative integers).
   */
  truncate(length: number | ArrayLike<number>): void {
    const limits = typeof length === 'object' && length !== null
      ? checkNumberList('length', length, checkNonNegativeInteger)
      : new Array<number>(this.batchSize).fill(checkNonNegativeInteger('length', length));
    if (limits.length !== this.batchSize) {
      throw invalidParameterError('length', `a number or ${this.batchSize} lengths (one per sequence, batchSize)`,
        limits);
    }
    checkIdle('truncate', this.#state);
    const { lengths } = this.#state;
    limits.forEach((limit, b) => { lengths[b] = Math.min(lengths[b], limit); });
  }
}

function checkSequenceIndex(name: string, value: unknown, batchSize: number): number {
  const index = checkNonNegativeInteger(name, value);
  if (index >= batchSize) {
    throw invalidParameterError(name, `a sequence index from 0 to ${batchSize - 1} (batchSize ${batchSize})`, index);
  }
  return index;
}

function checkIdle(what: string, state: CacheState): void {
  if (state.busy) {
    throw new Error(`KVCache.${what}: the cache is in use by a pending forwardAsync; await it before using the cache again`);
  }
}

export function newKVCache(owner: object, batchSize: number, capacity: number, dtype: StorageDtype,
  store: KVStore): KVCache {
  return new KVCache(token, batchSize, capacity, dtype, { owner, store, lengths: new Int32Array(batchSize), busy: false });
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
