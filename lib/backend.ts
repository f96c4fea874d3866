// The one contract between the public API and the backends that execute it. The API
// (functional.ts, mha.ts, kv-cache.ts) validates every argument and turns it into one of the
// records below; a backend (the native addon, adapted in addon.ts, or the TypeScript
// reference, reference-backend.ts) executes records and nothing else. Records hold plain
// typed arrays and dimensions, already checked against each other; a backend writes its
// results into the arrays the record names.
//
// Positions: within one sequence of L queries and S keys, key j has position pk = j and query
// i has pq = i + (S - L) (bottom-right aligned, as isCausal). A packed (ragged) batch gives
// each sequence its own L and S; positions restart at 0 in every sequence.

export type BackendName = 'native' | 'reference';

/** The products' operands: float32, or rounded to bfloat16 with float32 accumulation. */
export type Precision = 'float32' | 'bfloat16';

/** What runs the native backend's bfloat16 products: AMX tiles, AVX512-BF16 instructions, or
 * float32 arithmetic on the bfloat16 values (the same results at float32 speed). */
export type Bf16Path = 'amx' | 'avx512bf16' | 'emulated';

/** How a KV cache stores keys and values (16-bit types are converted back as they are read). */
export type StorageDtype = 'float32' | 'float16' | 'bfloat16';

/** A mask as every backend reads it: element (b, h, l, s) is data[b*sb + h*sh + l*sl + s*ss]
 * (a stride of 0 broadcasts). Uint8Array: boolean, nonzero = blocked; Float32Array: additive. */
export interface MaskView {
  data: Uint8Array | Float32Array;
  strides: [number, number, number, number];
}

/**
 * How a score becomes a logit, in this order: s = scale * (q . k); softcap (> 0: s =
 * softcap * tanh(s / softcap); 0: none); ALiBi (s -= alibiSlopes[h] * |pq - pk|); additive
 * masks added; then a key is blocked by a boolean mask, padding, causal (pk > pq) or the
 * window (pk < pq - windowLeft or pk > pq + windowRight; -1: that side unbounded).
 */
export interface ScoreRule {
  scale: number;
  softcap: number;
  alibiSlopes?: Float32Array;  // [heads]
  windowLeft: number;
  windowRight: number;
  causal: boolean;
}

/** A ragged batch: sequence n's queries are rows [q[n], q[n+1]) of a token-major tensor, its
 * keys and values rows [kv[n], kv[n+1]); q and kv have N + 1 entries and start at 0. */
export interface Packing { q: Int32Array; kv: Int32Array }

/** out[i] = alpha * op(a[i]) . op(b[i]), [batch, m, n]; b is one shared matrix unless bBatched. */
export interface MatmulArgs {
  a: Float32Array; b: Float32Array; out: Float32Array;
  batch: number; m: number; n: number; k: number;
  transA: boolean; transB: boolean; alpha: number;
  bBatched: boolean;
  precision: Precision;
}

/** out = softmax of the logits of the scores x [batch, heads, l, s] (ScoreRule with q . k read
 * as x) over the last dim; out may be x. */
export interface SoftmaxArgs extends ScoreRule {
  x: Float32Array; out: Float32Array;
  batch: number; heads: number; l: number; s: number;
  attnMask?: MaskView; keyPadding?: MaskView;
}

/**
 * Scaled dot-product attention. Dense: q [B,H,L,D], k [B,Hkv,S,D], v [B,Hkv,S,Dv] -> out
 * [B,H,L,Dv]. Packed: q [T,H,D], k [Tk,Hkv,D], v [Tk,Hkv,Dv] -> out [T,H,Dv], with batch = N
 * sequences and l, s their longest lengths. Query head h reads key/value head
 * floor(h / (heads / kvHeads)).
 */
export interface AttentionArgs extends ScoreRule {
  q: Float32Array; k: Float32Array; v: Float32Array; out: Float32Array;
  batch: number; heads: number; kvHeads: number; l: number; s: number; d: number; dv: number;
  packed?: Packing;
  attnMask?: MaskView; keyPadding?: MaskView;  // dense only
  /** bfloat16: q, k and v rounded to bfloat16 for the scores and P.V, and the probabilities P
   * rounded too before P.V; softmax in float32. */
  precision: Precision;
}

/** Rotary position embedding (RoPE) of x [groups, n, heads, d] into out (which may be x):
 * vector (g, i, h) is rotated for position positions[i]. */
export interface RotaryArgs extends RotarySpec {
  x: Float32Array; out: Float32Array;
  groups: number; n: number; heads: number; d: number;
  positions: Float64Array;     // [n]
}

/** RoPE on the first `dim` features of each head: pairs (x[i], x[i + dim/2]), or (x[2i],
 * x[2i+1]) when interleaved, rotated by position * base^(-2i/dim). */
export interface RotarySpec { dim: number; base: number; interleaved: boolean }

/**
 * A layer's shape, weights (torch.nn.Linear layout [out, in]; biases absent = no bias) and
 * attention rule. With D = embedDim / numHeads: qWeight [E, E], kWeight [numKvHeads*D, kDim],
 * vWeight [numKvHeads*D, vDim], outWeight [E, E]; q/out biases [E], k/v biases [numKvHeads*D].
 * causal is the rule's default; a call's isCausal decides.
 */
export interface LayerDesc extends Omit<ScoreRule, 'causal'> {
  embedDim: number; numHeads: number; numKvHeads: number; kDim: number; vDim: number;
  qWeight: Float32Array; kWeight: Float32Array; vWeight: Float32Array; outWeight: Float32Array;
  qBias?: Float32Array; kBias?: Float32Array; vBias?: Float32Array; outBias?: Float32Array;
  rotary?: RotarySpec;         // applied to q and k after projection and bias, before caching
  /** bfloat16: the weights stored rounded to bfloat16, the projections' inputs rounded to it, and
   * the attention products at bfloat16 precision (AttentionArgs.precision); biases, softmax,
   * masks and rotary stay float32. */
  dtype: Precision;
}

/** Where a layer call writes its result. */
export interface LayerOutputs {
  out: Float32Array;           // [B, L, E], or [T, E] packed
  /** out is the caller's own array (options.out): an asynchronous call may write it only on
   * the JavaScript thread, when it settles, since the caller could detach it meanwhile. An
   * array the API allocated for the call is reachable by nobody else until the call settles. */
  outIsCallers: boolean;
  weights?: Float32Array;      // [B, L, S] when averageWeights, else [B, H, L, S]; only when wanted
  averageWeights: boolean;
}

/** Dense: query [B, L, E], key [B, S, kDim], value [B, S, vDim]. Packed: query [T, E], key
 * [Tk, kDim], value [Tk, vDim] with batch = N sequences and l, s their longest lengths.
 * selfAttention: all three are one tensor. */
export interface ForwardArgs extends LayerOutputs {
  query: Float32Array; key: Float32Array; value: Float32Array;
  batch: number; l: number; s: number;
  packed?: Packing;
  selfAttention: boolean;
  attnMask?: MaskView; keyPadding?: MaskView; causal: boolean;  // masks: dense only
}

/** A KV cache's memory, owned by the layer backend that created it (opaque to the API): keys
 * and values of numKvHeads heads for `capacity` positions of each sequence, and a padding
 * flag per position. How many positions each sequence holds is the API's bookkeeping. */
export type KVStore = object & { readonly __kvStore: never };

/** Project key / value and store them: sequence b's t_b new positions go to [starts[b],
 * starts[b] + t_b). Dense: key [batch, t, kDim], value [batch, t, vDim], t_b = t. */
export interface AppendArgs {
  key: Float32Array; value: Float32Array;
  batch: number; t: number;
  starts: Int32Array;          // [batch]
  padding?: Uint8Array;        // [batch, t], nonzero = padding
}

/**
 * Attention of new queries over a cache whose sequence b holds starts[b] positions. Dense:
 * query [batch, l, E], l per sequence. Packed (a continuous-batching step): query [T, E],
 * sequence b's queries are rows [packed[b], packed[b+1]) (packed has batch + 1 entries); l is
 * the longest. With append, each sequence's new queries first store their own keys/values
 * (and, dense, newPadding [batch, l]) at [starts[b], starts[b] + l_b); then sequence b's
 * queries attend to its S_b = starts[b] + (append ? l_b : 0) positions.
 */
export interface CachedForwardArgs extends LayerOutputs {
  query: Float32Array;
  batch: number; l: number;
  starts: Int32Array;          // [batch]
  packed?: Int32Array;         // [batch + 1]
  append: boolean;
  newPadding?: Uint8Array;
  /** Dense only, over (b, h, l, s) with s < S = max_b S_b; weights are [.., S] too, zero past S_b. */
  attnMask?: MaskView;
  causal: boolean;
}

/** One layer's weights held by a backend (packed once by the native one), and its calls. */
export interface LayerBackend {
  forward(args: ForwardArgs): void;
  /** Like forward, off the JavaScript thread; the inputs may change once it returns. */
  forwardAsync(args: ForwardArgs): Promise<void>;
  /** Zeroed memory for `capacity` positions of `batch` sequences, keys and values stored as dtype. */
  createKVStore(batch: number, capacity: number, dtype: StorageDtype): KVStore;
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
  rotary(args: RotaryArgs): void;
  /** A layer that owns its weights: later changes to desc's arrays do not affect it. */
  createLayer(desc: LayerDesc): LayerBackend;
}
