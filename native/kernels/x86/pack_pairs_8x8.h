// bfloat16 pair-panel packing for the x86 kernel sets (the AVX2, AVX-512 and AVX512-BF16
// bfloat16 GEMM units include this): the mha_pack_panel_bf16 contract of core/gemm_kernels.h
// for the pair layout, by way of the float32 panel packing of pack_panel_8x8.h on the 32-bit
// pair units (core/bf16.h's pack_pairs: rows rounded in a vectorizable loop, then 8 x 8
// register transposes).
// Internal linkage, like everything under native/kernels/x86/ (see transpose_8x8.h).
#pragma once
#include <stdint.h>

#include "core/bf16.h"
#include "kernels/x86/pack_panel_8x8.h"

namespace mha_x86 {
namespace {

// The pack_a / pack_b entry point of a pair-layout table with tile MR x NR.
template <int MR, int NR>
void pack_bf16_pairs(mha_bf16* dst, const float* src, int w, int valid, int64_t k, int64_t so,
                     int64_t sd) {
  mha_bf16_detail::pack_pairs(dst, src, w, valid, k, so, sd, pack<MR, NR>);
}

}  // namespace
}  // namespace mha_x86
