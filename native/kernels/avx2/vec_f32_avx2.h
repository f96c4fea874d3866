// The AVX2 + FMA vector type of native/kernels/simd/vec.h: 8 floats in a ymm register;
// partial accesses by vmaskmovps (lanes left out are neither read nor written), lane flags
// as all-ones lanes. Included only by this directory's units (the avx2 flags of
// native/isa.json).
#pragma once
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/simd/vec.h"

namespace mha_avx2 {
namespace {

struct Vec {
  using F = __m256;
  struct Part {
    __m256i lanes;  // all-ones in the lanes < k
    int64_t k;
  };
  using Mask = __m256;
  static constexpr int N = 8;
  static constexpr int kTileRows = 6, kTileVectors = 2;  // attention tile 6 x 16: 12 accumulators

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }

  static Part part(int64_t k) {
    const int kk = k < 0 ? 0 : k > 8 ? 8 : static_cast<int>(k);
    return {_mm256_cmpgt_epi32(_mm256_set1_epi32(kk), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)), kk};
  }
  static F load(const float* p, Part m) { return _mm256_maskload_ps(p, m.lanes); }
  static F load(const float* p, Part m, float fill) {
    return _mm256_blendv_ps(set1(fill), _mm256_maskload_ps(p, m.lanes), _mm256_castsi256_ps(m.lanes));
  }
  static void store(float* p, F v, Part m) { _mm256_maskstore_ps(p, m.lanes, v); }

  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F abs(F v) { return _mm256_andnot_ps(set1(-0.0f), v); }
  static F copysign(F mag, F sign) {
    const F s = set1(-0.0f);
    return _mm256_or_ps(_mm256_andnot_ps(s, mag), _mm256_and_ps(s, sign));
  }
  static F iota() { return _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static float hmax(F v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
  }
  static float hsum(F v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
  }

  static void hsum4(F a, F b, F c, F d, float* out) {  // as the AVX-512 type's, over two 128-bit lanes
    const F ab = _mm256_add_ps(_mm256_unpacklo_ps(a, b), _mm256_unpackhi_ps(a, b));
    const F cd = _mm256_add_ps(_mm256_unpacklo_ps(c, d), _mm256_unpackhi_ps(c, d));
    const F abcd = _mm256_add_ps(_mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(1, 0, 1, 0)),
                                 _mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 2, 3, 2)));
    _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
  }

  static F round(F x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F pow2_live(F p, F n, F x) {  // 2^n built in the exponent bits
    const __m256 live = _mm256_cmp_ps(x, set1(mha_simd::kExpMin), _CMP_GE_OQ);
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(live, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
  }

  static Mask none() { return _mm256_setzero_ps(); }
  static Mask lanes_from(int64_t first) {
    const int f = first < 0 ? 0 : first > 8 ? 8 : static_cast<int>(first);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8), _mm256_set1_epi32(f)));
  }
  static Mask lanes_below(int64_t end) {
    const int e = end < 0 ? 0 : end > 8 ? 8 : static_cast<int>(end);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(e), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
  }
  static Mask nonzero_bytes(const uint8_t* b) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b)));
    return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(v, _mm256_setzero_si256()), _mm256_set1_epi32(-1)));
  }
  static Mask nonzero_bytes(const uint8_t* b, Part m) {  // the part's bytes staged: none read past it
    uint8_t staged[8] = {0};
    memcpy(staged, b, static_cast<size_t>(m.k));
    return nonzero_bytes(staged);
  }
  static Mask or_(Mask a, Mask b) { return _mm256_or_ps(a, b); }
  static F neg_inf_where(Mask m, F v) { return _mm256_blendv_ps(v, set1(-INFINITY), m); }

  // 16-bit storage: F16C's vcvtph2ps / vcvtps2ph, bfloat16 by a 16-bit shift; partial accesses
  // staged through 8-lane stack buffers (AVX2 has no 16-bit masked load or store).
  static __m128i load16(const uint16_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static __m128i load16(const uint16_t* p, Part m) {
    uint16_t staged[8] = {0};
    memcpy(staged, p, static_cast<size_t>(m.k) * sizeof(uint16_t));
    return load16(staged);
  }
  static void store16(uint16_t* p, __m128i h) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), h); }
  static void store16(uint16_t* p, __m128i h, Part m) {
    uint16_t staged[8];
    store16(staged, h);
    memcpy(p, staged, static_cast<size_t>(m.k) * sizeof(uint16_t));
  }
  static F widen_bf16(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  static F load_f16(const uint16_t* p) { return _mm256_cvtph_ps(load16(p)); }
  static F load_f16(const uint16_t* p, Part m) { return _mm256_cvtph_ps(load16(p, m)); }
  static F load_bf16(const uint16_t* p) { return widen_bf16(load16(p)); }
  static F load_bf16(const uint16_t* p, Part m) { return widen_bf16(load16(p, m)); }
  static __m128i f16_bits(F v) { return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static void store_f16(uint16_t* p, F v) { store16(p, f16_bits(v)); }
  static void store_f16(uint16_t* p, F v, Part m) { store16(p, f16_bits(v), m); }
  static F round_bf16(F v) {  // core/bf16.h's rule on 8 lanes
    const __m256i u = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb));
    const __m256i quiet = _mm256_or_si256(u, _mm256_set1_epi32(0x00400000));
    const __m256 r = _mm256_blendv_ps(_mm256_castsi256_ps(rounded), _mm256_castsi256_ps(quiet), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_and_ps(r, _mm256_castsi256_ps(_mm256_set1_epi32(int(0xffff0000u))));
  }
  static __m128i bf16_bits(F v) {
    const __m256i h = _mm256_srli_epi32(_mm256_castps_si256(round_bf16(v)), 16);
    return _mm_packus_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
  }
  static void store_bf16(uint16_t* p, F v) { store16(p, bf16_bits(v)); }
  static void store_bf16(uint16_t* p, F v, Part m) { store16(p, bf16_bits(v), m); }
};

}  // namespace
}  // namespace mha_avx2
