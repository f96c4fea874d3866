// Scaled dot-product attention over strided q/k/v (the last dim of each is contiguous):
//   out[b,h,l,:] = sum_s P[b,h,l,s] * v[b,h,s,:],  P = masked_softmax(scale * q.k^T)
// Strides are in elements, so the layer can pass [B, L, H*D] projections without a transpose.
// A fully blocked query row gets a zero output row (and zero weights).
// out may be q itself (out == q with the same strides, d == dv): each query row is read
// before its output row is written, and by nothing else.
#pragma once
#include <stdint.h>
#include "core/mask.h"

typedef struct mha_attention_args {
  int64_t batch, heads, l, s, d, dv;
  const float* q; int64_t q_sb, q_sh, q_sl;
  const float* k; int64_t k_sb, k_sh, k_ss;
  const float* v; int64_t v_sb, v_sh, v_ss;
  float* out;     int64_t o_sb, o_sh, o_sl;
  float scale;
  mha_mask attn_mask;
  mha_mask key_padding;
  int causal;
  float* weights;  // optional: the probabilities, [batch, heads, l, s] contiguous; NULL = not needed
} mha_attention_args;

void mha_attention(const mha_attention_args* args);
