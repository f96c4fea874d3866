// The functional kernels: validate (op-args.ts), then run the native addon.
import { addon } from './addon.js';
import {
  attentionArgs, maskedSoftmaxArgs, matmulArgs,
  type MaskedSoftmaxOptions, type MatmulOptions, type ScaledDotProductAttentionOptions,
} from './op-args.js';
import type { Tensor } from './tensor.js';

/**
 * Batched matmul on the last two dims: a [..., M, K] ([..., K, M] with transposeA),
 * b [..., K, N] ([..., N, K] with transposeB) -> alpha * a b, [..., M, N]. The batch dims of
 * a and b are equal, or b is rank 2 (one matrix shared by every batch entry).
 */
export function matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor {
  const { args, shape } = matmulArgs(a, b, options);
  addon().matmul(args);
  return { data: args.out, shape };
}

/**
 * softmax(scale * x + mask) over the last dim of x [..., L, S]; boolean-blocked and causal
 * (bottom-right) entries get 0 and a fully blocked row is all zeros. mask is [L, S] or the
 * shape of x; keyPaddingMask [B, S] needs x [B, H, L, S]. options.out: where to write the
 * result, x.data itself for a softmax in place.
 */
export function maskedSoftmax(x: Tensor, options?: MaskedSoftmaxOptions): Tensor {
  const { args, shape } = maskedSoftmaxArgs(x, options);
  addon().maskedSoftmax(args);
  return { data: args.out, shape };
}

/**
 * q [B, H, L, D], k [B, H, S, D], v [B, H, S, Dv] -> [B, H, L, Dv]; scale defaults to
 * 1/sqrt(D); a query row with every key blocked gets a zero output row. options.out: where to
 * write the result (sharing no memory with the inputs).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor,
  options?: ScaledDotProductAttentionOptions): Tensor {
  const { args, shape } = attentionArgs(q, k, v, options);
  addon().attention(args);
  return { data: args.out, shape };
}
