// MultiHeadAttention: torch.nn.MultiheadAttention (batch-first), validated here and executed by
// one backend's layer (backend.ts): the native addon, which packs the weights once at
// construction, or the TypeScript reference.
import type { LayerBackend, Precision } from './backend.js';
import { backendNamed } from './backends.js';
import { forwardArgs } from './forward-args.js';
import { defaultWeights } from './init.js';
import { appendArgs, cachedForwardArgs } from './kv-cache-args.js';
import { checkKVCache, newKVCache, type KVCache } from './kv-cache.js';
import { layerVariant, type LayerVariant } from './layer-variant.js';
import type {
  AppendKVOptions, Backend, ForwardOptions, KVCacheOptions, MultiHeadAttentionOptions, MultiHeadAttentionWeights,
  SafetensorsOptions, StateDictOptions,
} from './mha-types.js';
import { loadSafetensors } from './safetensors.js';
import { stateDictOptions } from './state-dict.js';
import type { AttentionResult, AttentionWindow, RotaryOptions, Tensor } from './types.js';
import {
  checkBoolean, checkElementCount, checkFloat32Array, checkObject, checkOneOf, checkPositiveInteger,
  invalidParameterError, STORAGE_DTYPES,
} from './validate.js';
import { attentionStateDict } from './weight-names.js';

function checkSeed(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') throw invalidParameterError('options.seed', 'an integer', value, TypeError);
  if (!Number.isSafeInteger(value)) throw invalidParameterError('options.seed', 'a safe integer', value);
  return value;
}

/** The user's weights, validated (missing biases are zeros when options.bias is true); kvDim =
 * numKvHeads * headDim, the rows of the key/value projections. */
function checkWeights(value: unknown, E: number, kDim: number, vDim: number, kvDim: number,
  bias: boolean): MultiHeadAttentionWeights {
  const w = checkObject('options.weights', value);
  const kvRows = kvDim === E ? 'E' : 'numKvHeads * headDim';
  const matrix = (key: string, rows: number, cols: number, dims: string) =>
    checkFloat32Array(`options.weights.${key}`, w[key], rows * cols, `${dims} = [${rows}, ${cols}]`);
  const weights: MultiHeadAttentionWeights = {
    qWeight: matrix('qWeight', E, E, '[E, E]'),
    kWeight: matrix('kWeight', kvDim, kDim, `[${kvRows}, kDim]`),
    vWeight: matrix('vWeight', kvDim, vDim, `[${kvRows}, vDim]`),
    outWeight: matrix('outWeight', E, E, '[E, E]'),
  };
  for (const key of ['qBias', 'kBias', 'vBias', 'outBias'] as const) {
    const name = `options.weights.${key}`;
    if (!bias) {
      if (w[key] !== undefined) throw invalidParameterError(name, 'undefined (options.bias is false)', w[key], TypeError);
      continue;
    }
    const [length, dims] = key === 'kBias' || key === 'vBias' ? [kvDim, `[${kvRows}]`] : [E, '[E]'];
    weights[key] = w[key] === undefined ? new Float32Array(length)
      : checkFloat32Array(name, w[key], length, `${dims} = [${length}]`);
  }
  return weights;
}

export class MultiHeadAttention {
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kDim: number;
  readonly vDim: number;
  /** Key/value heads (grouped-query attention when fewer than numHeads). */
  readonly numKvHeads: number;
  readonly backend: Backend;
  /** The scores' scale (1 / sqrt(headDim) unless the options gave one). */
  readonly scale: number;
  /** The softcap, when the layer has one. */
  readonly softcap: number | undefined;
  /** The sliding window, when the layer has one (an omitted side is unbounded). */
  readonly window: Readonly<AttentionWindow> | undefined;
  /** The rotary positions, when the layer has them, with every field resolved. */
  readonly rotary: Readonly<Required<RotaryOptions>> | undefined;
  /** 'bfloat16' when the layer computes at bfloat16 precision. */
  readonly dtype: Precision;
  readonly #alibiSlopes: Float32Array | undefined;
  /** The layer on its backend: runs validated records, writing their outputs. */
  readonly #layer: LayerBackend;

  constructor(options: MultiHeadAttentionOptions) {
    const opts = checkObject('options', options);
    const E = checkPositiveInteger('options.embedDim', opts.embedDim);
    const H = checkPositiveInteger('options.numHeads', opts.numHeads);
    if (E % H !== 0) throw invalidParameterError('options.numHeads', `a divisor of embedDim (${E})`, H);
    const kDim = opts.kDim === undefined ? E : checkPositiveInteger('options.kDim', opts.kDim);
    const vDim = opts.vDim === undefined ? E : checkPositiveInteger('options.vDim', opts.vDim);
    const bias = checkBoolean('options.bias', opts.bias, true);
    const seed = checkSeed(opts.seed);
    const backend = backendNamed('options.backend', opts.backend);
    const variant: LayerVariant = layerVariant(opts, H, E / H);
    const kvDim = variant.numKvHeads * (E / H);
    checkElementCount('qWeight ([E, E])', [E, E]);
    checkElementCount('kWeight ([numKvHeads * headDim, kDim])', [kvDim, kDim]);
    checkElementCount('vWeight ([numKvHeads * headDim, vDim])', [kvDim, vDim]);
    const weights = opts.weights === undefined
      ? defaultWeights(E, kDim, vDim, bias, seed, kvDim)
      : checkWeights(opts.weights, E, kDim, vDim, kvDim, bias);

    this.embedDim = E;
    this.numHeads = H;
    this.headDim = E / H;
    this.kDim = kDim;
    this.vDim = vDim;
    this.numKvHeads = variant.numKvHeads;
    this.backend = backend.name;
    this.scale = variant.scale;
    this.softcap = variant.softcap > 0 ? variant.softcap : undefined;
    const { windowLeft: left, windowRight: right } = variant;
    this.window = left < 0 && right < 0 ? undefined
      : Object.freeze({ ...(left >= 0 && { left }), ...(right >= 0 && { right }) });
    this.rotary = variant.rotary && Object.freeze({ ...variant.rotary });
    this.dtype = variant.dtype;
    this.#alibiSlopes = variant.alibiSlopes?.slice();
    // Either way the layer owns its weights: later changes to the caller's arrays do not affect it.
    this.#layer = backend.createLayer({ embedDim: E, numHeads: H, kDim, vDim, ...variant, ...weights });
  }

  /** The ALiBi slopes per head (a copy), when the layer has ALiBi. */
  get alibiSlopes(): Float32Array | undefined {
    return this.#alibiSlopes?.slice();
  }

  /** A layer from a state_dict (see state-dict.ts for the keys): PyTorch nn.MultiheadAttention
   * names, or Llama / Hugging Face BERT names; options: numHeads and the layer's variant
   * options (numKvHeads, when omitted, is read from the key projection's rows). */
  static fromStateDict(state: Record<string, Float32Array | Tensor>, options: StateDictOptions): MultiHeadAttention {
    return new MultiHeadAttention(stateDictOptions(state, options));
  }

  /**
   * A layer from a safetensors checkpoint (path or bytes; F32/F16/BF16): the attention block
   * at options.prefix, with PyTorch nn.MultiheadAttention names (<prefix>in_proj_weight, ...),
   * Hugging Face BERT names (<prefix>self.query.weight, ..., <prefix>output.dense.*) or Llama
   * names (<prefix>q_proj.weight, ..., <prefix>o_proj.weight). Without a prefix the file must
   * hold exactly one block (RangeError naming the candidates otherwise). The other options are
   * fromStateDict's.
   */
  static fromSafetensors(source: string | Uint8Array, options: SafetensorsOptions): MultiHeadAttention {
    const { prefix, ...opts } = checkObject('options', options);
    const state = attentionStateDict(loadSafetensors(source), prefix as string | undefined);
    return MultiHeadAttention.fromStateDict(state, opts as unknown as StateDictOptions);
  }

  /**
   * A KV cache for incremental decoding through this layer (and no other): room for `capacity`
   * positions of `batchSize` sequences, allocated once. Use it with forward/forwardAsync
   * (options.kvCache) and appendKV.
   */
  createKVCache(options: KVCacheOptions): KVCache {
    const opts = checkObject('options', options);
    const B = checkPositiveInteger('options.batchSize', opts.batchSize);
    const C = checkPositiveInteger('options.capacity', opts.capacity);
    const dtype = checkOneOf('options.dtype', opts.dtype, STORAGE_DTYPES, 'float32');
    checkElementCount('KV cache keys ([batchSize, capacity, numKvHeads * headDim])', [B, C, this.numKvHeads * this.headDim]);
    return newKVCache(this, B, C, dtype, this.#layer.createKVStore(B, C, dtype));
  }

  /**
   * Projects key [B, T, kDim] and value [B, T, vDim] once and appends them to the cache (e.g. an
   * encoder's output as cross-attention memory, reused by every decoder step through
   * `forward(query, null, null, { kvCache })`). options.keyPaddingMask [B, T] marks padding
   * positions: stored, but blocked for every query. Each sequence gets its T positions after
   * its own length; RangeError (cache unchanged) when any sequence has no room for T more.
   */
  appendKV(cache: KVCache, key: Tensor, value: Tensor, options?: AppendKVOptions): void {
    const state = checkKVCache('cache', cache, this);
    const { args, lengths } = appendArgs(this, cache, state.lengths, key, value, options);
    this.#layer.appendKV(state.store, args);
    state.lengths = lengths;
  }

  /**
   * Multi-head attention (PyTorch semantics, with the layer's attention variant). Dense query
   * [B, L, E], key [B, S, kDim], value [B, S, vDim]; or packed query [T, E], key [Tk, kDim],
   * value [Tk, vDim] with options.sequenceLengths (output [T, E]: each sequence attends only to
   * its own keys, positions from 0). With options.kvCache:
   * - `forward(x, x, x, { kvCache, isCausal: true })` (self-attention): the keys/values of the T
   *   new tokens x [B, T, E] are projected once (fused with the queries) and appended, each
   *   sequence's after its own length; the new queries attend to their sequence's whole cache
   *   (bottom-right causal). options.keyPaddingMask [B, T] marks new padding positions, blocked
   *   for every later query too. Packed x [T, E] with options.sequenceLengths (batchSize
   *   lengths, 0 = sits this step out) is one continuous-batching step.
   * - `forward(query, null, null, { kvCache })` (cross-attention): the queries attend to the
   *   cache as filled by appendKV; nothing is appended.
   * options.attnMask and the result's attnWeights then span the longest sequence's positions
   * (S = its length after appending; keys past a sequence's own length are blocked). RangeError
   * (cache unchanged) when any sequence has no room for its new tokens.
   */
  forward(query: Tensor, key: Tensor, value: Tensor, options?: ForwardOptions): AttentionResult;
  forward(query: Tensor, key: null, value: null, options: ForwardOptions & { kvCache: KVCache }): AttentionResult;
  forward(query: Tensor, key: Tensor | null, value: Tensor | null, options?: ForwardOptions): AttentionResult {
    const cached = this.#cachedCall(query, key, value, options);
    if (cached) {
      this.#layer.forwardCached(cached.state.store, cached.args);
      cached.state.lengths = cached.lengths;
      return cached.result;
    }
    const { args, result } = forwardArgs(this, query, key, value, options);
    this.#layer.forward(args);
    return result;
  }

  /**
   * forward, computed off the JS thread. Validates synchronously (a bad argument rejects the
   * promise); inputs may change once it returns. A kvCache is held until the promise settles:
   * any other use of it meanwhile throws (or rejects).
   */
  forwardAsync(query: Tensor, key: Tensor, value: Tensor, options?: ForwardOptions): Promise<AttentionResult>;
  forwardAsync(query: Tensor, key: null, value: null, options: ForwardOptions & { kvCache: KVCache }):
    Promise<AttentionResult>;
  forwardAsync(query: Tensor, key: Tensor | null, value: Tensor | null, options?: ForwardOptions):
    Promise<AttentionResult> {
    try {
      const cached = this.#cachedCall(query, key, value, options);
      if (cached) {
        const { state, lengths, result } = cached;
        const pending = this.#layer.forwardCachedAsync(state.store, cached.args);
        state.busy = true;
        return pending.then(() => {
          state.busy = false;
          state.lengths = lengths;
          return result;
        }, (error: unknown) => {
          state.busy = false;
          throw error;
        });
      }
      const { args, result } = forwardArgs(this, query, key, value, options);
      return this.#layer.forwardAsync(args).then(() => result);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A call with options.kvCache, validated (undefined without one). */
  #cachedCall(query: Tensor, key: Tensor | null, value: Tensor | null, options: ForwardOptions | undefined) {
    if (options === null || typeof options !== 'object' || options.kvCache === undefined) return undefined;
    const opts = options as unknown as Record<string, unknown>;
    const state = checkKVCache('options.kvCache', opts.kvCache, this);
    return { state, ...cachedForwardArgs(this, options.kvCache, state.lengths, query, key, value, opts) };
  }
}
