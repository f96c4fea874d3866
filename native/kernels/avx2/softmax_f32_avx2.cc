// Masked softmax row kernels, AVX2 + FMA: 8 floats per step (ymm), 16 per loop iteration
// with two accumulators; a row's tail (< 8) is staged through 8-lane stack buffers, so no
// kernel reads or writes past a row. exp: x = n ln2 + r, 2^n built in the exponent bits,
// exp(r) by a degree-5 minimax polynomial (max relative error 9.2e-8); lanes below the
// normal float range (and -inf) give exactly 0. Rows live in L1 (score tiles) or stream.
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels/avx2/attn_avx2.h"

namespace mha_avx2 {
namespace {

inline __m256 exp_nonpositive(__m256 x) {
  const __m256 live = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3365447f), _CMP_GE_OQ);
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693147180559945309f), x);
  __m256 p = _mm256_set1_ps(0x1.0F9F9Cp-7f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.573A1Ap-5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.555A80p-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.FFFDC6p-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0x1.FFFFF6p-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(live, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

// All-ones lanes where the 8 bytes at b are nonzero.
inline __m256 blocked_bytes(const uint8_t* b) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b)));
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(v, _mm256_setzero_si256()),
                                              _mm256_set1_epi32(-1)));
}

struct RowMasker {
  const float *add0, *add1;
  const uint8_t *blk0, *blk1;
  int64_t limit;
  __m256 scale;

  // The masked, scaled value of the 8 lanes at x[j] (masks at offset j, or the staged
  // copies in `tail` when given).
  __m256 operator()(const float* x, int64_t j) const {
    __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + j), scale);
    if (add0) v = _mm256_add_ps(v, _mm256_loadu_ps(add0 + j));
    if (add1) v = _mm256_add_ps(v, _mm256_loadu_ps(add1 + j));
    __m256 blk = _mm256_setzero_ps();
    if (blk0) blk = _mm256_or_ps(blk, blocked_bytes(blk0 + j));
    if (blk1) blk = _mm256_or_ps(blk, blocked_bytes(blk1 + j));
    const int64_t visible = limit - j;
    if (visible < 8) {
      const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
      blk = _mm256_or_ps(blk, _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                                  lane, _mm256_set1_epi32(static_cast<int>(visible < 0 ? -1 : visible - 1)))));
    }
    return _mm256_blendv_ps(v, _mm256_set1_ps(-INFINITY), blk);
  }
};

inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

}  // namespace

float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m) {
  RowMasker row{m->add[0], m->add[1], m->blk[0], m->blk[1], m->limit, _mm256_set1_ps(scale)};
  __m256 max0 = _mm256_set1_ps(-INFINITY), max1 = max0;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 v0 = row(x, j), v1 = row(x, j + 8);
    _mm256_storeu_ps(y + j, v0);
    _mm256_storeu_ps(y + j + 8, v1);
    max0 = _mm256_max_ps(max0, v0);
    max1 = _mm256_max_ps(max1, v1);
  }
  for (; j < n; j += 8) {
    const int64_t k = n - j < 8 ? n - j : 8;
    if (k == 8) {
      const __m256 v = row(x, j);
      _mm256_storeu_ps(y + j, v);
      max0 = _mm256_max_ps(max0, v);
      continue;
    }
    // stage the tail: padding lanes are blocked through the limit
    float xs[8] = {0}, a0[8] = {0}, a1[8] = {0}, out[8];
    uint8_t b0[8] = {0}, b1[8] = {0};
    memcpy(xs, x + j, k * sizeof(float));
    RowMasker tail = row;
    if (row.add0) { memcpy(a0, row.add0 + j, k * sizeof(float)); tail.add0 = a0; }
    if (row.add1) { memcpy(a1, row.add1 + j, k * sizeof(float)); tail.add1 = a1; }
    if (row.blk0) { memcpy(b0, row.blk0 + j, k); tail.blk0 = b0; }
    if (row.blk1) { memcpy(b1, row.blk1 + j, k); tail.blk1 = b1; }
    tail.limit = (row.limit - j < k ? row.limit - j : k);
    const __m256 v = tail(xs, 0);
    _mm256_storeu_ps(out, v);
    memcpy(y + j, out, k * sizeof(float));
    max0 = _mm256_max_ps(max0, v);
  }
  return hmax(_mm256_max_ps(max0, max1));
}

float exp_sum_row(float* y, int64_t n, float max) {
  const __m256 vmax = _mm256_set1_ps(max);
  __m256 sum0 = _mm256_setzero_ps(), sum1 = sum0;
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m256 e0 = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(y + j), vmax));
    const __m256 e1 = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(y + j + 8), vmax));
    _mm256_storeu_ps(y + j, e0);
    _mm256_storeu_ps(y + j + 8, e1);
    sum0 = _mm256_add_ps(sum0, e0);
    sum1 = _mm256_add_ps(sum1, e1);
  }
  for (; j < n; j += 8) {
    const int64_t k = n - j < 8 ? n - j : 8;
    float buf[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    memcpy(buf, y + j, k * sizeof(float));
    const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(buf), vmax));
    _mm256_storeu_ps(buf, e);
    memcpy(y + j, buf, k * sizeof(float));
    sum0 = _mm256_add_ps(sum0, e);
  }
  return hsum(_mm256_add_ps(sum0, sum1));
}

void scale_row(float* y, int64_t n, float a) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(y + j), va));
  for (; j < n; ++j) y[j] *= a;
}

}  // namespace mha_avx2
