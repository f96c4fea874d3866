// The one kernel table, filled once at load from CPUID + XGETBV (and MHA_NATIVE_ISA, which
// may only lower the choice), with GEMM blocks computed from the cache sizes (CPUID, or
// MHA_NATIVE_CACHE_SIZES; core/gemm_blocking.h), immutable afterwards and shared by every
// thread. Only dispatch.cc knows which ISAs exist; each ISA's kernel files define its
// sub-tables.
#pragma once
#include "core/attn_kernels.h"
#include "core/cpu.h"
#include "core/gemm_kernels.h"

typedef struct mha_kernel_table {
  const char* isa;  // the float32 kernel set: "avx512", "avx2", "neon" or "scalar"
  const mha_gemm_kernels* gemm;
  const mha_attn_kernels* attn;
  const mha_sbgemm_kernels* bf16;  // bf16->path: "amx", "avx512bf16" or "emulated"
  const mha_attn_bf16_kernels* attn_bf16;  // the attention's bfloat16 products; NULL: emulated
} mha_kernel_table;

const mha_kernel_table* mha_kernels(void);

// The kernel sets picked for an MHA_NATIVE_ISA value (NULL or "": none) on a CPU with the
// given features, with the tables' own (fallback) blocks; mha_kernels() is this for the
// environment and mha_cpu_detect(), with computed blocks. For the tests.
mha_kernel_table mha_kernels_for(const char* request, mha_cpu_features cpu);
