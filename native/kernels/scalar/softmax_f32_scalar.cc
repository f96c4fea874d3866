// Masked softmax row kernels, scalar: one element at a time, exp from libm.
// Rows are streamed once per pass; a score row (<= a few thousand floats) stays in L1.
#include <math.h>

#include "kernels/scalar/attn_scalar.h"

namespace mha_scalar {

float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    float v = scale * x[j];
    if (m->add[0]) v += m->add[0][j];
    if (m->add[1]) v += m->add[1][j];
    if (j >= m->limit || (m->blk[0] && m->blk[0][j]) || (m->blk[1] && m->blk[1][j])) v = -INFINITY;
    y[j] = v;
    mx = v > mx ? v : mx;
  }
  return mx;
}

float exp_sum_row(float* y, int64_t n, float max) {
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    y[j] = expf(y[j] - max);
    sum += y[j];
  }
  return sum;
}

void scale_row(float* y, int64_t n, float a) {
  for (int64_t j = 0; j < n; ++j) y[j] *= a;
}

}  // namespace mha_scalar
