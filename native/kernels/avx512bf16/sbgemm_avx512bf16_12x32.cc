// sbgemm_avx512bf16_12x32: AVX512-BF16 bfloat16 GEMM micro-kernel: vdpbf16ps adds both
// products of a bfloat16 pair to each float32 lane, twice the multiply-adds of an FMA per
// instruction (native/kernels/simd/sbgemm_tile.h on the zmm vector type).
// Tile: 12 x 32 of C in 24 zmm accumulators; per pair of depth steps 2 zmm loads of B pairs
// (16 columns x 2 depths each), 12 broadcasts of an A pair, 24 vdpbf16ps: 27 of the 32 zmm
// registers.
// Blocks: computed from the cache sizes (core/gemm_blocking.h); the fallback below halves the
// float32 kernel's bytes: kc = 768 (A micro-panel 12 x 768 x 2 B = 18 KiB in L1), nc = 640 (B
// block 768 x 640 x 2 B = 960 KiB in L2), mc = 384 (A block 576 KiB).
// Entry points: full tile and edge rows (1..11); panels packed by x86/pack_pairs_8x8.h.
#include <immintrin.h>
#include <string.h>

#include "core/gemm_kernels.h"
#include "kernels/avx512/vec_f32_avx512.h"
#include "kernels/simd/sbgemm_tile.h"
#include "kernels/x86/pack_pairs_8x8.h"

namespace {

struct Dot {
  static constexpr bool kDot = true;
  using Pairs = __m512bh;
  using APair = __m512bh;
  static Pairs load(const mha_bf16* b) { return (__m512bh)_mm512_loadu_si512(b); }
  static APair bcast(const mha_bf16* a) {
    int32_t u;
    memcpy(&u, a, sizeof u);
    return (__m512bh)_mm512_set1_epi32(u);
  }
  static __m512 dot(__m512 acc, APair a, Pairs b) { return _mm512_dpbf16_ps(acc, a, b); }
};

using V = mha_avx512::Vec;
constexpr int kMr = 12, kNv = 2, kNr = kNv * V::N;

}  // namespace

extern const mha_sbgemm_kernels mha_sbgemm_kernels_avx512bf16 = {
    "sbgemm_avx512bf16_12x32", "avx512bf16", kMr, kNr, /*kstep=*/2, /*mc=*/384, /*kc=*/768,
    /*nc=*/640, mha_simd::sbgemm<V, Dot, kMr, kNv>, mha_simd::sbgemm_rows<V, Dot, kMr, kNv>,
    mha_x86::pack_bf16_pairs<kMr, kNr>, mha_x86::pack_bf16_pairs<kMr, kNr>};
