// The NEON attention kernels, collected into mha_attn_kernels_neon by attn_f32_neon_6x16_4x16.cc.
#pragma once
#include "core/attn_kernels.h"

namespace mha_neon {
float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m);
float exp_sum_row(float* y, int64_t n, float max);
void scale_row(float* y, int64_t n, float a);
}  // namespace mha_neon
