// sbgemm_avx512_12x32: emulated bfloat16 GEMM micro-kernel on AVX-512F (for CPUs without
// AVX512-BF16): bfloat16 panels widened to float32 in registers (a pair's 32 bits shifted
// left 16 for the even depth, masked to the high half for the odd one), float32 FMAs
// (native/kernels/simd/sbgemm_tile.h on the zmm vector type).
// Tile: 12 x 32 of C in 24 zmm accumulators; per depth step 2 zmm of widened B, 12 broadcasts
// of widened A, 24 FMAs: 27 of the 32 zmm registers.
// Blocks: computed from the cache sizes (core/gemm_blocking.h); the fallback below halves the
// float32 kernel's bytes: kc = 768 (A micro-panel 12 x 768 x 2 B = 18 KiB in L1), nc = 640 (B
// block 768 x 640 x 2 B = 960 KiB in L2), mc = 384 (A block 576 KiB).
// Entry points: full tile and edge rows (1..11); panels packed by x86/pack_pairs_8x8.h.
#include <immintrin.h>

#include "core/gemm_kernels.h"
#include "kernels/avx512/vec_f32_avx512.h"
#include "kernels/simd/sbgemm_tile.h"
#include "kernels/x86/pack_pairs_8x8.h"

namespace {

struct Widen {
  static constexpr bool kDot = false;
  static __m512 widen(const mha_bf16* b, int s) {
    const __m512i x = _mm512_loadu_si512(b);
    return _mm512_castsi512_ps(s == 0 ? _mm512_slli_epi32(x, 16)
                                      : _mm512_and_si512(x, _mm512_set1_epi32(int(0xffff0000u))));
  }
  static __m512 widen_bcast(const mha_bf16* a, int s) {
    return _mm512_castsi512_ps(_mm512_set1_epi32(int(mha_simd::widened_bits(a, s))));
  }
};

using V = mha_avx512::Vec;
constexpr int kMr = 12, kNv = 2, kNr = kNv * V::N;

}  // namespace

extern const mha_sbgemm_kernels mha_sbgemm_kernels_avx512 = {
    "sbgemm_avx512_12x32", "emulated", kMr, kNr, /*kstep=*/2, /*mc=*/384, /*kc=*/768, /*nc=*/640,
    mha_simd::sbgemm<V, Widen, kMr, kNv>, mha_simd::sbgemm_rows<V, Widen, kMr, kNv>,
    mha_x86::pack_bf16_pairs<kMr, kNr>, mha_x86::pack_bf16_pairs<kMr, kNr>};
