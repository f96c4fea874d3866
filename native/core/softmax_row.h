// One row of the masked softmax, shared by softmax.cc and attention.cc: row[0..s) holds the
// scaled scores of query (b, h, i); the masks and the bottom-right causal rule of mask.h are
// applied and the row is replaced by its softmax. Returns false, with the row all zeros,
// when every key is blocked.
#pragma once
#include <math.h>
#include <stdint.h>

#include "core/mask.h"

namespace mha {

// Adds an additive mask's value, or returns -inf where a boolean mask blocks.
static inline float apply_mask(const mha_mask& m, int64_t offset, float score) {
  if (m.kind == MHA_MASK_BOOL) return static_cast<const uint8_t*>(m.data)[offset] ? -INFINITY : score;
  if (m.kind == MHA_MASK_ADDITIVE) return score + static_cast<const float*>(m.data)[offset];
  return score;
}

static inline bool masked_softmax_row(float* row, int64_t b, int64_t h, int64_t i, int64_t l, int64_t s,
                                      const mha_mask& attn_mask, const mha_mask& key_padding, int causal) {
  const int64_t attn_base = b * attn_mask.stride_b + h * attn_mask.stride_h + i * attn_mask.stride_l;
  const int64_t pad_base = b * key_padding.stride_b + h * key_padding.stride_h + i * key_padding.stride_l;
  float max = -INFINITY;
  for (int64_t j = 0; j < s; ++j) {
    float v = -INFINITY;
    if (!(causal && mha_causal_blocked(i, j, l, s))) {
      v = apply_mask(attn_mask, attn_base + j * attn_mask.stride_s, row[j]);
      v = apply_mask(key_padding, pad_base + j * key_padding.stride_s, v);
    }
    row[j] = v;
    if (v > max) max = v;
  }
  if (max == -INFINITY) {
    for (int64_t j = 0; j < s; ++j) row[j] = 0.0f;
    return false;
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < s; ++j) {
    row[j] = expf(row[j] - max);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < s; ++j) row[j] *= inv;
  return true;
}

}  // namespace mha
