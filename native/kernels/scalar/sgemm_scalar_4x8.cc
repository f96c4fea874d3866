// sgemm_scalar_4x8: portable C++ SGEMM micro-kernel (the fallback for any CPU).
// Tile: 4 x 8 of C in a local accumulator array (32 floats; compilers keep it in registers,
// as 8 SSE2 / NEON vectors where the baseline ISA has them).
// Blocks: computed from the cache sizes where known (core/gemm_blocking.h), else: kc = 256
// (A micro-panel 4 x 256 = 4 KiB stays in L1), nc = 1024 (B block 256 x 1024 = 1 MiB in L2),
// mc = 128 (A block 128 KiB, packed per task).
// One entry point, packed A: panels use the framework's portable packing, and edge tiles its
// buffer (no direct-A or edge-row kernels).
#include <stdint.h>

#include "core/gemm_kernels.h"

namespace {

constexpr int kMr = 4, kNr = 8;

void sgemm_scalar_4x8(int64_t k, const float* a, const float* b, float* c, int64_t ldc,
                      float alpha, float beta) {
  float acc[kMr][kNr] = {};
  for (int64_t p = 0; p < k; ++p, a += kMr, b += kNr)
    for (int i = 0; i < kMr; ++i)
      for (int j = 0; j < kNr; ++j) acc[i][j] += a[i] * b[j];
  for (int i = 0; i < kMr; ++i)
    for (int j = 0; j < kNr; ++j) {
      float v = alpha * acc[i][j];
      c[i * ldc + j] = beta == 0.0f ? v : v + beta * c[i * ldc + j];
    }
}

}  // namespace

extern const mha_gemm_kernels mha_gemm_kernels_scalar = {
    "sgemm_scalar_4x8", kMr, kNr, /*mc=*/128, /*kc=*/256, /*nc=*/1024, sgemm_scalar_4x8,
    /*ukernel_direct_a=*/nullptr, /*pack=*/nullptr,
    /*ukernel_rows=*/nullptr};
