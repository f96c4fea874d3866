// Attention tile kernels, AVX-512, and the mha_attn_kernels_avx512 table.
//  scores: 6 x 64 register tile of S = Q.K^T (24 zmm accumulators, 4 zmm for a K^T row
//    segment, q broadcast from memory); per step of d: 4 loads, 6 broadcasts, 24 FMAs.
//    A d x 64 column block of the K^T tile (<= 32 KB) stays in L1 for all query rows.
//  pv: 6 x 64 register tile of acc += P.V (24 zmm accumulators, 4 zmm for a V row
//    segment); per key: 4 loads, 6 broadcasts, 24 FMAs. V tile rows stream from L2.
//  dots (decode, one query): 4 keys at a time, 16 floats of d per FMA, horizontal sums at
//    the end; K is read once, straight from memory.
// Column tails use lane masks; no kernel reads or writes past a row's end (K^T tiles are
// zero-padded to MHA_ATTN_KT_PAD).
// GCC 12's avx512fintrin.h self-initializes its "undefined" vectors (GCC bug 105593),
// which -Wall reports at every inlined use.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/avx512/attn_avx512.h"

namespace mha_avx512 {
namespace {

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff)
                    : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
}

// s[MR x cols] = q[MR x d] . kt[d x cols], cols <= 16 * NV (the last vector under lane mask
// `last`, so nothing past the tile's columns is read or written).
template <int MR, int NV>
void scores_tile(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t d, float* s,
                 int64_t lds, __mmask16 last) {
  __m512 acc[MR][NV];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    #pragma GCC unroll 8
    for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < d; ++k) {
    __m512 kv[NV];
    #pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) kv[c] = _mm512_loadu_ps(kt + k * ldkt + 16 * c);
    kv[NV - 1] = _mm512_maskz_loadu_ps(last, kt + k * ldkt + 16 * (NV - 1));
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 qb = _mm512_set1_ps(q[r * ldq + k]);
      #pragma GCC unroll 8
      for (int c = 0; c < NV; ++c) acc[r][c] = _mm512_fmadd_ps(qb, kv[c], acc[r][c]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    #pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) _mm512_storeu_ps(s + r * lds + 16 * c, acc[r][c]);
    _mm512_mask_storeu_ps(s + r * lds + 16 * (NV - 1), last, acc[r][NV - 1]);
  }
}

using ScoresTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, __mmask16);
template <int MR>
constexpr ScoresTile kScoresRow[4] = {scores_tile<MR, 1>, scores_tile<MR, 2>, scores_tile<MR, 3>, scores_tile<MR, 4>};
const ScoresTile* const kScoresTiles[6] = {kScoresRow<1>, kScoresRow<2>, kScoresRow<3>,
                                           kScoresRow<4>, kScoresRow<5>, kScoresRow<6>};

void scores(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  for (int64_t j = 0; j < n; j += 64) {  // one K^T column block (d x 64) stays in L1 for all rows
    const int64_t cols = n - j < 64 ? n - j : 64, nv = (cols + 15) / 16;
    for (int64_t r = 0; r < rows; r += 6)
      kScoresTiles[(rows - r < 6 ? rows - r : 6) - 1][nv - 1](q + r * ldq, ldq, kt + j, ldkt, d, s + r * lds + j, lds,
                                                             tail_mask(cols - 16 * (nv - 1)));
  }
}

// acc[MR x (16 * NV)] += p[MR x n] . v[n x (16 * NV)]; the last vector uses lane mask `last`.
template <int MR, int NV>
void pv_tile(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, float* acc,
             int64_t ldacc, __mmask16 last) {
  __m512 a[MR][NV];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    #pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) a[r][c] = _mm512_loadu_ps(acc + r * ldacc + 16 * c);
    a[r][NV - 1] = _mm512_maskz_loadu_ps(last, acc + r * ldacc + 16 * (NV - 1));
  }
  for (int64_t j = 0; j < n; ++j) {
    __m512 vj[NV];
    #pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) vj[c] = _mm512_loadu_ps(v + j * ldv + 16 * c);
    vj[NV - 1] = _mm512_maskz_loadu_ps(last, v + j * ldv + 16 * (NV - 1));
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 pb = _mm512_set1_ps(p[r * ldp + j]);
      #pragma GCC unroll 8
      for (int c = 0; c < NV; ++c) a[r][c] = _mm512_fmadd_ps(pb, vj[c], a[r][c]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    #pragma GCC unroll 8
    for (int c = 0; c < NV - 1; ++c) _mm512_storeu_ps(acc + r * ldacc + 16 * c, a[r][c]);
    _mm512_mask_storeu_ps(acc + r * ldacc + 16 * (NV - 1), last, a[r][NV - 1]);
  }
}

using PvTile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, __mmask16);
template <int MR>
constexpr PvTile kPvRow[4] = {pv_tile<MR, 1>, pv_tile<MR, 2>, pv_tile<MR, 3>, pv_tile<MR, 4>};
const PvTile* const kPvTiles[6] = {kPvRow<1>, kPvRow<2>, kPvRow<3>, kPvRow<4>, kPvRow<5>, kPvRow<6>};

void pv(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc) {
  for (int64_t r = 0; r < rows; r += 6) {
    const int64_t mr = rows - r < 6 ? rows - r : 6;
    for (int64_t c = 0; c < dv; c += 64) {
      const int64_t cols = dv - c < 64 ? dv - c : 64, nv = (cols + 15) / 16;
      kPvTiles[mr - 1][nv - 1](p + r * ldp, ldp, v + c, ldv, n, acc + r * ldacc + c, ldacc,
                               tail_mask(cols - 16 * (nv - 1)));
    }
  }
}

void dots(const float* q, const float* k, int64_t ldk, int64_t n, int64_t d, float* s) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    const float* kj = k + j * ldk;
    for (int64_t c = 0; c < d; c += 16) {
      const __mmask16 lanes = tail_mask(d - c);
      const __m512 qv = _mm512_maskz_loadu_ps(lanes, q + c);
      a0 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(lanes, kj + c), a0);
      a1 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(lanes, kj + ldk + c), a1);
      a2 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(lanes, kj + 2 * ldk + c), a2);
      a3 = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(lanes, kj + 3 * ldk + c), a3);
    }
    s[j] = _mm512_reduce_add_ps(a0);
    s[j + 1] = _mm512_reduce_add_ps(a1);
    s[j + 2] = _mm512_reduce_add_ps(a2);
    s[j + 3] = _mm512_reduce_add_ps(a3);
  }
  for (; j < n; ++j) {
    __m512 a0 = _mm512_setzero_ps();
    for (int64_t c = 0; c < d; c += 16) {
      const __mmask16 lanes = tail_mask(d - c);
      a0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, q + c), _mm512_maskz_loadu_ps(lanes, k + j * ldk + c), a0);
    }
    s[j] = _mm512_reduce_add_ps(a0);
  }
}

}  // namespace
}  // namespace mha_avx512

const mha_attn_kernels mha_attn_kernels_avx512 = {
    mha_avx512::mask_max_row, mha_avx512::exp_sum_row, mha_avx512::scale_row,
    mha_avx512::scores,       mha_avx512::dots,        mha_avx512::pv,
};
