// The AVX-512 attention kernels, collected into mha_attn_kernels_avx512 by
// attn_f32_avx512_6x64.cc. Compiled only with the avx512 flags of native/isa.json.
#pragma once
#include "core/attn_kernels.h"

namespace mha_avx512 {
float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m);
float exp_sum_row(float* y, int64_t n, float max);
void scale_row(float* y, int64_t n, float a);
}  // namespace mha_avx512
