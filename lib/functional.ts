// The functional kernels, written once against the backend contract: validate (op-args.ts),
// run the backend, shape the result. index.ts binds them to the native backend and exports
// the reference's binding as `reference`.
import type { ComputeBackend } from './backend.js';
import {
  attentionArgs, maskedSoftmaxArgs, matmulArgs,
  type MaskedSoftmaxOptions, type MatmulOptions, type ScaledDotProductAttentionOptions,
} from './op-args.js';
import type { Tensor } from './types.js';

export interface FunctionalApi {
  /**
   * Batched matmul on the last two dims: a [..., M, K] ([..., K, M] with transposeA),
   * b [..., K, N] ([..., N, K] with transposeB) -> alpha * a b, [..., M, N]. The batch dims of
   * a and b are equal, or b is rank 2 (one matrix shared by every batch entry).
   */
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;
  /**
   * softmax(scale * x + mask) over the last dim of x [..., L, S]; boolean-blocked and causal
   * (bottom-right) entries get 0 and a fully blocked row is all zeros. mask is [L, S] or the
   * shape of x; keyPaddingMask [B, S] needs x [B, H, L, S]. options.out: where to write the
   * result, x.data itself for a softmax in place.
   */
  maskedSoftmax(x: Tensor, options?: MaskedSoftmaxOptions): Tensor;
  /**
   * q [B, H, L, D], k [B, H, S, D], v [B, H, S, Dv] -> [B, H, L, Dv]; scale defaults to
   * 1/sqrt(D); a query row with every key blocked gets a zero output row. options.out: where to
   * write the result (sharing no memory with the inputs).
   */
  scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options?: ScaledDotProductAttentionOptions): Tensor;
}

/** The functional API on one backend. */
export function functionalApi(backend: ComputeBackend): FunctionalApi {
  return {
    matmul(a, b, options) {
      const { args, result } = matmulArgs(a, b, options);
      backend.matmul(args);
      return result;
    },
    maskedSoftmax(x, options) {
      const { args, result } = maskedSoftmaxArgs(x, options);
      backend.maskedSoftmax(args);
      return result;
    },
    scaledDotProductAttention(q, k, v, options) {
      const { args, result } = attentionArgs(q, k, v, options);
      backend.attention(args);
      return result;
    },
  };
}
