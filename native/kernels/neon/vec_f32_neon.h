// The NEON (AArch64 AdvSIMD) vector type of native/kernels/simd/vec.h: 4 floats in a q
// register; partial accesses are staged through 4-lane stack buffers (AdvSIMD has no masked
// load), lane flags are all-ones lanes. Included only by this directory's units.
#pragma once
#include <arm_neon.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "kernels/simd/vec.h"

namespace mha_neon {
namespace {

struct Vec {
  using F = float32x4_t;
  using Part = int;  // the number of leading lanes, 0 to 4
  using Mask = uint32x4_t;
  static constexpr int N = 4;
  static constexpr int kTileRows = 6, kTileVectors = 4;  // attention tile 6 x 16: 24 accumulators

  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float x) { return vdupq_n_f32(x); }
  static F load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, F v) { vst1q_f32(p, v); }

  static Part part(int64_t k) { return k < 0 ? 0 : k > 4 ? 4 : static_cast<int>(k); }
  // A partial access through 4 lanes staged on the stack (the rest `fill`): nothing past the
  // part is read or written.
  template <class T, class Load>
  static auto staged_load(const T* p, Part k, T fill, Load load) {
    T staged[4] = {fill, fill, fill, fill};
    memcpy(staged, p, k * sizeof(T));
    return load(staged);
  }
  template <class T, class R, class Store>
  static void staged_store(T* p, R v, Part k, Store store) {
    T staged[4];
    store(staged, v);
    memcpy(p, staged, k * sizeof(T));
  }
  static F load(const float* p, Part k) { return load(p, k, 0.0f); }
  static F load(const float* p, Part k, float fill) {
    return staged_load(p, k, fill, [](const float* x) { return vld1q_f32(x); });
  }
  static void store(float* p, F v, Part k) {
    staged_store(p, v, k, [](float* x, F y) { vst1q_f32(x, y); });
  }

  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F sub(F a, F b) { return vsubq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F div(F a, F b) { return vdivq_f32(a, b); }
  static F abs(F v) { return vabsq_f32(v); }
  static F copysign(F mag, F sign) { return vbslq_f32(vdupq_n_u32(0x80000000u), sign, mag); }
  static F iota() {
    const float lane[4] = {0, 1, 2, 3};
    return vld1q_f32(lane);
  }
  static F max(F a, F b) { return vmaxq_f32(a, b); }
  static F fmadd(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F fnmadd(F a, F b, F c) { return vfmsq_f32(c, a, b); }
  static float hmax(F v) { return vmaxvq_f32(v); }
  static float hsum(F v) { return vaddvq_f32(v); }
  static void hsum4(F a, F b, F c, F d, float* out) { vst1q_f32(out, vpaddq_f32(vpaddq_f32(a, b), vpaddq_f32(c, d))); }

  static F round(F x) { return vrndnq_f32(x); }
  static F pow2_live(F p, F n, F x) {  // 2^n built in the exponent bits
    const uint32x4_t live = vcgeq_f32(x, vdupq_n_f32(mha_simd::kExpMin));
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vreinterpretq_f32_u32(vandq_u32(live, vreinterpretq_u32_f32(vmulq_f32(p, vreinterpretq_f32_s32(e)))));
  }

  static Mask none() { return vdupq_n_u32(0); }
  static Mask lanes_from(int64_t first) {
    const int32_t lane[4] = {0, 1, 2, 3};
    const int32_t f = first < 0 ? 0 : first > 4 ? 4 : static_cast<int32_t>(first);
    return vcgeq_s32(vld1q_s32(lane), vdupq_n_s32(f));
  }
  static Mask lanes_below(int64_t end) { return vmvnq_u32(lanes_from(end)); }
  static Mask nonzero_bytes(const uint8_t* b) { return nonzero_bytes(b, 4); }
  static Mask nonzero_bytes(const uint8_t* b, Part k) {
    uint32_t w[4] = {0, 0, 0, 0};
    for (int i = 0; i < k; ++i) w[i] = b[i];
    return vmvnq_u32(vceqq_u32(vld1q_u32(w), vdupq_n_u32(0)));
  }
  static Mask or_(Mask a, Mask b) { return vorrq_u32(a, b); }
  static F neg_inf_where(Mask m, F v) { return vbslq_f32(m, vdupq_n_f32(-INFINITY), v); }

  // 16-bit storage: vcvt_f32_f16 / vcvt_f16_f32 (rounding to nearest, the FPCR default),
  // bfloat16 by a 16-bit shift; partial accesses staged through 4-lane stack buffers.
  static uint16x4_t load16(const uint16_t* p, Part k) {
    return staged_load(p, k, uint16_t(0), [](const uint16_t* x) { return vld1_u16(x); });
  }
  static void store16(uint16_t* p, uint16x4_t h, Part k) {
    staged_store(p, h, k, [](uint16_t* x, uint16x4_t y) { vst1_u16(x, y); });
  }
  static F widen_f16(uint16x4_t h) { return vcvt_f32_f16(vreinterpret_f16_u16(h)); }
  static F widen_bf16(uint16x4_t h) { return vreinterpretq_f32_u32(vshll_n_u16(h, 16)); }
  static F load_f16(const uint16_t* p) { return widen_f16(vld1_u16(p)); }
  static F load_f16(const uint16_t* p, Part k) { return widen_f16(load16(p, k)); }
  static F load_bf16(const uint16_t* p) { return widen_bf16(vld1_u16(p)); }
  static F load_bf16(const uint16_t* p, Part k) { return widen_bf16(load16(p, k)); }
  static uint16x4_t f16_bits(F v) { return vreinterpret_u16_f16(vcvt_f16_f32(v)); }
  static void store_f16(uint16_t* p, F v) { vst1_u16(p, f16_bits(v)); }
  static void store_f16(uint16_t* p, F v, Part k) { store16(p, f16_bits(v), k); }
  static F round_bf16(F v) {  // core/bf16.h's rule on 4 lanes
    const uint32x4_t u = vreinterpretq_u32_f32(v);
    const uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
    const uint32x4_t rounded = vaddq_u32(u, vaddq_u32(vdupq_n_u32(0x7fff), lsb));
    const uint32x4_t quiet = vorrq_u32(u, vdupq_n_u32(0x00400000));
    const uint32x4_t r = vbslq_u32(vceqq_f32(v, v), rounded, quiet);
    return vreinterpretq_f32_u32(vandq_u32(r, vdupq_n_u32(0xffff0000u)));
  }
  static uint16x4_t bf16_bits(F v) { return vshrn_n_u32(vreinterpretq_u32_f32(round_bf16(v)), 16); }
  static void store_bf16(uint16_t* p, F v) { vst1_u16(p, bf16_bits(v)); }
  static void store_bf16(uint16_t* p, F v, Part k) { store16(p, bf16_bits(v), k); }
};

}  // namespace
}  // namespace mha_neon
