// The public types of the MultiHeadAttention layer.
import type { BackendName } from './backend.js';
import type { KVCache } from './kv-cache.js';
import type { Mask } from './types.js';

/** Which backend a layer runs on: the native addon (default) or the TypeScript reference. */
export type Backend = BackendName;

/** torch.nn.Linear layout: [out, in], row-major. */
export interface MultiHeadAttentionWeights {
  qWeight: Float32Array;   // [E, E]
  kWeight: Float32Array;   // [E, kDim]
  vWeight: Float32Array;   // [E, vDim]
  outWeight: Float32Array; // [E, E]
  qBias?: Float32Array; kBias?: Float32Array; vBias?: Float32Array; outBias?: Float32Array; // [E]
}

export interface MultiHeadAttentionOptions {
  embedDim: number;            // E
  numHeads: number;            // H, must divide E; headDim = E / H
  kDim?: number;               // default E
  vDim?: number;               // default E
  bias?: boolean;              // default true (q/k/v/out biases)
  weights?: MultiHeadAttentionWeights;  // default: Xavier-uniform weights, zero biases, seeded
  seed?: number;               // seed for default weights (an integer, taken modulo 2^32; default 0)
  backend?: Backend;           // default 'native'
}

export interface ForwardOptions {
  keyPaddingMask?: Mask;       // [B, S]
  attnMask?: Mask;             // [L, S], [B*H, L, S] or [B, H, L, S] (a dim of 1 broadcasts)
  isCausal?: boolean;          // query i may see key j only where j <= i + (S - L)
  needWeights?: boolean;       // default false
  averageAttnWeights?: boolean;// default true: weights [B, L, S]; false: [B, H, L, S]
  /**
   * Where to write the output: a Float32Array at least B·L·E long sharing no memory with any
   * input; output.data is the view of exactly B·L·E elements at its start. With forwardAsync
   * it belongs to the call until the promise settles. Default: a new array each call.
   */
  out?: Float32Array;
  /**
   * Incremental decoding through a cache from this layer's createKVCache:
   * forward(x, x, x, { kvCache, isCausal: true }) appends x's keys/values, then attends to the
   * whole cache (S = its length after appending); forward(query, null, null, { kvCache })
   * attends to the cache as filled by appendKV (cross-attention). keyPaddingMask is then
   * [B, T] over the new positions (boolean, or additive 0 / -Infinity).
   */
  kvCache?: KVCache;
}

export interface StateDictOptions { numHeads: number; backend?: Backend }

export interface SafetensorsOptions {
  numHeads: number;
  /** The attention block's name prefix, e.g. "encoder.layer.0.attention."; needed when the file holds several. */
  prefix?: string;
  backend?: Backend;
}

export interface KVCacheOptions {
  batchSize: number;           // B: every call through the cache has this batch size
  capacity: number;            // positions it can hold (per sequence)
}

export interface AppendKVOptions {
  keyPaddingMask?: Mask;       // [B, T]: nonzero (or -Infinity) = a padding position, blocked for every query
}
