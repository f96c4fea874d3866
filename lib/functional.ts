// The functional kernels, written once against the backend contract: validate (op-args.ts),
// run the backend, shape the result. index.ts binds them to the native backend and exports
// the reference's binding as `reference`.
import type { ComputeBackend } from './backend.js';
import {
  attentionArgs, maskedSoftmaxArgs, matmulArgs,
  type MaskedSoftmaxOptions, type MatmulOptions, type ScaledDotProductAttentionOptions,
} from './op-args.js';
import { rotaryArgs, type RotaryEmbeddingOptions } from './rotary-args.js';
import type { Tensor } from './types.js';

export interface FunctionalApi {
  /**
   * Batched matmul on the last two dims: a [..., M, K] ([..., K, M] with transposeA),
   * b [..., K, N] ([..., N, K] with transposeB) -> alpha * a b, [..., M, N]. The batch dims of
   * a and b are equal, or b is rank 2 (one matrix shared by every batch entry).
   */
  matmul(a: Tensor, b: Tensor, options?: MatmulOptions): Tensor;
  /**
   * softmax(scale * x + mask) over the last dim of x [..., L, S], x read as the scores q . k of
   * query l (position l + S - L) and key s (position s): softcap, ALiBi (alibiSlopes needs x
   * [B, H, L, S]) and window apply as in scaledDotProductAttention. Boolean-blocked, causal
   * (bottom-right) and out-of-window entries get 0 and a fully blocked row is all zeros. mask
   * is [L, S] or the shape of x; keyPaddingMask [B, S] needs x [B, H, L, S]. options.out: where
   * to write the result, x.data itself for a softmax in place.
   */
  maskedSoftmax(x: Tensor, options?: MaskedSoftmaxOptions): Tensor;
  /**
   * q [B, H, L, D], k [B, Hkv, S, D], v [B, Hkv, S, Dv] -> [B, H, L, Dv], query head h reading
   * key/value head floor(h / (H / Hkv)); packed with options.sequenceLengths: q [T, H, D],
   * k [Tk, Hkv, D], v [Tk, Hkv, Dv] -> [T, H, Dv], each sequence attending to its own keys.
   * scale defaults to 1/sqrt(D); softcap, alibiSlopes, window and isCausal apply within each
   * sequence (positions from 0, bottom-right aligned); a query row with every key blocked gets
   * a zero output row. options.out: where to write the result (sharing no memory with the inputs).
   */
  scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options?: ScaledDotProductAttentionOptions): Tensor;
  /**
   * Rotary position embedding of x [B, H, L, D] (positions default 0..L-1) or packed x [T, H, D]
   * (positions default 0..T-1, restarting at 0 in each sequence of options.sequenceLengths):
   * the first options.dim features of each head rotated (see RotaryOptions). options.out: where
   * to write the result, x.data itself to rotate in place.
   */
  rotaryEmbedding(x: Tensor, options?: RotaryEmbeddingOptions): Tensor;
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
    rotaryEmbedding(x, options) {
      const { args, result } = rotaryArgs(x, options);
      backend.rotary(args);
      return result;
    },
  };
}
