// Resolves one score row over keys [j0, j0 + n) into what the row kernels take
// (mha_row_masks): MaskRows gathers the attention and key-padding masks of row (b, h, l) into
// contiguous rows (a row whose key stride is 1 is used in place; any other stride is gathered
// into the caller's scratch, capacity keys per mask), and rule_row adds the score rule's part
// (core/score_rule.h) for the query's position.
#pragma once
#include <stdint.h>

#include <algorithm>
#include <vector>

#include "core/attn_kernels.h"
#include "core/score_rule.h"

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

  // Fills out's masks for row (b, h, l), keys [j0, j0 + n).
  void Row(int64_t b, int64_t h, int64_t l, int64_t j0, int64_t n, mha_row_masks* out) {
    for (int i = 0; i < 2; ++i) {
      const mha_mask* m = masks_[i];
      out->add[i] = nullptr;
      out->blk[i] = nullptr;
      if (m->kind == MHA_MASK_NONE) continue;
      const int64_t base = b * m->stride_b + h * m->stride_h + l * m->stride_l + j0 * m->stride_s;
      if (m->kind == MHA_MASK_BOOL) out->blk[i] = Resolve(static_cast<const uint8_t*>(m->data) + base, m->stride_s, n, blk_[i]);
      else out->add[i] = Resolve(static_cast<const float*>(m->data) + base, m->stride_s, n, add_[i]);
    }
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

// Fills out's rule fields for the query at position pq of head h, over keys [j0, j0 + n) of a
// sequence of s keys: the visible range relative to j0, the softcap and the ALiBi slope.
inline void rule_row(const mha_score_rule& r, int64_t h, int64_t pq, int64_t s, int64_t j0, int64_t n,
                     mha_row_masks* out) {
  int64_t first, limit;
  mha_visible_keys(&r, pq, s, &first, &limit);
  out->first = std::clamp<int64_t>(first - j0, 0, n);
  out->limit = std::clamp<int64_t>(limit - j0, 0, n);
  out->softcap = r.softcap;
  out->alibi_slope = r.alibi ? r.alibi[h] : 0.0f;
  out->alibi_pos = static_cast<float>(pq - j0);
}

}  // namespace mha
