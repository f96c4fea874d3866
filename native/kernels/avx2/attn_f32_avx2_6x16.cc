// Attention tile kernels, AVX2 + FMA, and the mha_attn_kernels_avx2 table.
//  scores: 6 x 16 register tile of S = Q.K^T (12 ymm accumulators, 2 ymm for a K^T row
//    segment, 1 for the broadcast q); per step of d: 2 loads, 6 broadcasts, 12 FMAs. The
//    d x 16 K^T column block stays in L1 across all query rows of the tile.
//  pv: 6 x 16 register tile of acc += P.V (12 ymm accumulators, 2 ymm for a V row
//    segment); per key: 2 loads, 6 broadcasts, 12 FMAs. The V tile streams from L1/L2.
//  dots (decode, one query): 4 keys at a time, 8 floats of d per FMA; K read once.
// Column tails use vmaskmovps (the lanes past a row are neither read nor written).
#include <immintrin.h>

#include "kernels/avx2/attn_avx2.h"

namespace mha_avx2 {
namespace {

// Lanes < k (k in [0, 8]) all-ones.
inline __m256i lanes_below(int64_t k) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(k)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

template <int MR>
void scores_tile(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t d, float* s,
                 int64_t lds, int64_t cols) {
  __m256 acc[MR][2];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
  for (int64_t c = 0; c < d; ++c) {
    const __m256 k0 = _mm256_loadu_ps(kt + c * ldkt), k1 = _mm256_loadu_ps(kt + c * ldkt + 8);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 qb = _mm256_broadcast_ss(q + r * ldq + c);
      acc[r][0] = _mm256_fmadd_ps(qb, k0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(qb, k1, acc[r][1]);
    }
  }
  const __m256i m0 = lanes_below(cols < 8 ? cols : 8), m1 = lanes_below(cols < 8 ? 0 : cols > 16 ? 8 : cols - 8);
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    _mm256_maskstore_ps(s + r * lds, m0, acc[r][0]);
    _mm256_maskstore_ps(s + r * lds + 8, m1, acc[r][1]);
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

// acc[MR x (8 * NV)] += p[MR x n] . v[n x (8 * NV)]; the last vector covers the lanes of `last`.
template <int MR, int NV>
void pv_tile(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, float* acc,
             int64_t ldacc, __m256i last) {
  __m256 a[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) a[r][c] = _mm256_loadu_ps(acc + r * ldacc + 8 * c);
    a[r][NV - 1] = _mm256_maskload_ps(acc + r * ldacc + 8 * (NV - 1), last);
  }
  for (int64_t j = 0; j < n; ++j) {
    __m256 vj[NV];
#pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) vj[c] = _mm256_loadu_ps(v + j * ldv + 8 * c);
    vj[NV - 1] = _mm256_maskload_ps(v + j * ldv + 8 * (NV - 1), last);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 pb = _mm256_broadcast_ss(p + r * ldp + j);
#pragma GCC unroll 8
      for (int c = 0; c < NV; ++c) a[r][c] = _mm256_fmadd_ps(pb, vj[c], a[r][c]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) _mm256_storeu_ps(acc + r * ldacc + 8 * c, a[r][c]);
    _mm256_maskstore_ps(acc + r * ldacc + 8 * (NV - 1), last, a[r][NV - 1]);
  }
}

using PvTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, __m256i);
template <int MR>
constexpr PvTile kPvRow[2] = {pv_tile<MR, 1>, pv_tile<MR, 2>};
const PvTile* const kPvTiles[6] = {kPvRow<1>, kPvRow<2>, kPvRow<3>, kPvRow<4>, kPvRow<5>, kPvRow<6>};

void pv(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc) {
  for (int64_t r = 0; r < rows; r += 6) {
    const int64_t mr = rows - r < 6 ? rows - r : 6;
    for (int64_t c = 0; c < dv; c += 16) {
      const int64_t cols = dv - c < 16 ? dv - c : 16, nv = (cols + 7) / 8;
      kPvTiles[mr - 1][nv - 1](p + r * ldp, ldp, v + c, ldv, n, acc + r * ldacc + c, ldacc,
                               lanes_below(cols - 8 * (nv - 1)));
    }
  }
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

void dots(const float* q, const float* k, int64_t ldk, int64_t n, int64_t d, float* s) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* kj = k + j * ldk;
    for (int64_t c = 0; c < d; c += 8) {
      const __m256i lanes = lanes_below(d - c < 8 ? d - c : 8);
      const __m256 qv = _mm256_maskload_ps(q + c, lanes);
      a0 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(kj + c, lanes), a0);
      a1 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(kj + ldk + c, lanes), a1);
      a2 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(kj + 2 * ldk + c, lanes), a2);
      a3 = _mm256_fmadd_ps(qv, _mm256_maskload_ps(kj + 3 * ldk + c, lanes), a3);
    }
    s[j] = hsum(a0);
    s[j + 1] = hsum(a1);
    s[j + 2] = hsum(a2);
    s[j + 3] = hsum(a3);
  }
  for (; j < n; ++j) {
    __m256 a0 = _mm256_setzero_ps();
    for (int64_t c = 0; c < d; c += 8) {
      const __m256i lanes = lanes_below(d - c < 8 ? d - c : 8);
      a0 = _mm256_fmadd_ps(_mm256_maskload_ps(q + c, lanes), _mm256_maskload_ps(k + j * ldk + c, lanes), a0);
    }
    s[j] = hsum(a0);
  }
}

}  // namespace
}  // namespace mha_avx2

const mha_attn_kernels mha_attn_kernels_avx2 = {
    mha_avx2::mask_max_row, mha_avx2::exp_sum_row, mha_avx2::scale_row,
    mha_avx2::scores,       mha_avx2::dots,        mha_avx2::pv,
};
