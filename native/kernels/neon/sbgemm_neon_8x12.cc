// sbgemm_neon_8x12: emulated bfloat16 GEMM micro-kernel on AArch64 AdvSIMD: bfloat16 panels
// widened to float32 in registers (a pair's 32 bits shifted left 16 for the even depth,
// masked to the high half for the odd one), float32 FMAs (native/kernels/simd/sbgemm_tile.h
// on the q-register vector type).
// Tile: 8 x 12 of C in 24 float32x4 accumulators; per depth step 3 q registers of widened B,
// 8 broadcasts of widened A, 24 FMAs: 28 of the 32 vector registers.
// Blocks: computed from the cache sizes where known, else the fallback below, which halves the
// float32 kernel's bytes: kc = 512 (A micro-panel 8 x 512 x 2 B = 8 KiB in L1), nc = 480 (B
// block 512 x 480 x 2 B = 480 KiB in a 1 MiB L2), mc = 128 (A block 128 KiB).
// Entry points: full tile and edge rows (1..7); panels by the framework's portable packing.
#include <arm_neon.h>

#include "core/gemm_kernels.h"
#include "kernels/neon/vec_f32_neon.h"
#include "kernels/simd/sbgemm_tile.h"

namespace {

struct Widen {
  static constexpr bool kDot = false;
  static float32x4_t widen(const mha_bf16* b, int s) {
    const uint32x4_t x = vld1q_u32(reinterpret_cast<const uint32_t*>(b));
    return vreinterpretq_f32_u32(s == 0 ? vshlq_n_u32(x, 16) : vandq_u32(x, vdupq_n_u32(0xffff0000u)));
  }
  static float32x4_t widen_bcast(const mha_bf16* a, int s) {
    return vreinterpretq_f32_u32(vdupq_n_u32(mha_simd::widened_bits(a, s)));
  }
};

using V = mha_neon::Vec;
constexpr int kMr = 8, kNv = 3, kNr = kNv * V::N;

}  // namespace

extern const mha_sbgemm_kernels mha_sbgemm_kernels_neon = {
    "sbgemm_neon_8x12", "emulated", kMr, kNr, /*kstep=*/2, /*mc=*/128, /*kc=*/512, /*nc=*/480,
    mha_simd::sbgemm<V, Widen, kMr, kNv>, mha_simd::sbgemm_rows<V, Widen, kMr, kNv>,
    /*pack_a=*/nullptr, /*pack_b=*/nullptr};
