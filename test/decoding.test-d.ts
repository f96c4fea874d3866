// Type test of the decoding and weights I/O declarations (checked by tsc, never run).
import { describe, expectTypeOf, test } from 'vitest';
import {
  MultiHeadAttention, loadSafetensors, type AttentionResult, type KVCache, type Tensor,
} from '../lib/index.js';

const x: Tensor = { data: new Float32Array(8), shape: [1, 2, 4] };
const mha = new MultiHeadAttention({ embedDim: 4, numHeads: 2 });

describe('KV cache and safetensors', () => {
  test('documented calls and result types', () => {
    const cache = mha.createKVCache({ batchSize: 1, capacity: 8 });
    expectTypeOf(cache).toEqualTypeOf<KVCache>();
    expectTypeOf(cache.length).toEqualTypeOf<number>();
    expectTypeOf(mha.forward(x, x, x, { kvCache: cache, isCausal: true })).toEqualTypeOf<AttentionResult>();
    expectTypeOf(mha.forward(x, null, null, { kvCache: cache })).toEqualTypeOf<AttentionResult>();
    expectTypeOf(mha.forwardAsync(x, null, null, { kvCache: cache })).toEqualTypeOf<Promise<AttentionResult>>();
    expectTypeOf(mha.appendKV(cache, x, x, { keyPaddingMask: { data: new Uint8Array(2), shape: [1, 2] } }))
      .toEqualTypeOf<void>();
    expectTypeOf(loadSafetensors('model.safetensors')).toEqualTypeOf<Record<string, Tensor>>();
    expectTypeOf(MultiHeadAttention.fromSafetensors(new Uint8Array(8), { numHeads: 2, prefix: 'a.' }))
      .toEqualTypeOf<MultiHeadAttention>();
  });

  test('wrong calls do not type-check', () => {
    const cache = mha.createKVCache({ batchSize: 1, capacity: 8 });
    // @ts-expect-error null key/value only with a kvCache
    mha.forward(x, null, null);
    // @ts-expect-error capacity is required
    mha.createKVCache({ batchSize: 1 });
    // @ts-expect-error length is read-only
    cache.length = 3;
    // @ts-expect-error numHeads is required
    MultiHeadAttention.fromSafetensors('model.safetensors', { prefix: 'a.' });
  });
});
