// A scalar model of the AMX tile instructions that the AMX-BF16 micro-kernel's tile program
// uses (kernels/x86/sbgemm_amx_body.h), as the tile-operations type of that program: eight
// tiles of 16 rows x 64 bytes (palette 1 as the kernel configures it), tileloadd/tilestored
// with a byte stride, tilezero, and tdpbf16ps as the architecture defines it
//   C.fp32[m][n] += A.bf16[m][2k] * B.bf16[k][2n] + A.bf16[m][2k+1] * B.bf16[k][2n+1]
// (bfloat16 denormals taken as zero, float32 sums, k over the 16 pairs of a tile row).
// Runs the kernel's real addressing on any CPU, so its panel layouts are tested where AMX is
// not available.
#pragma once
#include <stdint.h>
#include <string.h>

#include "core/bf16.h"

namespace amx_model {

struct Tiles {
  static constexpr int kRows = 16, kColsb = 64;
  static inline uint8_t tile[8][kRows][kColsb];

  template <int t> static void zero() { memset(tile[t], 0, sizeof tile[t]); }
  template <int t> static void load(const void* p, int64_t stride) {
    for (int r = 0; r < kRows; ++r)
      memcpy(tile[t][r], static_cast<const uint8_t*>(p) + r * stride, kColsb);
  }
  template <int t> static void store(void* p, int64_t stride) {
    for (int r = 0; r < kRows; ++r) memcpy(static_cast<uint8_t*>(p) + r * stride, tile[t][r], kColsb);
  }
  template <int c, int a, int b> static void dp() {
    for (int m = 0; m < kRows; ++m)
      for (int n = 0; n < kColsb / 4; ++n) {
        float acc = f32(c, m, n);
        for (int k = 0; k < kColsb / 4; ++k) {
          acc += widen(bf16(a, m, 2 * k)) * widen(bf16(b, k, 2 * n));
          acc += widen(bf16(a, m, 2 * k + 1)) * widen(bf16(b, k, 2 * n + 1));
        }
        memcpy(&tile[c][m][4 * n], &acc, 4);
      }
  }

 private:
  static float f32(int t, int r, int i) {
    float x;
    memcpy(&x, &tile[t][r][4 * i], 4);
    return x;
  }
  static mha_bf16 bf16(int t, int r, int i) {
    mha_bf16 h;
    memcpy(&h, &tile[t][r][2 * i], 2);
    return h;
  }
  static float widen(mha_bf16 h) {  // denormals as zero
    return (h & 0x7f80) == 0 ? 0.0f : mha_bf16_detail::to_float(h);
  }
};

}  // namespace amx_model
