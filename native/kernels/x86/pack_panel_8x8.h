// GEMM panel packing for the x86 kernel sets (the AVX2 and AVX-512 SGEMM units include this):
// the mha_pack_panel contract of core/gemm_kernels.h for panel widths known at compile time.
// A source contiguous along the panel's width (so == 1) is copied W floats a depth step; a
// strided one goes through the 8 x 8 register transposes of transpose_8x8.h.
// Internal linkage, like everything under native/kernels/x86/ (see transpose_8x8.h).
#pragma once
#include <stdint.h>

#include "kernels/x86/transpose_8x8.h"

namespace mha_x86 {
namespace {

template <int W>
void pack_panel(float* dst, const float* src, int valid, int64_t k, int64_t so, int64_t sd) {
  if (so == 1) {  // contiguous along the width
    for (int64_t p = 0; p < k; ++p) {
      float* d = dst + p * W;
      const float* s = src + p * sd;
      if (valid == W) {
        for (int r = 0; r < W; ++r) d[r] = s[r];
      } else {
        for (int r = 0; r < valid; ++r) d[r] = s[r];
        for (int r = valid; r < W; ++r) d[r] = 0.0f;
      }
    }
    return;
  }
  transpose_rows(dst, W, W, src, valid, k, so);  // strided along the width, contiguous along the depth
}

// The mha_pack_panel entry point for a kernel with tile MR x NR.
template <int MR, int NR>
void pack(float* dst, const float* src, int w, int valid, int64_t k, int64_t so, int64_t sd) {
  if (w == MR) pack_panel<MR>(dst, src, valid, k, so, sd);
  else pack_panel<NR>(dst, src, valid, k, so, sd);
}

}  // namespace
}  // namespace mha_x86
