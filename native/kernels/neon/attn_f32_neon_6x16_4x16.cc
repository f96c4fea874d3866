// Attention tile kernels, NEON (AArch64), and the mha_attn_kernels_neon table.
//  scores: 6 x 16 register tile of S = Q.K^T (24 q-register accumulators, 4 for a K^T row
//    segment); per step of d: 4 loads, 6 scalar q, 24 FMAs by element. The d x 16 K^T
//    column block stays in L1 across all query rows.
//  pv: 4 x 16 register tile of acc += P.V (16 accumulators, 4 for a V row segment); per
//    key: 4 loads, 4 scalar p, 16 FMAs. The V tile streams from L1/L2. Columns past the
//    last multiple of 4 are done one at a time.
//  dots (decode, one query): 4 keys at a time, 4 floats of d per FMA; K read once.
#include <arm_neon.h>
#include <string.h>

#include "kernels/neon/attn_neon.h"

namespace mha_neon {
namespace {

template <int MR>
void scores_tile(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t d, float* s,
                 int64_t lds, int64_t cols) {
  float32x4_t acc[MR][4];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = vdupq_n_f32(0);
  for (int64_t c = 0; c < d; ++c) {
    const float* kc = kt + c * ldkt;
    const float32x4_t k0 = vld1q_f32(kc), k1 = vld1q_f32(kc + 4), k2 = vld1q_f32(kc + 8), k3 = vld1q_f32(kc + 12);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const float qc = q[r * ldq + c];
      acc[r][0] = vfmaq_n_f32(acc[r][0], k0, qc);
      acc[r][1] = vfmaq_n_f32(acc[r][1], k1, qc);
      acc[r][2] = vfmaq_n_f32(acc[r][2], k2, qc);
      acc[r][3] = vfmaq_n_f32(acc[r][3], k3, qc);
    }
  }
  for (int r = 0; r < MR; ++r) {
    if (cols >= 16) {
      for (int v = 0; v < 4; ++v) vst1q_f32(s + r * lds + 4 * v, acc[r][v]);
    } else {
      float buf[16];
      for (int v = 0; v < 4; ++v) vst1q_f32(buf + 4 * v, acc[r][v]);
      memcpy(s + r * lds, buf, cols * sizeof(float));
    }
  }
}

using ScoresTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, int64_t);
const ScoresTile kScoresTiles[6] = {scores_tile<1>, scores_tile<2>, scores_tile<3>,
                                    scores_tile<4>, scores_tile<5>, scores_tile<6>};

void scores(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  for (int64_t j = 0; j < n; j += 16)
    for (int64_t r = 0; r < rows; r += 6)
      kScoresTiles[(rows - r < 6 ? rows - r : 6) - 1](q + r * ldq, ldq, kt + j, ldkt, d, s + r * lds + j, lds, n - j);
}

// acc[MR x 4 NV] += p[MR x n] . v[n x 4 NV]
template <int MR, int NV>
void pv_tile(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, float* acc, int64_t ldacc) {
  float32x4_t a[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) a[r][c] = vld1q_f32(acc + r * ldacc + 4 * c);
  for (int64_t j = 0; j < n; ++j) {
    float32x4_t vj[NV];
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) vj[c] = vld1q_f32(v + j * ldv + 4 * c);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const float pj = p[r * ldp + j];
#pragma GCC unroll 8
      for (int c = 0; c < NV; ++c) a[r][c] = vfmaq_n_f32(a[r][c], vj[c], pj);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) vst1q_f32(acc + r * ldacc + 4 * c, a[r][c]);
}

using PvTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t);
template <int MR>
constexpr PvTile kPvRow[4] = {pv_tile<MR, 1>, pv_tile<MR, 2>, pv_tile<MR, 3>, pv_tile<MR, 4>};
const PvTile* const kPvTiles[4] = {kPvRow<1>, kPvRow<2>, kPvRow<3>, kPvRow<4>};

void pv(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc) {
  const int64_t dv4 = dv & ~int64_t{3};
  for (int64_t r = 0; r < rows; r += 4) {
    const int64_t mr = rows - r < 4 ? rows - r : 4;
    for (int64_t c = 0; c < dv4; c += 16) {
      const int64_t nv = (dv4 - c < 16 ? dv4 - c : 16) / 4;
      kPvTiles[mr - 1][nv - 1](p + r * ldp, ldp, v + c, ldv, n, acc + r * ldacc + c, ldacc);
    }
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = dv4; c < dv; ++c) {
      float sum = acc[r * ldacc + c];
      for (int64_t j = 0; j < n; ++j) sum += p[r * ldp + j] * v[j * ldv + c];
      acc[r * ldacc + c] = sum;
    }
}

void dots(const float* q, const float* k, int64_t ldk, int64_t n, int64_t d, float* s) {
  const int64_t d4 = d & ~int64_t{3};
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;
    const float* kj = k + j * ldk;
    for (int64_t c = 0; c < d4; c += 4) {
      const float32x4_t qv = vld1q_f32(q + c);
      a0 = vfmaq_f32(a0, qv, vld1q_f32(kj + c));
      a1 = vfmaq_f32(a1, qv, vld1q_f32(kj + ldk + c));
      a2 = vfmaq_f32(a2, qv, vld1q_f32(kj + 2 * ldk + c));
      a3 = vfmaq_f32(a3, qv, vld1q_f32(kj + 3 * ldk + c));
    }
    float t[4] = {vaddvq_f32(a0), vaddvq_f32(a1), vaddvq_f32(a2), vaddvq_f32(a3)};
    for (int64_t c = d4; c < d; ++c)
      for (int i = 0; i < 4; ++i) t[i] += q[c] * kj[i * ldk + c];
    for (int i = 0; i < 4; ++i) s[j + i] = t[i];
  }
  for (; j < n; ++j) {
    float32x4_t a0 = vdupq_n_f32(0);
    for (int64_t c = 0; c < d4; c += 4) a0 = vfmaq_f32(a0, vld1q_f32(q + c), vld1q_f32(k + j * ldk + c));
    float t = vaddvq_f32(a0);
    for (int64_t c = d4; c < d; ++c) t += q[c] * k[j * ldk + c];
    s[j] = t;
  }
}

}  // namespace
}  // namespace mha_neon

const mha_attn_kernels mha_attn_kernels_neon = {
    mha_neon::mask_max_row, mha_neon::exp_sum_row, mha_neon::scale_row,
    mha_neon::scores,       mha_neon::dots,        mha_neon::pv,
};
