// The one kernel table: chosen once (thread-safe static initialization) from the CPU's
// features, optionally lowered by MHA_NATIVE_ISA=scalar|avx2|avx512|neon. A request for an
// ISA this CPU (or this build) lacks falls back to the best supported one; `isa` always
// names the kernel set actually in use. The table is immutable afterwards.
#include "core/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"

namespace {

struct Candidate { const char* isa; const mha_gemm_kernels* gemm; const mha_attn_kernels* attn; bool supported; };

mha_kernel_table choose() {
  mha_cpu_features cpu = mha_cpu_detect();
  // Best first; the scalar set is always available.
  const Candidate candidates[] = {
#if defined(MHA_HAVE_AVX512)
    {"avx512", &mha_gemm_kernels_avx512, &mha_attn_kernels_avx512, cpu.avx512 != 0},
#endif
#if defined(MHA_HAVE_AVX2)
    {"avx2", &mha_gemm_kernels_avx2, &mha_attn_kernels_avx2, cpu.avx2_fma != 0},
#endif
#if defined(MHA_HAVE_NEON)
    {"neon", &mha_gemm_kernels_neon, &mha_attn_kernels_neon, cpu.neon != 0},
#endif
    {"scalar", &mha_gemm_kernels_scalar, &mha_attn_kernels_scalar, true},
  };
  const size_t count = sizeof(candidates) / sizeof(candidates[0]);
  size_t best = 0;
  while (!candidates[best].supported) ++best;
  size_t pick = best;
  const char* forced = getenv("MHA_NATIVE_ISA");
  if (forced && *forced) {
    for (size_t i = best; i < count; ++i) {
      if (strcmp(forced, candidates[i].isa) == 0 && candidates[i].supported) { pick = i; break; }
    }
  }
  (void)cpu;
  return mha_kernel_table{candidates[pick].isa, candidates[pick].gemm, candidates[pick].attn};
}

}  // namespace

const mha_kernel_table* mha_kernels(void) {
  static const mha_kernel_table table = choose();
  return &table;
}
