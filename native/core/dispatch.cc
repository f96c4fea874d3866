// Bootstrap dispatch: the scalar kernel set only (the CPUID-driven table replaces this).
#include "core/dispatch.h"

static const mha_gemm_kernels scalar_gemm = {1, 1};
static const mha_kernel_table scalar_table = {"scalar", &scalar_gemm, &mha_attn_kernels_scalar};

const mha_kernel_table* mha_kernels(void) { return &scalar_table; }
