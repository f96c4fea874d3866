// sgemm_avx2_6x16: AVX2 + FMA SGEMM micro-kernel.
// Tile: 6 x 16 of C in 12 ymm accumulators; per depth step 2 ymm loads of B, 6 broadcasts
// of A (1 ymm), 12 FMAs: 15 of the 16 ymm registers.
// Blocks: kc = 256 (A micro-panel 6 x 256 = 6 KiB stays in L1 while the B micro-panels
// stream past it), nc = 1024 (B block 256 x 1024 = 1 MiB stays in L2), mc = 144 (A block
// 144 x 256 = 144 KiB, packed per task).
// Two entry points: packed A, and direct A (row-major A read in place, for small GEMMs);
// panels are packed by pack_avx2.h (8 x 8 register transposes).
#include <immintrin.h>
#include <stdint.h>

#include "core/gemm_kernels.h"
#include "kernels/avx2/pack_avx2.h"

namespace {

constexpr int kMr = 6, kNr = 16;

// A(i, p) is a[p*kMr + i] (packed) or, with kDirectA, a[i*lda + p] (row-major).
template <bool kDirectA>
inline void tile(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                 float alpha, float beta) {
  __m256 acc[kMr][2];
#pragma GCC unroll 16
  for (int i = 0; i < kMr; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p, a += kDirectA ? 1 : kMr, b += kNr) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      const __m256 ai = _mm256_broadcast_ss(kDirectA ? a + i * lda : a + i);
      acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  // Fully unrolled (like the loops above) so the accumulators stay in registers.
  const __m256 va = _mm256_set1_ps(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      _mm256_storeu_ps(c + i * ldc, _mm256_mul_ps(va, acc[i][0]));
      _mm256_storeu_ps(c + i * ldc + 8, _mm256_mul_ps(va, acc[i][1]));
    }
  } else {
    const __m256 vb = _mm256_set1_ps(beta);
#pragma GCC unroll 16
    for (int i = 0; i < kMr; ++i) {
      float* ci = c + i * ldc;
      _mm256_storeu_ps(ci, _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), _mm256_mul_ps(va, acc[i][0])));
      _mm256_storeu_ps(ci + 8, _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), _mm256_mul_ps(va, acc[i][1])));
    }
  }
}

void sgemm_avx2_6x16(int64_t k, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                     float beta) {
  tile<false>(k, a, 0, b, c, ldc, alpha, beta);
}

void sgemm_avx2_6x16_direct_a(int64_t k, const float* a, int64_t lda, const float* b, float* c,
                              int64_t ldc, float alpha, float beta) {
  tile<true>(k, a, lda, b, c, ldc, alpha, beta);
}

}  // namespace

extern const mha_gemm_kernels mha_gemm_kernels_avx2 = {
    "sgemm_avx2_6x16", kMr, kNr, /*mc=*/144, /*kc=*/256, /*nc=*/1024, sgemm_avx2_6x16,
    sgemm_avx2_6x16_direct_a, mha_pack_avx::pack<kMr, kNr>};
