// Masked softmax row kernels, AVX-512: 16 floats per step (one zmm per input stream, the
// row tail through a lane mask, never reading past the row). Blocked lanes come from a
// k-mask built from the boolean bytes (vptestmb) and the causal limit. exp is Cephes'
// (see exp_nonpositive).
// Rows are a score tile's (L1) or a softmax input's (streamed once per pass).
// GCC 12's avx512fintrin.h self-initializes its "undefined" vectors (GCC bug 105593),
// which -Wall reports at every inlined use.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <math.h>

#include "kernels/avx512/attn_avx512.h"

namespace mha_avx512 {
namespace {

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

// exp(x) for x <= 0 (softmax): x = n ln2 + r, |r| <= ln2/2, 2^n by vscalefps, exp(r) by a
// degree-5 minimax polynomial (max relative error 9.2e-8); lanes below the normal float
// range (and -inf) give exactly 0, never a denormal.
inline __m512 exp_nonpositive(__m512 x) {
  const __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3365447f), _CMP_GE_OQ);
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693147180559945309f), x);
  __m512 p = _mm512_set1_ps(0x1.0F9F9Cp-7f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.573A1Ap-5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.555A80p-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.FFFDC6p-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0x1.FFFFF6p-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps(live, p, n);
}

inline __mmask16 blocked_bytes(const uint8_t* b, __mmask16 lanes) {
  const __m128i v = _mm_maskz_loadu_epi8(lanes, b);
  return _mm_test_epi8_mask(v, v);
}

// The masked, scaled value of the 16 lanes at j (lanes outside `lanes` are not loaded).
struct RowMasker {
  const float* x;
  const float *add0, *add1;
  const uint8_t *blk0, *blk1;
  int64_t limit;
  __m512 scale;

  __m512 operator()(int64_t j, __mmask16 lanes) const {
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, x + j), scale);
    if (add0) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, add0 + j));
    if (add1) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(lanes, add1 + j));
    __mmask16 blk = 0;
    if (blk0) blk |= blocked_bytes(blk0 + j, lanes);
    if (blk1) blk |= blocked_bytes(blk1 + j, lanes);
    const int64_t visible = limit - j;
    if (visible < 16) blk |= visible <= 0 ? 0xffff : static_cast<__mmask16>(0xffffu << visible);
    return _mm512_mask_mov_ps(v, blk, _mm512_set1_ps(-INFINITY));
  }
};

}  // namespace

float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m) {
  const RowMasker row{x, m->add[0], m->add[1], m->blk[0], m->blk[1], m->limit, _mm512_set1_ps(scale)};
  __m512 max0 = _mm512_set1_ps(-INFINITY), max1 = max0;
  int64_t j = 0;
  if (!row.add0 && !row.add1 && !row.blk0 && !row.blk1 && row.limit >= n) {  // unmasked: scale only
    for (; j + 32 <= n; j += 32) {
      const __m512 v0 = _mm512_mul_ps(_mm512_loadu_ps(x + j), row.scale);
      const __m512 v1 = _mm512_mul_ps(_mm512_loadu_ps(x + j + 16), row.scale);
      _mm512_storeu_ps(y + j, v0);
      _mm512_storeu_ps(y + j + 16, v1);
      max0 = _mm512_max_ps(max0, v0);
      max1 = _mm512_max_ps(max1, v1);
    }
  }
  for (; j + 32 <= n; j += 32) {
    const __m512 v0 = row(j, 0xffff), v1 = row(j + 16, 0xffff);
    _mm512_storeu_ps(y + j, v0);
    _mm512_storeu_ps(y + j + 16, v1);
    max0 = _mm512_max_ps(max0, v0);
    max1 = _mm512_max_ps(max1, v1);
  }
  for (; j < n; j += 16) {
    const __mmask16 lanes = tail_mask(n - j);
    const __m512 v = row(j, lanes);
    _mm512_mask_storeu_ps(y + j, lanes, v);
    max0 = _mm512_mask_max_ps(max0, lanes, max0, v);
  }
  return _mm512_reduce_max_ps(_mm512_max_ps(max0, max1));
}

float exp_sum_row(float* y, int64_t n, float max) {
  const __m512 vmax = _mm512_set1_ps(max);
  __m512 sum0 = _mm512_setzero_ps(), sum1 = sum0;
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m512 e0 = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(y + j), vmax));
    const __m512 e1 = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(y + j + 16), vmax));
    _mm512_storeu_ps(y + j, e0);
    _mm512_storeu_ps(y + j + 16, e1);
    sum0 = _mm512_add_ps(sum0, e0);
    sum1 = _mm512_add_ps(sum1, e1);
  }
  for (; j < n; j += 16) {
    const __mmask16 lanes = tail_mask(n - j);
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, y + j), vmax));
    _mm512_mask_storeu_ps(y + j, lanes, e);
    sum0 = _mm512_mask_add_ps(sum0, lanes, sum0, e);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1));
}

void scale_row(float* y, int64_t n, float a) {
  const __m512 va = _mm512_set1_ps(a);
  for (int64_t j = 0; j < n; j += 16) {
    const __mmask16 lanes = tail_mask(n - j);
    _mm512_mask_storeu_ps(y + j, lanes, _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, y + j), va));
  }
}

}  // namespace mha_avx512
