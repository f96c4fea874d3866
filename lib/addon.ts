// The raw native addon: its exact surface, and the loader. Everything here is internal;
// the public API (index.ts) validates every argument before any of these is called, and
// the C++ side re-checks sizes before touching memory.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A mask as the addon sees it: element (b, h, l, s) is data[b*sb + h*sh + l*sl + s*ss]. */
export interface NativeMask {
  data: Uint8Array | Float32Array; // Uint8Array: boolean, nonzero = blocked; Float32Array: additive
  strides: [number, number, number, number];
}

export interface NativeMatmulArgs {
  a: Float32Array; b: Float32Array; out: Float32Array;
  batch: number; m: number; n: number; k: number;
  transA: boolean; transB: boolean; alpha: number;
  bBatched: boolean; // false: one b shared by every batch entry
}

export interface NativeSoftmaxArgs {
  x: Float32Array; out: Float32Array;
  batch: number; heads: number; l: number; s: number;
  scale: number; attnMask?: NativeMask; keyPadding?: NativeMask; causal: boolean;
}

export interface NativeAttentionArgs {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array; // [B,H,L,D] [B,H,S,D] [B,H,S,Dv] [B,H,L,Dv]
  batch: number; heads: number; l: number; s: number; d: number; dv: number;
  scale: number; attnMask?: NativeMask; keyPadding?: NativeMask; causal: boolean;
}

export interface NativeModelWeights {
  embedDim: number; numHeads: number; kDim: number; vDim: number;
  qWeight: Float32Array; kWeight: Float32Array; vWeight: Float32Array; outWeight: Float32Array;
  qBias?: Float32Array; kBias?: Float32Array; vBias?: Float32Array; outBias?: Float32Array;
}

export interface NativeForwardArgs {
  query: Float32Array; key: Float32Array; value: Float32Array;
  batch: number; l: number; s: number;
  selfAttention: boolean;
  attnMask?: NativeMask; keyPadding?: NativeMask; causal: boolean;
  out: Float32Array;           // [B, L, E], written by the call
  weights?: Float32Array;      // [B, L, S] or [B, H, L, S], written by the call
  averageWeights: boolean;
}

/** A KV cache's native memory (an opaque handle tied to the Model that created it). */
export type NativeKVCache = object & { readonly __brand: 'NativeKVCache' };

/** Projects key [batch, t, kDim] / value [batch, t, vDim] and stores them at [start, start + t). */
export interface NativeAppendArgs {
  cache: NativeKVCache; key: Float32Array; value: Float32Array;
  batch: number; t: number; start: number;
  padding?: Uint8Array;        // [batch, t], nonzero = padding
}

/** Attention of query [batch, l, E] over a cache holding `start` positions. */
export interface NativeCachedForwardArgs {
  cache: NativeKVCache; query: Float32Array;
  batch: number; l: number; start: number;
  append: boolean;             // self-attention: the query's K/V (and newPadding [batch, l]) are stored at [start, start + l) first
  newPadding?: Uint8Array;
  attnMask?: NativeMask;       // over (b, h, l, s), s = start + (append ? l : 0)
  causal: boolean;
  out: Float32Array;           // [B, L, E], written by the call
  weights?: Float32Array;      // [B, L, s] or [B, H, L, s], written by the call
  averageWeights: boolean;
}

export interface NativeModel {
  forward(args: NativeForwardArgs): void;
  /** Copies every input into native memory before queuing; writes out/weights, then resolves. */
  forwardAsync(args: NativeForwardArgs): Promise<void>;
  /** Zeroed cache memory [batch, heads, capacity, headDim] for K and for V, plus [batch, capacity] padding flags. */
  createKVCache(options: { batch: number; capacity: number }): NativeKVCache;
  appendKV(args: NativeAppendArgs): void;
  forwardCached(args: NativeCachedForwardArgs): void;
  /** Like forwardAsync; the cache is marked busy (other calls on it throw) until it settles. */
  forwardCachedAsync(args: NativeCachedForwardArgs): Promise<void>;
}

export interface NativeAddon {
  nativeInfo(): { isa: string; threads: number; version: string };
  setNumThreads(n: number): void;
  getNumThreads(): number;
  matmul(args: NativeMatmulArgs): void;
  maskedSoftmax(args: NativeSoftmaxArgs): void;
  attention(args: NativeAttentionArgs): void;
  Model: new (weights: NativeModelWeights) => NativeModel;
}

let cached: NativeAddon | undefined;

/**
 * The addon, loaded once per environment: MHA_NATIVE_BINARY when set (another build, e.g.
 * cmake-js's), else node-gyp-build's pick from the package root: build/Release (compiled
 * at install or in development), then prebuilds/<platform>-<arch>/.
 */
export function addon(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const binary = process.env.MHA_NATIVE_BINARY;
  if (binary) {
    cached = require(binary) as NativeAddon;
  } else {
    const load = require('node-gyp-build') as (packageRoot: string) => unknown;
    cached = load(fileURLToPath(new URL('..', import.meta.url))) as NativeAddon;
  }
  return cached;
}
