// sgemm_avx512_12x32: AVX-512F SGEMM micro-kernel (native/kernels/simd/sgemm_tile.h on the
// zmm vector type).
// Tile: 12 x 32 of C in 24 zmm accumulators; per depth step 2 zmm loads of B, 12 broadcasts
// of A (1 zmm), 24 FMAs, 2 prefetches of B 4 KiB ahead: 27 of the 32 zmm registers.
// Blocks: computed at load from the cache sizes (core/gemm_blocking.h); the table's own, the
// fallback where they are unknown: kc = 384 (A micro-panel 12 x 384 = 18 KiB stays in a 48 KiB
// L1 while the B micro-panels stream past it), nc = 640 (B block 384 x 640 = 960 KiB stays in
// a 2 MiB L2), mc = 384 (A block 384 x 384 = 576 KiB, packed per task, beside it in L2).
// Three entry points: packed A, direct A (row-major A read in place, for small GEMMs), and
// the edge-row kernels (rows 1..11 of the tile, packed A); panels are packed by
// x86/pack_panel_8x8.h (8 x 8 register transposes).
#include "core/gemm_kernels.h"
#include "kernels/avx512/vec_f32_avx512.h"
#include "kernels/simd/sgemm_tile.h"
#include "kernels/x86/pack_panel_8x8.h"

namespace {
constexpr int kMr = 12, kNv = 2, kNr = kNv * mha_avx512::Vec::N;
}  // namespace

extern const mha_gemm_kernels mha_gemm_kernels_avx512 = {
    "sgemm_avx512_12x32", kMr, kNr, /*mc=*/384, /*kc=*/384, /*nc=*/640,
    mha_simd::sgemm<mha_avx512::Vec, kMr, kNv>, mha_simd::sgemm_direct_a<mha_avx512::Vec, kMr, kNv>,
    mha_x86::pack<kMr, kNr>, mha_simd::sgemm_rows<mha_avx512::Vec, kMr, kNv>};
