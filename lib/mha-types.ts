// The public types of the MultiHeadAttention layer.
import type { BackendName, Precision, StorageDtype } from './backend.js';
import type { KVCache } from './kv-cache.js';
import type { AttentionWindow, Mask, RotaryOptions } from './types.js';

/** Which backend a layer runs on: the native addon (default) or the TypeScript reference. */
export type Backend = BackendName;

/** torch.nn.Linear layout: [out, in], row-major; D = E / numHeads, Ekv = numKvHeads * D (E by default). */
export interface MultiHeadAttentionWeights {
  qWeight: Float32Array;   // [E, E]
  kWeight: Float32Array;   // [Ekv, kDim]
  vWeight: Float32Array;   // [Ekv, vDim]
  outWeight: Float32Array; // [E, E]
  qBias?: Float32Array; outBias?: Float32Array; // [E]
  kBias?: Float32Array; vBias?: Float32Array;   // [Ekv]
}

/**
 * A layer's attention variant, fixed at construction. Scores, in this order: s = scale * (q . k);
 * softcap; s -= slope[h] * |pq - pk| (ALiBi); additive masks; then any block (masks, causal,
 * window) excludes the key. Positions: key j is pk = j (from the start of its sequence or
 * cache), query i is pq = i + (S - L).
 */
export interface AttentionVariantOptions {
  /** Grouped-query attention: key/value heads, a divisor of numHeads (default numHeads); query
   * head h uses key/value head floor(h / (numHeads / numKvHeads)). */
  numKvHeads?: number;
  scale?: number;              // a finite nonzero number; default 1 / sqrt(headDim)
  softcap?: number;            // > 0: the score s becomes softcap * tanh(s / softcap)
  /** ALiBi: true for the standard slopes of numHeads heads, or numHeads explicit slopes. */
  alibi?: boolean | Float32Array;
  window?: AttentionWindow;    // sliding-window (local) attention
  /** RoPE on q and k after projection and bias, before caching. */
  rotary?: RotaryOptions;
  /**
   * 'bfloat16': the weights stored in bfloat16 (half the memory) and the projections and
   * attention products with bfloat16 operands and float32 accumulation; softmax, biases, masks
   * and rotary stay float32, inputs and outputs Float32Array. Default 'float32'.
   */
  dtype?: Precision;
}

export interface MultiHeadAttentionOptions extends AttentionVariantOptions {
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
  /**
   * Packed variable-length inputs query [T, E], key [Tk, kDim], value [Tk, vDim]: the N query
   * sequences' lengths (0 allowed, sum T). Sequence n's queries attend only to sequence n's keys,
   * positions from 0 in each; output [T, E]. No attnMask, keyPaddingMask or needWeights then.
   * With a kvCache: batchSize lengths, sequence b appending that many tokens (a
   * continuous-batching step).
   */
  sequenceLengths?: ArrayLike<number>;
  /** The N key/value sequences' lengths (sum Tk); default: sequenceLengths. */
  kvSequenceLengths?: ArrayLike<number>;
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
   * [B, T] over the new positions (boolean, or additive 0 / -Infinity). Each sequence of the
   * cache has its own length; attnMask and the weights span the longest (S), and keys past a
   * sequence's own length are blocked.
   */
  kvCache?: KVCache;
}

/** numKvHeads, when omitted, is read from the key projection's rows (numKvHeads * headDim). */
export interface StateDictOptions extends AttentionVariantOptions { numHeads: number; backend?: Backend }

export interface SafetensorsOptions extends StateDictOptions {
  /** The attention block's name prefix, e.g. "encoder.layer.0.attention."; needed when the file holds several. */
  prefix?: string;
}

export interface KVCacheOptions {
  batchSize: number;           // B: every call through the cache has this batch size
  capacity: number;            // positions it can hold (per sequence)
  /** How keys and values are stored: 'float16' and 'bfloat16' take half the memory and half the
   * bytes a decode step reads, converted back to float32 as attention reads them. Default 'float32'. */
  dtype?: StorageDtype;
}

export interface AppendKVOptions {
  keyPaddingMask?: Mask;       // [B, T]: nonzero (or -Infinity) = a padding position, blocked for every query
}
