// Fused masked softmax over the last dim of x [batch, heads, l, s] (contiguous):
//   out = softmax(scale * x + additive masks), boolean/causal-blocked entries get 0,
//   a row with every entry blocked is all zeros (never NaN).
#pragma once
#include <stdint.h>
#include "core/mask.h"

typedef struct mha_softmax_args {
  int64_t batch, heads, l, s;
  const float* x;
  float* out;  // may equal x
  float scale;
  mha_mask attn_mask;
  mha_mask key_padding;
  int causal;
} mha_softmax_args;

void mha_masked_softmax(const mha_softmax_args* args);
