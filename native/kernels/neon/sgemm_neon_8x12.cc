// sgemm_neon_8x12: AArch64 AdvSIMD SGEMM micro-kernel.
// Tile: 8 x 12 of C in 24 float32x4 accumulators; per depth step 2 q-register loads of A
// (8 rows), 3 of B (12 columns) and 24 lane-indexed FMAs (vfmaq_laneq_f32): 29 of the 32
// vector registers. Edge-row kernels: the same loop for the first 1..7 rows only. A is always
// packed (no direct-A entry point), by the framework's portable packing, as is B.
// Blocks: computed from the cache sizes where known (core/gemm_blocking.h), else: kc = 256
// (A micro-panel 8 x 256 = 8 KiB stays in L1), nc = 480 (B block 256 x 480 = 480 KiB stays in
// a 1 MiB L2), mc = 128 (A block 128 KiB, packed per task).
#include <arm_neon.h>
#include <stdint.h>

#include "core/gemm_kernels.h"

namespace {

constexpr int kMr = 8, kNr = 12;

template <int L>
inline void fma_row(float32x4_t (&acc)[3], const float32x4_t (&b)[3], float32x4_t a) {
  acc[0] = vfmaq_laneq_f32(acc[0], b[0], a, L);
  acc[1] = vfmaq_laneq_f32(acc[1], b[1], a, L);
  acc[2] = vfmaq_laneq_f32(acc[2], b[2], a, L);
}

// The first R rows of the 8 x 12 tile (R = 8: the whole tile; fewer: the edge-row kernels),
// A packed 8 wide either way.
template <int R>
void sgemm_neon_rows(int64_t k, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                     float beta) {
  float32x4_t acc[R][3];
  for (int i = 0; i < R; ++i) acc[i][0] = acc[i][1] = acc[i][2] = vdupq_n_f32(0.0f);
  for (int64_t p = 0; p < k; ++p, a += kMr, b += kNr) {
    const float32x4_t bv[3] = {vld1q_f32(b), vld1q_f32(b + 4), vld1q_f32(b + 8)};
    const float32x4_t a0 = vld1q_f32(a);
    fma_row<0>(acc[0], bv, a0);
    if constexpr (R > 1) fma_row<1>(acc[1], bv, a0);
    if constexpr (R > 2) fma_row<2>(acc[2], bv, a0);
    if constexpr (R > 3) fma_row<3>(acc[3], bv, a0);
    if constexpr (R > 4) {
      const float32x4_t a1 = vld1q_f32(a + 4);
      fma_row<0>(acc[4], bv, a1);
      if constexpr (R > 5) fma_row<1>(acc[5], bv, a1);
      if constexpr (R > 6) fma_row<2>(acc[6], bv, a1);
      if constexpr (R > 7) fma_row<3>(acc[7], bv, a1);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < 3; ++j) {
      float* cij = c + i * ldc + 4 * j;
      float32x4_t v = vmulq_n_f32(acc[i][j], alpha);
      if (beta != 0.0f) v = vfmaq_n_f32(v, vld1q_f32(cij), beta);
      vst1q_f32(cij, v);
    }
}

void sgemm_neon_8x12(int64_t k, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                     float beta) {
  sgemm_neon_rows<kMr>(k, a, b, c, ldc, alpha, beta);
}

// The edge-row entry point of gemm_kernels.h: rows 1..7 of the tile.
void sgemm_neon_edge_rows(int64_t k, int rows, const float* a, const float* b, float* c, int64_t ldc,
                          float alpha, float beta) {
  using Fn = void (*)(int64_t, const float*, const float*, float*, int64_t, float, float);
  static constexpr Fn kByRows[kMr - 1] = {sgemm_neon_rows<1>, sgemm_neon_rows<2>, sgemm_neon_rows<3>,
                                          sgemm_neon_rows<4>, sgemm_neon_rows<5>, sgemm_neon_rows<6>,
                                          sgemm_neon_rows<7>};
  kByRows[rows - 1](k, a, b, c, ldc, alpha, beta);
}

}  // namespace

extern const mha_gemm_kernels mha_gemm_kernels_neon = {
    "sgemm_neon_8x12", kMr, kNr, /*mc=*/128, /*kc=*/256, /*nc=*/480, sgemm_neon_8x12,
    /*ukernel_direct_a=*/nullptr, /*pack=*/nullptr, sgemm_neon_edge_rows};
