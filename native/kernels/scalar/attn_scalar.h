// The scalar attention kernels (portable C++; the compiler may auto-vectorize them for the
// baseline ISA). Collected into mha_attn_kernels_scalar by attn_f32_scalar_1x1.cc.
#pragma once
#include "core/attn_kernels.h"

namespace mha_scalar {
float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m);
float exp_sum_row(float* y, int64_t n, float max);
void scale_row(float* y, int64_t n, float a);
}  // namespace mha_scalar
