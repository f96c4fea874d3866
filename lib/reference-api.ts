// The functional API evaluated by the TypeScript reference: the same signatures, validation
// and result shapes as functional.ts, exported as `reference` for comparing implementations.
import {
  attentionArgs, maskedSoftmaxArgs, matmulArgs,
  type MaskedSoftmaxOptions, type MatmulOptions, type ScaledDotProductAttentionOptions,
} from './op-args.js';
import { referenceAttention, referenceMaskedSoftmax, referenceMatmul } from './reference.js';
import type { Tensor } from './tensor.js';

export function matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor {
  const { args, shape } = matmulArgs(a, b, options);
  referenceMatmul(args);
  return { data: args.out, shape };
}

export function maskedSoftmax(x: Tensor, options?: MaskedSoftmaxOptions): Tensor {
  const { args, shape } = maskedSoftmaxArgs(x, options);
  referenceMaskedSoftmax(args);
  return { data: args.out, shape };
}

export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor,
  options?: ScaledDotProductAttentionOptions): Tensor {
  const { args, shape } = attentionArgs(q, k, v, options);
  referenceAttention(args);
  return { data: args.out, shape };
}
