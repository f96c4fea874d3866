// K^T tile packing for the x86 attention kernel sets (the AVX2 and AVX-512 attention units
// include this): pack_kt of core/attn_kernels.h, keys transposed 8 x 8 in registers
// (transpose_8x8.h), padding columns zeroed.
// Internal linkage, like everything under native/kernels/x86/ (see transpose_8x8.h).
#pragma once
#include <stdint.h>

#include "kernels/x86/transpose_8x8.h"

namespace mha_x86 {
namespace {

// The pack_kt entry point of core/attn_kernels.h: kt[c * ldkt + j] = k[j * ldk + c].
inline void pack_kt(float* kt, int64_t ldkt, const float* k, int64_t ldk, int64_t n, int64_t d) {
  transpose_rows(kt, ldkt, static_cast<int>(ldkt), k, static_cast<int>(n), d, ldk);
}

}  // namespace
}  // namespace mha_x86
