// Fused masked softmax: per row, one pass applies the rule (scale, softcap, ALiBi, additive
// and boolean masks, key padding, causal, window) while taking the max, one pass exponentiates
// (max-subtracted) and sums, one pass normalizes. A row with every entry blocked becomes zeros.
#include "core/softmax.h"

#include <math.h>
#include <string.h>

#include "core/attn_kernels.h"
#include "core/dispatch.h"
#include "core/mask_rows.h"
#include "core/threadpool.h"
#include "core/tuning.h"

void mha_masked_softmax_with(const mha_attn_kernels* k, const mha_softmax_args* a) {
  const int64_t L = a->l, S = a->s, rows = a->batch * a->heads * L;
  if (rows <= 0 || S <= 0) return;
  mha::parallel_for(rows, mha::kSoftmaxEntryFlops * rows * S, [&](int64_t begin, int64_t end) {
    mha::MaskRows masks(&a->attn_mask, &a->key_padding, S);
    mha_row_masks rm;
    for (int64_t row = begin; row < end; ++row) {
      const int64_t l = row % L, bh = row / L, h = bh % a->heads, b = bh / a->heads;
      const float* x = a->x + row * S;
      float* y = a->out + row * S;
      masks.Row(b, h, l, 0, S, &rm);
      mha::rule_row(a->rule, h, l + (S - L), S, 0, S, &rm);
      const float mx = k->mask_max_row(x, y, S, a->rule.scale, &rm);
      if (mx == -INFINITY) {
        memset(y, 0, S * sizeof(float));
        continue;
      }
      k->scale_row(y, S, 1.0f / k->exp_sum_row(y, S, mx));
    }
  });
}

void mha_masked_softmax(const mha_softmax_args* args) {
  mha_masked_softmax_with(mha_kernels()->attn, args);
}
