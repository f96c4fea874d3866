// Attention kernels, scalar (portable C++, the baseline ISA): the mha_attn_kernels_scalar
// table. Tile 1 x 1: one score / one output element at a time, inner loops contiguous so the
// compiler may vectorize them; exp from libm. The K^T tile, the score tile and the
// accumulator rows a caller streams through are sized for L1/L2.
#include <math.h>

#include "core/attn_kernels.h"

namespace {

float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    float v = scale * x[j];
    if (m->softcap > 0) v = m->softcap * tanhf(v / m->softcap);
    if (m->alibi_slope != 0) v -= m->alibi_slope * fabsf(m->alibi_pos - static_cast<float>(j));
    if (m->add[0]) v += m->add[0][j];
    if (m->add[1]) v += m->add[1][j];
    if (j < m->first || j >= m->limit || (m->blk[0] && m->blk[0][j]) || (m->blk[1] && m->blk[1][j])) v = -INFINITY;
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

void scores(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  for (int64_t r = 0; r < rows; ++r) {
    float* sr = s + r * lds;
    for (int64_t j = 0; j < n; ++j) sr[j] = 0;
    for (int64_t c = 0; c < d; ++c) {
      const float qc = q[r * ldq + c];
      const float* kc = kt + c * ldkt;
      for (int64_t j = 0; j < n; ++j) sr[j] += qc * kc[j];
    }
  }
}

void dots(const float* q, const float* k, int64_t ldk, int64_t n, int64_t d, float* s) {
  for (int64_t j = 0; j < n; ++j) {
    float acc = 0;
    for (int64_t c = 0; c < d; ++c) acc += q[c] * k[j * ldk + c];
    s[j] = acc;
  }
}

void pv(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc) {
  for (int64_t r = 0; r < rows; ++r) {
    float* ar = acc + r * ldacc;
    for (int64_t j = 0; j < n; ++j) {
      const float pj = p[r * ldp + j];
      const float* vj = v + j * ldv;
      for (int64_t c = 0; c < dv; ++c) ar[c] += pj * vj[c];
    }
  }
}

}  // namespace

const mha_attn_kernels mha_attn_kernels_scalar = {mask_max_row, exp_sum_row, scale_row, scores, dots, pv,
                                                   /*pack_kt=*/nullptr};
