// mha-native: masked multi-head attention with native SIMD kernels and a TypeScript reference.
import { nativeBackend } from './addon.js';
import { functionalApi } from './functional.js';

export type { AttentionResult, AttentionWindow, Mask, RotaryOptions, Tensor } from './types.js';
export type { Bf16Path, Precision, StorageDtype } from './backend.js';
export { tensor } from './tensor.js';
export type {
  AppendKVOptions, AttentionVariantOptions, Backend, ForwardOptions, KVCacheOptions, MultiHeadAttentionOptions,
  MultiHeadAttentionWeights, SafetensorsOptions, StateDictOptions,
} from './mha-types.js';
export { MultiHeadAttention } from './mha.js';
export type { KVCache } from './kv-cache.js';
export { loadSafetensors } from './safetensors.js';
export type { MaskedSoftmaxOptions, MatmulOptions, ScaledDotProductAttentionOptions, ScoreOptions } from './op-args.js';
export type { RotaryEmbeddingOptions } from './rotary-args.js';
export const { matmul, maskedSoftmax, scaledDotProductAttention, rotaryEmbedding } = functionalApi(nativeBackend);
export { getNumThreads, nativeInfo, setNumThreads } from './runtime.js';
/** The TypeScript reference of the functional API (same signatures, validation and results). */
export * as reference from './reference-api.js';
export { createBatcher, type BatchableLayer, type Batcher, type BatcherOptions } from './batcher.js';
