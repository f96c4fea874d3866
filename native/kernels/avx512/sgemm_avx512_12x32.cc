// sgemm_avx512_12x32: AVX-512F SGEMM micro-kernel.
// Tile: 12 x 32 of C in 24 zmm accumulators; per depth step 2 zmm loads of B, 12 broadcasts
// of A (1 zmm), 24 FMAs: 27 of the 32 zmm registers.
// Blocks: kc = 384 (A micro-panel 12 x 384 = 18 KiB stays in the 48 KiB L1 while the B
// micro-panels stream past it), nc = 640 (B block 384 x 640 = 960 KiB stays in the 2 MiB L2),
// mc = 384 (A block 384 x 384 = 576 KiB, packed per task, beside it in L2).
// Two entry points: packed A, and direct A (row-major A read in place, for small GEMMs);
// panels are packed by pack_avx2.h (8 x 8 register transposes).
#include <immintrin.h>
#include <stdint.h>

#include "core/gemm_kernels.h"
#include "kernels/avx2/pack_avx2.h"

namespace {

constexpr int kMr = 12, kNr = 32;

// A(i, p) is a[p*kMr + i] (packed) or, with kDirectA, a[i*lda + p] (row-major).
template <bool kDirectA>
inline void tile(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                 float alpha, float beta) {
  __m512 acc[kMr][2];
#pragma GCC unroll 16
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p, a += kDirectA ? 1 : kMr, b += kNr) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      const __m512 ai = _mm512_set1_ps(kDirectA ? a[i * lda] : a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  // Fully unrolled (like the loops above) so the accumulators stay in registers.
  const __m512 va = _mm512_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      _mm512_storeu_ps(c + i * ldc, _mm512_mul_ps(va, acc[i][0]));
      _mm512_storeu_ps(c + i * ldc + 16, _mm512_mul_ps(va, acc[i][1]));
    }
  } else {
    const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      float* ci = c + i * ldc;
      _mm512_storeu_ps(ci, _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), _mm512_mul_ps(va, acc[i][0])));
      _mm512_storeu_ps(ci + 16, _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + 16), _mm512_mul_ps(va, acc[i][1])));
    }
  }
}

void sgemm_avx512_12x32(int64_t k, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                        float beta) {
  tile<false>(k, a, 0, b, c, ldc, alpha, beta);
}

void sgemm_avx512_12x32_direct_a(int64_t k, const float* a, int64_t lda, const float* b, float* c,
                                 int64_t ldc, float alpha, float beta) {
  tile<true>(k, a, lda, b, c, ldc, alpha, beta);
}

}  // namespace

extern const mha_gemm_kernels mha_gemm_kernels_avx512 = {
    "sgemm_avx512_12x32", kMr, kNr, /*mc=*/384, /*kc=*/384, /*nc=*/640, sgemm_avx512_12x32,
    sgemm_avx512_12x32_direct_a, mha_pack_avx::pack<kMr, kNr>};
