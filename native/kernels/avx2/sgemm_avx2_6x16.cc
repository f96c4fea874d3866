// sgemm_avx2_6x16: AVX2 + FMA SGEMM micro-kernel (native/kernels/simd/sgemm_tile.h on the
// ymm vector type).
// Tile: 6 x 16 of C in 12 ymm accumulators; per depth step 2 ymm loads of B, 6 broadcasts
// of A (1 ymm), 12 FMAs, 1 prefetch of B 4 KiB ahead: 15 of the 16 ymm registers.
// Blocks: computed at load from the cache sizes (core/gemm_blocking.h); the fallback: kc = 256
// (A micro-panel 6 x 256 = 6 KiB stays in L1 while the B micro-panels stream past it),
// nc = 1024 (B block 256 x 1024 = 1 MiB stays in L2), mc = 144 (A block 144 x 256 = 144 KiB,
// packed per task).
// Three entry points: packed A, direct A (row-major A read in place, for small GEMMs), and
// the edge-row kernels (rows 1..5 of the tile, packed A); panels are packed by
// x86/pack_panel_8x8.h (8 x 8 register transposes).
#include "core/gemm_kernels.h"
#include "kernels/avx2/vec_f32_avx2.h"
#include "kernels/simd/sgemm_tile.h"
#include "kernels/x86/pack_panel_8x8.h"

namespace {
constexpr int kMr = 6, kNv = 2, kNr = kNv * mha_avx2::Vec::N;
}  // namespace

extern const mha_gemm_kernels mha_gemm_kernels_avx2 = {
    "sgemm_avx2_6x16", kMr, kNr, /*mc=*/144, /*kc=*/256, /*nc=*/1024,
    mha_simd::sgemm<mha_avx2::Vec, kMr, kNv>, mha_simd::sgemm_direct_a<mha_avx2::Vec, kMr, kNv>,
    mha_x86::pack<kMr, kNr>, mha_simd::sgemm_rows<mha_avx2::Vec, kMr, kNv>};
