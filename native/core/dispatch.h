// The one kernel table, filled once at load from CPUID + XGETBV (and MHA_NATIVE_ISA, which
// may only lower the choice), immutable afterwards and shared by every thread.
// Only dispatch.cc knows which ISAs exist; each ISA's kernel files define its sub-tables.
#pragma once
#include "core/attn_kernels.h"
#include "core/gemm_kernels.h"

typedef struct mha_kernel_table {
  const char* isa;  // "avx512", "avx2", "neon" or "scalar"
  const mha_gemm_kernels* gemm;
  const mha_attn_kernels* attn;
} mha_kernel_table;

const mha_kernel_table* mha_kernels(void);
