// The AVX-512 vector type of native/kernels/simd/vec.h: 16 floats in a zmm register; partial
// accesses and lane flags are k-masks (masked loads never touch the lanes left out).
// Included only by this directory's units (compiled with the avx512 flags of native/isa.json).
#pragma once
// GCC 12's avx512fintrin.h self-initializes its "undefined" vectors (GCC bug 105593),
// which -Wall reports at every inlined use.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "kernels/simd/vec.h"

namespace mha_avx512 {
namespace {

struct Vec {
  using F = __m512;
  using Part = __mmask16;
  using Mask = __mmask16;
  static constexpr int N = 16;
  static constexpr int kTileRows = 6, kTileVectors = 4;  // attention tile 6 x 64: 24 accumulators

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }

  static Part part(int64_t k) {
    return k >= 16 ? static_cast<Part>(0xffff) : k <= 0 ? 0 : static_cast<Part>((1u << k) - 1);
  }
  static F load(const float* p, Part m) { return _mm512_maskz_loadu_ps(m, p); }
  static F load(const float* p, Part m, float fill) { return _mm512_mask_loadu_ps(set1(fill), m, p); }
  static void store(float* p, F v, Part m) { _mm512_mask_storeu_ps(p, m, v); }

  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F abs(F v) { return _mm512_abs_ps(v); }
  static F copysign(F mag, F sign) {
    const __m512i m = _mm512_set1_epi32(0x7fffffff);
    return _mm512_castsi512_ps(_mm512_ternarylogic_epi32(m, _mm512_castps_si512(mag), _mm512_castps_si512(sign), 0xca));
  }
  static F iota() { return _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static float hmax(F v) { return _mm512_reduce_max_ps(v); }
  static float hsum(F v) { return _mm512_reduce_add_ps(v); }
  static void hsum4(F a, F b, F c, F d, float* out) {
    // Per 128-bit lane: unpack pairs a with b and c with d, add, then gather the four partial
    // sums side by side: lane k holds (a, b, c, d) summed over its four floats; then the lanes.
    const F ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
    const F cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
    const F abcd = _mm512_add_ps(_mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm512_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
    const __m256 half = _mm256_add_ps(_mm512_castps512_ps256(abcd), _mm512_extractf32x8_ps(abcd, 1));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1)));
  }

  static F round(F x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2_live(F p, F n, F x) {  // vscalefps: p * 2^n
    return _mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(x, set1(mha_simd::kExpMin), _CMP_GE_OQ), p, n);
  }

  static Mask none() { return 0; }
  static Mask lanes_from(int64_t first) {
    return first <= 0 ? static_cast<Mask>(0xffff) : first >= 16 ? 0 : static_cast<Mask>(0xffffu << first);
  }
  static Mask lanes_below(int64_t end) { return static_cast<Mask>(~lanes_from(end)); }
  static Mask nonzero_bytes(const uint8_t* b) { return nonzero_bytes(b, 0xffff); }
  static Mask nonzero_bytes(const uint8_t* b, Part m) {
    const __m128i v = _mm_maskz_loadu_epi8(m, b);
    return _mm_test_epi8_mask(v, v);
  }
  static Mask or_(Mask a, Mask b) { return a | b; }
  static F neg_inf_where(Mask m, F v) { return _mm512_mask_mov_ps(v, m, set1(-INFINITY)); }

  // 16-bit storage: vcvtph2ps / vcvtps2ph, bfloat16 by a 16-bit shift; partial by k-masks.
  static __m256i load16(const uint16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static F load_f16(const uint16_t* p) { return _mm512_cvtph_ps(load16(p)); }
  static F load_f16(const uint16_t* p, Part m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }
  static F widen_bf16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static F load_bf16(const uint16_t* p) { return widen_bf16(load16(p)); }
  static F load_bf16(const uint16_t* p, Part m) { return widen_bf16(_mm256_maskz_loadu_epi16(m, p)); }
  static __m256i f16_bits(F v) { return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static void store_f16(uint16_t* p, F v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), f16_bits(v)); }
  static void store_f16(uint16_t* p, F v, Part m) { _mm256_mask_storeu_epi16(p, m, f16_bits(v)); }
  static F round_bf16(F v) {  // core/bf16.h's rule on 16 lanes
    const __m512i u = _mm512_castps_si512(v), high = _mm512_set1_epi32(int(0xffff0000u));
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
    const __m512i quiet = _mm512_or_si512(u, _mm512_set1_epi32(0x00400000));
    const __m512i r = _mm512_mask_mov_epi32(rounded, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), quiet);
    return _mm512_castsi512_ps(_mm512_and_si512(r, high));
  }
  static __m256i bf16_bits(F v) { return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_castps_si512(round_bf16(v)), 16)); }
  static void store_bf16(uint16_t* p, F v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), bf16_bits(v)); }
  static void store_bf16(uint16_t* p, F v, Part m) { _mm256_mask_storeu_epi16(p, m, bf16_bits(v)); }
};

}  // namespace
}  // namespace mha_avx512
