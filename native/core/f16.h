// float16 (IEEE binary16) storage: portable conversion from float32 (to nearest, ties to even;
// overflow to infinity; NaN stays NaN, made quiet, with its sign and top payload bits) and back
// (exact). The kernel sets convert whole rows with their own instructions (attn_kernels.h's
// widen_row / narrow_row); these are the scalar set's and the tests'. Internal linkage, like
// core/bf16.h.
#pragma once
#include <stdint.h>
#include <string.h>

namespace mha_f16_detail {
namespace {

inline uint16_t from_float(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  const uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // from 65520 up: infinity
  if (a >= 0x38800000u) {  // normal: rebias the exponent, round off 13 mantissa bits
    const uint32_t r = a - 0x38000000u;
    return static_cast<uint16_t>(sign | ((r + 0xfffu + ((r >> 13) & 1u)) >> 13));
  }
  if (a <= 0x33000000u) return static_cast<uint16_t>(sign);  // at most 2^-25: rounds to zero
  // denormal: the significand in units of 2^-24
  const int shift = 126 - static_cast<int>(a >> 23);
  const uint32_t m = (a & 0x7fffffu) | 0x800000u, q = m >> shift, rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1);
  return static_cast<uint16_t>(sign | (q + (rem > half || (rem == half && (q & 1u)))));
}

inline float to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) {
    const float f = static_cast<float>(m) * 0x1p-24f;
    return sign ? -f : f;
  }
  const uint32_t u = sign | (e == 0x1f ? 0x7f800000u : (e + 112u) << 23) | (m << 13);
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

}  // namespace
}  // namespace mha_f16_detail
