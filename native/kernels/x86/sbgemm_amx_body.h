// The AMX-BF16 micro-kernel's tile program (kernels/amx/sbgemm_amx_32x32.cc), written against
// a tile-operations type T so that the same addresses, strides and tile assignments also run
// on a scalar model of the tile instructions (native/test/, on any CPU).
// Tile: 32 x 32 of C in four 16 x 16 float32 tiles (tmm0: rows 0-15 x columns 0-15, tmm1:
// rows 0-15 x 16-31, tmm2: 16-31 x 0-15, tmm3: 16-31 x 16-31); per 32 depth steps two A tiles
// (tmm4, tmm5: rows 0-15 and 16-31, 32 bfloat16 = 64 B per row) and two B tiles (tmm6, tmm7:
// columns 0-15 and 16-31, 16 pair rows of 64 B), four tdpbf16ps.
// Panels (core/gemm_kernels.h): A chunked by 32 (one tile row per row and 32 depths: the 32
// rows of a chunk are 32 x 64 B, rows 64 B apart), B in pairs 32 columns wide (a pair row is
// 128 B; a B tile is every other 64 B of 16 pair rows). k is a multiple of 32.
// T provides (static): zero<t>(), load<t>(p, stride_bytes), dp<c, a, b>() (tile c += a * b
// by tdpbf16ps), store<t>(p, stride_bytes), for the tile numbers used here; every tile is
// configured as 16 rows x 64 B.
#pragma once
#include <stdint.h>

#include "core/gemm_kernels.h"

namespace mha_x86 {
namespace {

constexpr int kAmxMr = 32, kAmxNr = 32, kAmxDepth = 32;

// The 32 x 32 float32 tile of C = A * B into c (row stride ldc floats), over k depth steps.
template <class T>
void sbgemm_amx_tiles(int64_t k, const mha_bf16* a, const mha_bf16* b, float* c, int64_t ldc) {
  constexpr int64_t kRowBytes = kAmxDepth * sizeof(mha_bf16);      // an A tile row: 64 B
  constexpr int64_t kPairRowBytes = 2 * kAmxNr * sizeof(mha_bf16);  // a B pair row: 128 B
  T::template zero<0>();
  T::template zero<1>();
  T::template zero<2>();
  T::template zero<3>();
  for (int64_t p = 0; p < k; p += kAmxDepth, a += kAmxMr * kAmxDepth, b += kAmxNr * kAmxDepth) {
    T::template load<4>(a, kRowBytes);
    T::template load<5>(a + 16 * kAmxDepth, kRowBytes);
    T::template load<6>(b, kPairRowBytes);
    T::template load<7>(b + 32, kPairRowBytes);
    T::template dp<0, 4, 6>();
    T::template dp<1, 4, 7>();
    T::template dp<2, 5, 6>();
    T::template dp<3, 5, 7>();
  }
  const int64_t stride = ldc * (int64_t)sizeof(float);
  T::template store<0>(c, stride);
  T::template store<1>(c + 16, stride);
  T::template store<2>(c + 16 * ldc, stride);
  T::template store<3>(c + 16 * ldc + 16, stride);
}

}  // namespace
}  // namespace mha_x86
