// Fused masked softmax over the last dim of x [batch, heads, l, s] (contiguous): out =
// softmax of the logits of scores x under the rule (core/score_rule.h; row l is at position
// l + (s - l), key j at j); blocked entries get 0, a row with every entry blocked is all
// zeros (never NaN).
#pragma once
#include <stdint.h>
#include "core/mask.h"
#include "core/score_rule.h"

typedef struct mha_softmax_args {
  int64_t batch, heads, l, s;
  const float* x;
  float* out;  // may equal x
  mha_score_rule rule;
  mha_mask attn_mask;
  mha_mask key_padding;
} mha_softmax_args;

void mha_masked_softmax(const mha_softmax_args* args);
