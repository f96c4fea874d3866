// The vector-type contract that the shared kernel templates of native/kernels/simd/ are
// written against, and the exp they share. Each SIMD kernel set defines one such type in its
// own native/kernels/<isa>/vec_f32_<isa>.h (AVX2, AVX-512, NEON) and instantiates the
// templates in its own units, compiled with its own flags: the kernels are written once, and
// only the intrinsics differ per ISA.
//
// A vector type V provides (all static, all inline):
//   F, N              the register type and its number of float lanes
//   Part, part(k)     the leading min(k, N) lanes (k >= 0), for row tails: a partial access
//                     never reads or writes memory past those lanes
//   zero(), set1(x), load(p), store(p, v)             full vectors (no alignment needed)
//   load(p, part) / load(p, part, fill), store(p, v, part)
//                     partial: lanes outside the part read as 0 (or fill) and are not written
//   add, sub, mul, div, max(a, b); fmadd(a, b, c) = a*b + c; fnmadd(a, b, c) = c - a*b
//   abs(v), copysign(magnitude, sign), iota() = {0, 1, ..., N-1}
//   hmax(v), hsum(v)  horizontal max and sum; hsum4(a, b, c, d, out): the four horizontal
//                     sums into out[0..3], folded together (fewer shuffles than four hsums)
//   round(v)          to the nearest integer (ties to even)
//   pow2_live(p, n, x) p * 2^n (n integral, |n| <= 127) where x >= kExpMin, exactly 0 elsewhere
//   Mask, none(), lanes_from(i), lanes_below(i), nonzero_bytes(b), nonzero_bytes(b, part),
//   or_(a, b), neg_inf_where(m, v)
//                     lane flags: lanes i >= lanes_from's argument (all for <= 0, none for
//                     >= N), lanes i < lanes_below's; the lanes (of the part) whose byte at b
//                     is nonzero (bytes past the part are not read); v with -inf where m is set
//   kTileRows, kTileVectors   the attention tile (attn_tiles.h): kTileRows x kTileVectors*N
//   16-bit storage (core/storage.h), N values at p (uint16_t*), full or partial as above:
//   load_f16(p), load_f16(p, part), load_bf16(p), load_bf16(p, part)   widened to float32
//   store_f16(p, v), store_f16(p, v, part), store_bf16(p, v), store_bf16(p, v, part)
//                     rounded to nearest, ties to even (NaN stays NaN, float16 overflow to inf)
//   round_bf16(v)     v rounded to the nearest bfloat16 value, as float32 (NaN stays NaN)
//
// Everything in these headers has internal linkage (an anonymous namespace), so each unit gets
// its own copy compiled with its own flags; a shared inline copy could be the AVX-512 build
// picked by the linker for the AVX2 path.
#pragma once
#include <stdint.h>

namespace mha_simd {
namespace {

// Below this, exp(x) is under the smallest normal float: exp_nonpositive gives 0 (no denormals).
constexpr float kExpMin = -87.3365447f;

// exp(x) for x <= 0 (softmax): x = n ln2 + r, |r| <= ln2/2, exp(r) by a degree-5 minimax
// polynomial (max relative error 9.2e-8), times 2^n; 0 below kExpMin and for -inf.
template <class V>
inline typename V::F exp_nonpositive(typename V::F x) {
  using F = typename V::F;
  const F n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  const F r = V::fnmadd(n, V::set1(0.693147180559945309f), x);
  F p = V::set1(0x1.0F9F9Cp-7f);
  p = V::fmadd(p, r, V::set1(0x1.573A1Ap-5f));
  p = V::fmadd(p, r, V::set1(0x1.555A80p-3f));
  p = V::fmadd(p, r, V::set1(0x1.FFFDC6p-2f));
  p = V::fmadd(p, r, V::set1(0x1.FFFFF6p-1f));
  p = V::fmadd(p, r, V::set1(1.0f));
  return V::pow2_live(p, n, x);
}

// tanh(x) = sign(x) (1 - e) / (1 + e) with e = exp(-2|x|) <= 1: no overflow for any x, and
// an absolute error of a few float ulps (what softcapping a logit needs).
template <class V>
inline typename V::F tanh(typename V::F x) {
  using F = typename V::F;
  const F e = exp_nonpositive<V>(V::mul(V::set1(-2.0f), V::abs(x)));
  const F one = V::set1(1.0f);
  return V::copysign(V::div(V::sub(one, e), V::add(one, e)), x);
}

}  // namespace
}  // namespace mha_simd
