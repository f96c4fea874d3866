// The one contract between the public API and the backends that execute it. The API
// (functional.ts, mha.ts, kv-cache.ts) validates every argument and turns it into one of the
// records below; a backend (the native addon, adapted in addon.ts, or the TypeScript
// reference, reference-backend.ts) executes records and nothing else. Records hold plain
// typed arrays and dimensions, already checked against each other; a backend writes its
// results into the arrays the record names.

export type BackendName = 'native' | 'reference';

/** A mask as every backend reads it: element (b, h, l, s) is data[b*sb + h*sh + l*sl + s*ss]
 * (a stride of 0 broadcasts). Uint8Array: boolean, nonzero = blocked; Float32Array: additive. */
export interface MaskView {
  data: Uint8Array | Float32Array;
  strides: [number, number, number, number];
}

/** out[i] = alpha * op(a[i]) . op(b[i]), [batch, m, n]; b is one shared matrix unless bBatched. */
export interface MatmulArgs {
  a: Float32Array; b: Float32Array; out: Float32Array;
  batch: number; m: number; n: number; k: number;
  transA: boolean; transB: boolean; alpha: number;
  bBatched: boolean;
}

/** out = softmax(scale * x + masks) over the last dim of x [batch, heads, l, s]; out may be x. */
export interface SoftmaxArgs {
  x: Float32Array; out: Float32Array;
  batch: number; heads: number; l: number; s: number;
  scale: number; attnMask?: MaskView; keyPadding?: MaskView; causal: boolean;
}

/** q [B,H,L,D], k [B,H,S,D], v [B,H,S,Dv] -> out [B,H,L,Dv], contiguous. */
export interface AttentionArgs {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array;
  batch: number; heads: number; l: number; s: number; d: number; dv: number;
  scale: number; attnMask?: MaskView; keyPadding?: MaskView; causal: boolean;
}

/** A layer's shape and weights (torch.nn.Linear layout [out, in]); biases absent = no bias. */
export interface LayerDesc {
  embedDim: number; numHeads: number; kDim: number; vDim: number;
  qWeight: Float32Array; kWeight: Float32Array; vWeight: Float32Array; outWeight: Float32Array;
  qBias?: Float32Array; kBias?: Float32Array; vBias?: Float32Array; outBias?: Float32Array;
}

/** Where a layer call writes its result. */
export interface LayerOutputs {
  out: Float32Array;           // [B, L, E]
  /** out is the caller's own array (options.out): an asynchronous call may write it only on
   * the JavaScript thread, when it settles, since the caller could detach it meanwhile. An
   * array the API allocated for the call is reachable by nobody else until the call settles. */
  outIsCallers: boolean;
  weights?: Float32Array;      // [B, L, S] when averageWeights, else [B, H, L, S]; only when wanted
  averageWeights: boolean;
}

/** query [B, L, E], key [B, S, kDim], value [B, S, vDim]; selfAttention: all three are one tensor. */
export interface ForwardArgs extends LayerOutputs {
  query: Float32Array; key: Float32Array; value: Float32Array;
  batch: number; l: number; s: number;
  selfAttention: boolean;
  attnMask?: MaskView; keyPadding?: MaskView; causal: boolean;
}

/** A KV cache's memory, owned by the layer backend that created it (opaque to the API). */
export type KVStore = object & { readonly __kvStore: never };

/** Project key [batch, t, kDim] / value [batch, t, vDim] and store them at [start, start + t). */
export interface AppendArgs {
  key: Float32Array; value: Float32Array;
  batch: number; t: number; start: number;
  padding?: Uint8Array;        // [batch, t], nonzero = padding
}

/** Attention of query [batch, l, E] over a cache holding `start` positions. */
export interface CachedForwardArgs extends LayerOutputs {
  query: Float32Array;
  batch: number; l: number; start: number;
  /** The query's own keys/values (and newPadding [batch, l]) are stored at [start, start + l)
   * first (self-attention); else the query attends to the cache as it is. */
  append: boolean;
  newPadding?: Uint8Array;
  attnMask?: MaskView;         // over (b, h, l, s), s = start + (append ? l : 0)
  causal: boolean;
}

/** One layer's weights held by a backend (packed once by the native one), and its calls. */
export interface LayerBackend {
  forward(args: ForwardArgs): void;
  /** Like forward, off the JavaScript thread; the inputs may change once it returns. */
  forwardAsync(args: ForwardArgs): Promise<void>;
  /** Zeroed memory for `capacity` positions of `batch` sequences. */
  createKVStore(batch: number, capacity: number): KVStore;
  appendKV(store: KVStore, args: AppendArgs): void;
  forwardCached(store: KVStore, args: CachedForwardArgs): void;
  /** Like forwardAsync; no other call may use the store until it settles. */
  forwardCachedAsync(store: KVStore, args: CachedForwardArgs): Promise<void>;
}

export interface ComputeBackend {
  readonly name: BackendName;
  matmul(args: MatmulArgs): void;
  maskedSoftmax(args: SoftmaxArgs): void;
  attention(args: AttentionArgs): void;
  /** A layer that owns its weights: later changes to desc's arrays do not affect it. */
  createLayer(desc: LayerDesc): LayerBackend;
}
