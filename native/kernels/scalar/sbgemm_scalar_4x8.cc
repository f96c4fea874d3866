// sbgemm_scalar_4x8: portable C++ emulated bfloat16 GEMM micro-kernel (the fallback for any
// CPU): bfloat16 pairs widened to float32 (bits << 16), float32 multiply-adds.
// Tile: 4 x 8 of C in a local accumulator array (32 floats; compilers keep it in registers).
// Blocks: computed from the cache sizes where known, else the fallback below, which halves the
// float32 kernel's bytes: kc = 512 (A micro-panel 4 KiB in L1), nc = 1024 (B block 1 MiB in
// L2), mc = 128 (A block 128 KiB).
// One entry point, full tile: panels by the framework's portable packing, edge tiles through
// its buffer.
#include <stdint.h>
#include <string.h>

#include "core/gemm_kernels.h"

namespace {

constexpr int kMr = 4, kNr = 8;

float widen(mha_bf16 h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

void sbgemm_scalar_4x8(int64_t k, const mha_bf16* a, const mha_bf16* b, float* c, int64_t ldc,
                       float alpha, float beta) {
  float acc[kMr][kNr] = {};
  for (int64_t q = 0; q < k; q += 2, a += 2 * kMr, b += 2 * kNr)
    for (int s = 0; s < 2; ++s)
      for (int i = 0; i < kMr; ++i)
        for (int j = 0; j < kNr; ++j) acc[i][j] += widen(a[2 * i + s]) * widen(b[2 * j + s]);
  for (int i = 0; i < kMr; ++i)
    for (int j = 0; j < kNr; ++j) {
      float v = alpha * acc[i][j];
      c[i * ldc + j] = beta == 0.0f ? v : v + beta * c[i * ldc + j];
    }
}

}  // namespace

extern const mha_sbgemm_kernels mha_sbgemm_kernels_scalar = {
    "sbgemm_scalar_4x8", "emulated", kMr, kNr, /*kstep=*/2, /*mc=*/128, /*kc=*/512, /*nc=*/1024,
    sbgemm_scalar_4x8, /*ukernel_rows=*/nullptr, /*pack_a=*/nullptr, /*pack_b=*/nullptr};
