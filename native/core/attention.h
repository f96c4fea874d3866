// Scaled dot-product attention over strided q/k/v (the last dim of each is contiguous):
//   out[b,h,l,:] = sum_s P[b,h,l,s] * v[b,g(h),s,:],  P = softmax of the logits of q.k^T under
//   the score rule (core/score_rule.h) and the masks, g(h) = h / (heads / kv_heads).
// Strides are in elements, so the layer can pass [B, L, H*D] projections without a transpose;
// k_sh / v_sh step between key/value heads. A fully blocked query row gets a zero output row
// (and zero weights).
// Ragged batches: each entry b (a sequence) may have its own number of queries l_b and keys
// s_b. q_rows gives token-major queries ([T, H, D]-like, entry b's rows [q_rows[b],
// q_rows[b+1]) at stride q_sl, out alike at o_sl); kv_rows the same for keys and values;
// kv_lens gives entry b kv_lens[b] keys at b * k_sb (a cache with one length per sequence).
// NULL: dense (l queries at b * q_sb, s keys at b * k_sb). l and s bound every entry's counts.
// out may be q itself (out == q with the same strides, d == dv): each query row is read
// before its output row is written, and by nothing else.
// Precision: MHA_PRECISION_BFLOAT16 takes q, k, v and the probabilities P (unnormalized, as
// the online softmax has them, before P.V) rounded to bfloat16, products summed in float32;
// the softmax stays float32. Results: within 1e-2 relative L2 of float64, and no worse than
// twice a float64 evaluation of the same rounded operands (products of two bfloat16 values are
// exact in float32, so the AVX512-BF16 kernels and the emulated paths agree up to the order of
// their sums; attn_kernels.h).
// kv_dtype: how k and v are stored (core/storage.h); 16-bit values are widened to float32 as
// they are read, strides count elements of that type. Zero-initialized: float32 everywhere.
#pragma once
#include <stdint.h>
#include "core/mask.h"
#include "core/precision.h"
#include "core/score_rule.h"
#include "core/storage.h"

typedef struct mha_attention_args {
  int64_t batch, heads, kv_heads, l, s, d, dv;
  const float* q; int64_t q_sb, q_sh, q_sl;
  const void* k;  int64_t k_sb, k_sh, k_ss;  // elements of kv_dtype
  const void* v;  int64_t v_sb, v_sh, v_ss;
  float* out;     int64_t o_sb, o_sh, o_sl;
  const int64_t* q_rows;   // [batch + 1] or NULL
  const int64_t* kv_rows;  // [batch + 1] or NULL
  const int64_t* kv_lens;  // [batch] or NULL (not with kv_rows)
  mha_score_rule rule;
  mha_mask attn_mask;      // over (b, h, l, s); dense queries only
  mha_mask key_padding;
  float* weights;  // optional, dense queries only: [batch, heads, l, s], zero past each entry's keys; NULL = not needed
  mha_precision precision;
  mha_storage kv_dtype;
} mha_attention_args;

void mha_attention(const mha_attention_args* args);
