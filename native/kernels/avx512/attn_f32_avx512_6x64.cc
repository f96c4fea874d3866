// Attention tile kernels, AVX-512, and the mha_attn_kernels_avx512 table.
//  scores and pv: one 6 x 64 register tile of C (+)= A.B (24 zmm accumulators, 4 zmm for a
//    row segment of B, A broadcast from memory); per step: 4 loads, 6 broadcasts, 24 FMAs.
//    For scores A = Q and B = K^T, for pv A = P and B = V (accumulating). A d x 64 column
//    block of B (<= 32 KB) stays in L1 while every block of 6 rows passes over it.
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

// c[MR x cols] = a[MR x k] . b[k x cols] (kAccumulate: c += ...), a and b row-major with row
// strides lda and ldb, cols <= 16 * NV: the last vector under lane mask `last`, so nothing
// past the tile's columns is read or written. Both attention products are this tile:
// scores (a = q, b = K^T) and P.V (a = p, b = v, accumulating).
template <bool kAccumulate, int MR, int NV>
void tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, float* c, int64_t ldc,
          __mmask16 last) {
  __m512 acc[MR][NV];
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    #pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) acc[r][v] = kAccumulate ? _mm512_loadu_ps(c + r * ldc + 16 * v) : _mm512_setzero_ps();
    acc[r][NV - 1] = kAccumulate ? _mm512_maskz_loadu_ps(last, c + r * ldc + 16 * (NV - 1)) : _mm512_setzero_ps();
  }
  for (int64_t p = 0; p < k; ++p) {
    __m512 bv[NV];
    #pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) bv[v] = _mm512_loadu_ps(b + p * ldb + 16 * v);
    bv[NV - 1] = _mm512_maskz_loadu_ps(last, b + p * ldb + 16 * (NV - 1));
    #pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m512 ab = _mm512_set1_ps(a[r * lda + p]);
      #pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm512_fmadd_ps(ab, bv[v], acc[r][v]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    #pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
    _mm512_mask_storeu_ps(c + r * ldc + 16 * (NV - 1), last, acc[r][NV - 1]);
  }
}

using Tile = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t, __mmask16);
template <bool kAccumulate, int MR>
constexpr Tile kTileRow[4] = {tile<kAccumulate, MR, 1>, tile<kAccumulate, MR, 2>, tile<kAccumulate, MR, 3>,
                              tile<kAccumulate, MR, 4>};
template <bool kAccumulate>
const Tile* const kTiles[6] = {kTileRow<kAccumulate, 1>, kTileRow<kAccumulate, 2>, kTileRow<kAccumulate, 3>,
                               kTileRow<kAccumulate, 4>, kTileRow<kAccumulate, 5>, kTileRow<kAccumulate, 6>};

// c[rows x n] (+)= a[rows x k] . b[k x n] in 6 x 64 tiles; one column block of b (k x 64)
// stays in L1 while every row block passes over it.
template <bool kAccumulate>
void product(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t rows, int64_t n, int64_t k,
             float* c, int64_t ldc) {
  for (int64_t j = 0; j < n; j += 64) {
    const int64_t cols = n - j < 64 ? n - j : 64, nv = (cols + 15) / 16;
    for (int64_t r = 0; r < rows; r += 6)
      kTiles<kAccumulate>[(rows - r < 6 ? rows - r : 6) - 1][nv - 1](
          a + r * lda, lda, b + j, ldb, k, c + r * ldc + j, ldc, tail_mask(cols - 16 * (nv - 1)));
  }
}

void scores(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  product<false>(q, ldq, kt, ldkt, rows, n, d, s, lds);
}

void pv(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc) {
  product<true>(p, ldp, v, ldv, rows, dv, n, acc, ldacc);
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
