// Register transposes for packing on x86 (included, through pack_panel_8x8.h and
// pack_kt_8x8.h, by the AVX2 and AVX-512 units; it needs only AVX): transpose_rows copies a strided source (rows of A, columns of a transposed B,
// rows of K) into rows of a packed destination, 8 source rows at a time through 8 x 8
// transposes in ymm registers, then 4 at a time through 4 x 4 ones in xmm registers.
// Everything here has internal linkage: each unit gets its own copy compiled with its own ISA
// flags (a shared inline copy could be an AVX-512 build picked by the linker for AVX2 code).
#pragma once
#include <immintrin.h>
#include <stdint.h>

namespace mha_x86 {
namespace {

// r[i] (8 rows of 8) becomes column i.
inline void transpose8x8(__m256 r[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {
    __m256 *u = t + 4 * h, *v = s + 4 * h;
    v[0] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(1, 0, 1, 0));
    v[1] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(3, 2, 3, 2));
    v[2] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(1, 0, 1, 0));
    v[3] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

// Rows [r0, r0 + n) of a strided source, n in {8, 4}, whole 8-deep (4-deep) blocks of depth,
// into dst rows ldd apart; returns the depth done.
inline int64_t pack_rows8(float* dst, int64_t ldd, const float* src, int r0, int64_t k, int64_t so) {
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 r[8];
    for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (r0 + i) * so + p);
    transpose8x8(r);
    for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (p + i) * ldd + r0, r[i]);
  }
  return p;
}

inline int64_t pack_rows4(float* dst, int64_t ldd, const float* src, int r0, int64_t k, int64_t so) {
  int64_t p = 0;
  for (; p + 4 <= k; p += 4) {
    __m128 r0v = _mm_loadu_ps(src + (r0 + 0) * so + p), r1v = _mm_loadu_ps(src + (r0 + 1) * so + p);
    __m128 r2v = _mm_loadu_ps(src + (r0 + 2) * so + p), r3v = _mm_loadu_ps(src + (r0 + 3) * so + p);
    _MM_TRANSPOSE4_PS(r0v, r1v, r2v, r3v);
    _mm_storeu_ps(dst + (p + 0) * ldd + r0, r0v);
    _mm_storeu_ps(dst + (p + 1) * ldd + r0, r1v);
    _mm_storeu_ps(dst + (p + 2) * ldd + r0, r2v);
    _mm_storeu_ps(dst + (p + 3) * ldd + r0, r3v);
  }
  return p;
}

// dst[p * ldd + r] = src[r * so + p] for r < valid, p < k; then 0 for valid <= r < w.
inline void transpose_rows(float* dst, int64_t ldd, int w, const float* src, int valid, int64_t k, int64_t so) {
  int r = 0;
  for (; r + 8 <= valid; r += 8)
    for (int64_t p = pack_rows8(dst, ldd, src, r, k, so); p < k; ++p)
      for (int i = 0; i < 8; ++i) dst[p * ldd + r + i] = src[(r + i) * so + p];
  for (; r + 4 <= valid; r += 4)
    for (int64_t p = pack_rows4(dst, ldd, src, r, k, so); p < k; ++p)
      for (int i = 0; i < 4; ++i) dst[p * ldd + r + i] = src[(r + i) * so + p];
  for (; r < valid; ++r)
    for (int64_t p = 0; p < k; ++p) dst[p * ldd + r] = src[r * so + p];
  if (valid == w) return;
  // The rows past valid are zeros, a few floats at every depth: stored as vectors and single
  // floats, which a compiler does not turn into a memset call per depth.
  const __m128 zero = _mm_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    float* d = dst + p * ldd;
    int i = valid;
    for (; i + 4 <= w; i += 4) _mm_storeu_ps(d + i, zero);
    for (; i < w; ++i) _mm_store_ss(d + i, zero);
  }
}

}  // namespace
}  // namespace mha_x86
