// attn_bf16_avx512bf16_6x64: the bfloat16 attention products of core/attn_kernels.h
// (mha_attn_bf16_kernels) on AVX512-BF16: vdpbf16ps adds both products of a bfloat16 pair to
// each float32 lane, so a step covers two depths (two dimensions of d for the scores, two keys
// for P.V) per instruction. The register tiles and edges are attn_tiles.h's, on the zmm vector
// type with a pair operand policy.
//  Tile: 6 x 64 of C in 24 zmm accumulators; per pair of depths 4 zmm loads of B pairs (16
//    columns x 2 depths each), 6 broadcasts of an A pair (32 bits), 24 vdpbf16ps: 34 of the 32
//    zmm names in flight at most, the broadcasts folded into their instructions' operands.
//  Blocks: a pair row of a K^T tile or of packed V is as many bytes as a float32 row of half
//    the depth, so a column block of B (d/2 x 64 pairs, <= 16 KB for d <= 128) stays in L1
//    while the block's row tiles pass over it.
//  Rows: rounded to bfloat16 by vcvtne2ps2bf16 (32 floats per instruction); the probabilities
//    go from exp straight into their pair row, 32 per step (the float32 exp of softmax_rows.h).
#include <immintrin.h>
#include <string.h>

#include "core/attn_kernels.h"
#include "kernels/avx512/vec_f32_avx512.h"
#include "kernels/simd/attn_tiles.h"

namespace {

using V = mha_avx512::Vec;

// attn_tiles.h's operand policy for bfloat16 pairs: B rows are pair rows (16 columns' pairs per
// zmm), A's pair broadcast as one 32-bit unit.
struct PairOps {
  static constexpr int kStep = 2;
  using A = mha_bf16;
  using B = mha_bf16;
  using BRow = __m512bh;
  using ARow = __m512bh;
  static BRow b(const B* p) { return (__m512bh)_mm512_loadu_si512(p); }
  static BRow b(const B* p, __mmask16 part) { return (__m512bh)_mm512_maskz_loadu_epi32(part, p); }
  static ARow a(const A* p) {
    int32_t u;
    memcpy(&u, p, sizeof u);
    return (__m512bh)_mm512_set1_epi32(u);
  }
  static __m512 madd(__m512 acc, ARow a, BRow b) { return _mm512_dpbf16_ps(acc, a, b); }
};

void scores(const mha_bf16* q, int64_t ldq, const mha_bf16* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  mha_simd::product<V, PairOps, false>(q, ldq, kt, ldkt, rows, n, d, s, lds);
}

void pv(const mha_bf16* p, int64_t ldp, const mha_bf16* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc) {
  mha_simd::product<V, PairOps, true>(p, ldp, v, ldv, rows, dv, n, acc, ldacc);
}

// 32 floats rounded into y; the last step's tail of n (< 32) through k-masks.
void store_pairs(mha_bf16* y, __m512 lo, __m512 hi) { _mm512_storeu_si512(y, (__m512i)_mm512_cvtne2ps_pbh(hi, lo)); }
void store_tail(mha_bf16* y, __m512 v, int64_t n) { _mm256_mask_storeu_epi16(y, V::part(n), (__m256i)_mm512_cvtneps_pbh(v)); }

void round_row(const float* x, mha_bf16* y, int64_t n) {
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) store_pairs(y + i, V::load(x + i), V::load(x + i + 16));
  for (; i < n; i += 16) store_tail(y + i, V::load(x + i, V::part(n - i)), n - i);
}

float exp_sum_pairs(const float* y, int64_t n, float max, int64_t lead, mha_bf16* p) {
  using mha_simd::exp_nonpositive;
  if (lead) *p++ = 0;
  const __m512 vmax = V::set1(max);
  __m512 sum0 = V::zero(), sum1 = sum0;
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const __m512 e0 = exp_nonpositive<V>(V::sub(V::load(y + j), vmax));
    const __m512 e1 = exp_nonpositive<V>(V::sub(V::load(y + j + 16), vmax));
    store_pairs(p + j, e0, e1);
    sum0 = V::add(sum0, e0);
    sum1 = V::add(sum1, e1);
  }
  for (; j < n; j += 16) {  // lanes past the row read as -inf: exp gives 0, the sum is unchanged
    const __m512 e = exp_nonpositive<V>(V::sub(V::load(y + j, V::part(n - j), -INFINITY), vmax));
    store_tail(p + j, e, n - j);
    sum0 = V::add(sum0, e);
  }
  if ((lead + n) % 2) p[n] = 0;
  return V::hsum(V::add(sum0, sum1));
}

}  // namespace

extern const mha_attn_bf16_kernels mha_attn_bf16_kernels_avx512bf16 = {"attn_bf16_avx512bf16_6x64", scores, pv,
                                                                       round_row, exp_sum_pairs};
