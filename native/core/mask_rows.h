// Resolves the attention and key-padding masks of one score row (b, h, l) over keys
// [j0, j0 + n) into the contiguous rows the attention kernels take (mha_row_masks).
// A row whose key stride is 1 is used in place; any other stride is gathered into the
// caller's scratch (capacity keys per mask).
#pragma once
#include <stdint.h>
#include <vector>
#include "core/attn_kernels.h"

namespace mha {

class MaskRows {
 public:
  MaskRows(const mha_mask* attn, const mha_mask* key_padding, int64_t capacity)
      : masks_{attn, key_padding} {
    for (int i = 0; i < 2; ++i) {
      if (masks_[i]->kind == MHA_MASK_NONE || masks_[i]->stride_s == 1) continue;
      if (masks_[i]->kind == MHA_MASK_BOOL) blk_[i].resize(capacity);
      else add_[i].resize(capacity);
    }
  }

  // Fills out for row (b, h, l), keys [j0, j0 + n); limit = first causally blocked key
  // relative to j0 (n when not causal).
  void Row(int64_t b, int64_t h, int64_t l, int64_t j0, int64_t n, int64_t limit,
           mha_row_masks* out) {
    for (int i = 0; i < 2; ++i) {
      const mha_mask* m = masks_[i];
      out->add[i] = nullptr;
      out->blk[i] = nullptr;
      if (m->kind == MHA_MASK_NONE) continue;
      const int64_t base = b * m->stride_b + h * m->stride_h + l * m->stride_l + j0 * m->stride_s;
      if (m->kind == MHA_MASK_BOOL) out->blk[i] = Resolve(static_cast<const uint8_t*>(m->data) + base, m->stride_s, n, blk_[i]);
      else out->add[i] = Resolve(static_cast<const float*>(m->data) + base, m->stride_s, n, add_[i]);
    }
    out->limit = limit;
  }

  bool any() const { return masks_[0]->kind != MHA_MASK_NONE || masks_[1]->kind != MHA_MASK_NONE; }

 private:
  template <typename T>
  static const T* Resolve(const T* p, int64_t stride, int64_t n, std::vector<T>& scratch) {
    if (stride == 1) return p;
    for (int64_t j = 0; j < n; ++j) scratch[j] = p[j * stride];
    return scratch.data();
  }

  const mha_mask* masks_[2];
  std::vector<float> add_[2];
  std::vector<uint8_t> blk_[2];
};

// Number of keys of [j0, j0 + n) that query l (of L) may see under bottom-right causal.
inline int64_t causal_limit(int causal, int64_t l, int64_t L, int64_t S, int64_t j0, int64_t n) {
  if (!causal) return n;
  const int64_t lim = l + (S - L) + 1 - j0;
  return lim < 0 ? 0 : (lim > n ? n : lim);
}

}  // namespace mha
