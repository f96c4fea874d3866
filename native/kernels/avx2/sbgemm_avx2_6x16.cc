// sbgemm_avx2_6x16: emulated bfloat16 GEMM micro-kernel on AVX2 + FMA: bfloat16 panels widened
// to float32 in registers (a pair's 32 bits shifted left 16 for the even depth, masked to the
// high half for the odd one), float32 FMAs (native/kernels/simd/sbgemm_tile.h on the ymm
// vector type).
// Tile: 6 x 16 of C in 12 ymm accumulators; per depth step 2 ymm of widened B, 6 broadcasts of
// widened A, 12 FMAs: 15 of the 16 ymm registers.
// Blocks: computed from the cache sizes (core/gemm_blocking.h); the fallback below halves the
// float32 kernel's bytes: kc = 512 (A micro-panel 6 x 512 x 2 B = 6 KiB in L1), nc = 1024 (B
// block 512 x 1024 x 2 B = 1 MiB in L2), mc = 144 (A block 144 KiB).
// Entry points: full tile and edge rows (1..5); panels packed by x86/pack_pairs_8x8.h.
#include <immintrin.h>

#include "core/gemm_kernels.h"
#include "kernels/avx2/vec_f32_avx2.h"
#include "kernels/simd/sbgemm_tile.h"
#include "kernels/x86/pack_pairs_8x8.h"

namespace {

struct Widen {
  static constexpr bool kDot = false;
  static __m256 widen(const mha_bf16* b, int s) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    return _mm256_castsi256_ps(s == 0 ? _mm256_slli_epi32(x, 16)
                                      : _mm256_and_si256(x, _mm256_set1_epi32(int(0xffff0000u))));
  }
  static __m256 widen_bcast(const mha_bf16* a, int s) {
    return _mm256_castsi256_ps(_mm256_set1_epi32(int(mha_simd::widened_bits(a, s))));
  }
};

using V = mha_avx2::Vec;
constexpr int kMr = 6, kNv = 2, kNr = kNv * V::N;

}  // namespace

extern const mha_sbgemm_kernels mha_sbgemm_kernels_avx2 = {
    "sbgemm_avx2_6x16", "emulated", kMr, kNr, /*kstep=*/2, /*mc=*/144, /*kc=*/512, /*nc=*/1024,
    mha_simd::sbgemm<V, Widen, kMr, kNv>, mha_simd::sbgemm_rows<V, Widen, kMr, kNv>,
    mha_x86::pack_bf16_pairs<kMr, kNr>, mha_x86::pack_bf16_pairs<kMr, kNr>};
