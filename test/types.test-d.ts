// Type test of the public declarations (type-checked by vitest's typecheck mode, never run):
// the documented calls type-check with the documented result types, and each wrong call
// below is a compile error (an `@ts-expect-error` that is not needed fails the check).
import { describe, expectTypeOf, test } from 'vitest';
import {
  MultiHeadAttention, getNumThreads, maskedSoftmax, matmul, nativeInfo, scaledDotProductAttention,
  setNumThreads, tensor,
  type AttentionResult, type Backend, type Mask, type Tensor,
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
    expectTypeOf(nativeInfo()).toEqualTypeOf<{ isa: string; threads: number; version: string }>();
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
  });
});
