// Type test of the public declarations (type-checked by vitest's typecheck mode, never run):
// the documented calls type-check with the documented result types, and each wrong call
// below is a compile error (an `@ts-expect-error` that is not needed fails the check).
import { describe, expectTypeOf, test } from 'vitest';
import {
  MultiHeadAttention, getNumThreads, maskedSoftmax, matmul, nativeInfo, reference, rotaryEmbedding,
  scaledDotProductAttention, setNumThreads, tensor,
  type AttentionResult, type AttentionVariantOptions, type AttentionWindow, type Backend, type KVCache, type Mask,
  type RotaryEmbeddingOptions, type RotaryOptions, type Tensor,
} from '../lib/index.js';

const x: Tensor = { data: new Float32Array(8), shape: [1, 2, 4] };
const boolMask: Mask = { data: new Uint8Array(4), shape: [2, 2] };
const mha = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });

describe('MultiHeadAttention', () => {
  test('documented calls and result types', () => {
    expectTypeOf(mha.forward(x, x, x)).toEqualTypeOf<AttentionResult>();
    expectTypeOf(mha.forward(x, x, x, { attnMask: boolMask, isCausal: true, needWeights: true }).attnWeights)
      .toEqualTypeOf<Tensor | undefined>();
    expectTypeOf(mha.forwardAsync(x, x, x)).toEqualTypeOf<Promise<AttentionResult>>();
    expectTypeOf(mha.forward(x, x, x, { out: new Float32Array(8) })).toEqualTypeOf<AttentionResult>();
    expectTypeOf(mha.forwardAsync(x, x, x, { out: new Float32Array(8) })).toEqualTypeOf<Promise<AttentionResult>>();
    expectTypeOf(MultiHeadAttention.fromStateDict({ in_proj_weight: new Float32Array(48) }, { numHeads: 2 }))
      .toEqualTypeOf<MultiHeadAttention>();
    expectTypeOf(mha.headDim).toEqualTypeOf<number>();
    expectTypeOf<Backend>().toEqualTypeOf<'native' | 'reference'>();
    const bf16 = new MultiHeadAttention({ embedDim: 4, numHeads: 2, dtype: 'bfloat16' });
    expectTypeOf(bf16.dtype).toEqualTypeOf<'float32' | 'bfloat16'>();
    expectTypeOf(bf16.alibiSlopes).toEqualTypeOf<Float32Array | undefined>();
    expectTypeOf(bf16.createKVCache({ batchSize: 1, capacity: 4, dtype: 'float16' }).dtype)
      .toEqualTypeOf<'float32' | 'float16' | 'bfloat16'>();
  });

  test('wrong calls do not type-check', () => {
    // @ts-expect-error tensor data is Float32Array, not Float64Array
    mha.forward({ data: new Float64Array(8), shape: [1, 2, 4] }, x, x);
    // @ts-expect-error numHeads is required
    MultiHeadAttention.fromStateDict({}, {});
    // @ts-expect-error backend is 'native' or 'reference'
    new MultiHeadAttention({ embedDim: 4, numHeads: 2, backend: 'gpu' });
    // @ts-expect-error embedDim is required
    new MultiHeadAttention({ numHeads: 2 });
    // @ts-expect-error a mask is Uint8Array (boolean) or Float32Array (additive)
    mha.forward(x, x, x, { keyPaddingMask: { data: new Int32Array(2), shape: [1, 2] } });
    // @ts-expect-error value is required
    mha.forward(x, x);
    // @ts-expect-error out is a Float32Array
    mha.forward(x, x, x, { out: new Float64Array(8) });
    // @ts-expect-error the result's fields are read-only
    mha.forward(x, x, x).output.shape = [1];
    // @ts-expect-error layer dims are read-only
    mha.embedDim = 8;
    // @ts-expect-error a layer's dtype is 'float32' or 'bfloat16' (float16 is for caches)
    new MultiHeadAttention({ embedDim: 4, numHeads: 2, dtype: 'float16' });
    // @ts-expect-error the layer's options are read-only
    mha.scale = 2;
  });
});

describe('attention variants, packed batches and per-sequence caches', () => {
  test('documented calls and result types', () => {
    const variant: AttentionVariantOptions = {
      numKvHeads: 1, scale: 0.5, softcap: 30, alibi: true, window: { left: 128 }, rotary: { dim: 2, base: 1e4, interleaved: false },
    };
    expectTypeOf(new MultiHeadAttention({ embedDim: 4, numHeads: 2, ...variant, alibi: new Float32Array(2) }))
      .toEqualTypeOf<MultiHeadAttention>();
    expectTypeOf(mha.numKvHeads).toEqualTypeOf<number>();
    expectTypeOf<AttentionWindow>().toEqualTypeOf<{ left?: number; right?: number }>();
    expectTypeOf<RotaryOptions>().toEqualTypeOf<{ dim?: number; base?: number; interleaved?: boolean }>();
    expectTypeOf(MultiHeadAttention.fromStateDict({}, { numHeads: 2, ...variant })).toEqualTypeOf<MultiHeadAttention>();
    expectTypeOf(MultiHeadAttention.fromSafetensors('m.safetensors', { numHeads: 2, prefix: 'a.', rotary: {} }))
      .toEqualTypeOf<MultiHeadAttention>();
    const packed: Tensor = { data: new Float32Array(12), shape: [3, 4] };
    expectTypeOf(mha.forward(packed, packed, packed, { sequenceLengths: [1, 2], kvSequenceLengths: Int32Array.of(2, 1) }))
      .toEqualTypeOf<AttentionResult>();
    const cache = mha.createKVCache({ batchSize: 2, capacity: 8 });
    expectTypeOf(mha.forward(packed, packed, packed, { kvCache: cache, isCausal: true, sequenceLengths: [3, 0] }))
      .toEqualTypeOf<AttentionResult>();
    expectTypeOf(cache.lengths).toEqualTypeOf<readonly number[]>();
    expectTypeOf(cache.reset).parameters.toEqualTypeOf<[sequence?: number]>();
    expectTypeOf(cache.truncate).parameters.toEqualTypeOf<[length: number | ArrayLike<number>]>();
    expectTypeOf(cache).toEqualTypeOf<KVCache>();
    const rotary: RotaryEmbeddingOptions = { positions: [0, 1], dim: 2, sequenceLengths: [2], out: new Float32Array(8) };
    expectTypeOf(rotaryEmbedding(x, rotary)).toEqualTypeOf<Tensor>();
    expectTypeOf(reference.rotaryEmbedding(x)).toEqualTypeOf<Tensor>();
    expectTypeOf(scaledDotProductAttention(x, x, x, {
      softcap: 50, alibiSlopes: new Float32Array(2), window: { right: 0 }, sequenceLengths: [2], kvSequenceLengths: [2],
    })).toEqualTypeOf<Tensor>();
    expectTypeOf(maskedSoftmax(x, { softcap: 5, alibiSlopes: new Float32Array(1), window: { left: 1 } })).toEqualTypeOf<Tensor>();
  });

  test('wrong calls do not type-check', () => {
    const cache = mha.createKVCache({ batchSize: 2, capacity: 8 });
    // @ts-expect-error alibi is a boolean or a Float32Array
    new MultiHeadAttention({ embedDim: 4, numHeads: 2, alibi: [1, 2] });
    // @ts-expect-error window sides are numbers
    new MultiHeadAttention({ embedDim: 4, numHeads: 2, window: { left: '1' } });
    // @ts-expect-error rotary is an options object
    new MultiHeadAttention({ embedDim: 4, numHeads: 2, rotary: true });
    // @ts-expect-error sequence lengths are numbers
    mha.forward(x, x, x, { sequenceLengths: ['1'] });
    // @ts-expect-error scaledDotProductAttention's slopes are a Float32Array
    scaledDotProductAttention(x, x, x, { alibiSlopes: [1, 1] });
    // @ts-expect-error lengths is read-only
    cache.lengths = [1, 2];
    // @ts-expect-error positions are numbers
    rotaryEmbedding(x, { positions: ['0'] });
  });
});

describe('functional and runtime API', () => {
  test('documented calls and result types', () => {
    expectTypeOf(matmul(x, x, { transposeB: true, alpha: 0.5 })).toEqualTypeOf<Tensor>();
    expectTypeOf(matmul(x, x, { out: new Float32Array(4) })).toEqualTypeOf<Tensor>();
    expectTypeOf(maskedSoftmax(x, { mask: boolMask, isCausal: true, scale: 2 })).toEqualTypeOf<Tensor>();
    expectTypeOf(maskedSoftmax(x, { out: x.data })).toEqualTypeOf<Tensor>();
    expectTypeOf(scaledDotProductAttention(x, x, x, { isCausal: true })).toEqualTypeOf<Tensor>();
    expectTypeOf(scaledDotProductAttention(x, x, x, { out: new Float32Array(4) })).toEqualTypeOf<Tensor>();
    expectTypeOf(tensor([1, 2], [2])).toEqualTypeOf<Tensor>();
    expectTypeOf(nativeInfo()).toEqualTypeOf<{ isa: string; bf16: 'amx' | 'avx512bf16' | 'emulated'; threads: number; version: string }>();
    expectTypeOf(matmul(x, x, { precision: 'bfloat16' })).toEqualTypeOf<Tensor>();
    expectTypeOf(scaledDotProductAttention(x, x, x, { precision: 'float32' })).toEqualTypeOf<Tensor>();
    expectTypeOf(getNumThreads()).toEqualTypeOf<number>();
    expectTypeOf(setNumThreads).parameters.toEqualTypeOf<[number]>();
  });

  test('wrong calls do not type-check', () => {
    // @ts-expect-error matmul takes Tensors, not raw arrays
    matmul(new Float32Array(4), x);
    // @ts-expect-error transposeA is a boolean
    matmul(x, x, { transposeA: 1 });
    // @ts-expect-error out is a Float32Array
    matmul(x, x, { out: new Float64Array(4) });
    // @ts-expect-error out is a Float32Array
    maskedSoftmax(x, { out: new Float64Array(4) });
    // @ts-expect-error scaledDotProductAttention has no keyPaddingMask option
    scaledDotProductAttention(x, x, x, { keyPaddingMask: boolMask });
    // @ts-expect-error the thread count is a number
    setNumThreads('2');
    // @ts-expect-error precision is 'float32' or 'bfloat16'
    matmul(x, x, { precision: 'float16' });
  });
});
