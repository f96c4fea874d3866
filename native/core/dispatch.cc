// The one kernel table: chosen once (thread-safe static initialization) from the CPU's
// features, optionally lowered by MHA_NATIVE_ISA. The levels, best first:
//   amx          avx512 float32 kernels, AMX-BF16 bfloat16 GEMM, AVX512-BF16 attention products
//   avx512bf16   avx512 float32 kernels, AVX512-BF16 bfloat16 GEMM and attention products
//   avx512       avx512 float32 kernels, emulated bfloat16 GEMM (zmm) and attention
//   avx2, neon, scalar: that float32 set, emulated bfloat16 GEMM and attention on the same vectors
// A request for a level this CPU (or this build) lacks falls back to the best supported one;
// `isa` always names the float32 kernel set actually in use, and bf16->path the bfloat16 one.
// The GEMM tables are copied once with blocks computed from the cache sizes; all of it is
// immutable afterwards.
#include "core/dispatch.h"

#include <stdlib.h>
#include <string.h>

#include "core/gemm_blocking.h"

namespace {

struct Candidate {
  const char* level;
  const char* isa;
  const mha_gemm_kernels* gemm;
  const mha_attn_kernels* attn;
  const mha_sbgemm_kernels* bf16;
  const mha_attn_bf16_kernels* attn_bf16;
  bool supported;
};

}  // namespace

mha_kernel_table mha_kernels_for(const char* request, mha_cpu_features cpu) {
  // Best first; the scalar set is always available.
  const Candidate candidates[] = {
#if defined(MHA_HAVE_AMX)
    {"amx", "avx512", &mha_gemm_kernels_avx512, &mha_attn_kernels_avx512, &mha_sbgemm_kernels_amx,
#if defined(MHA_HAVE_AVX512BF16)
     cpu.avx512_bf16 ? &mha_attn_bf16_kernels_avx512bf16 : nullptr,
#else
     nullptr,
#endif
     cpu.amx_bf16 != 0},
#endif
#if defined(MHA_HAVE_AVX512BF16)
    {"avx512bf16", "avx512", &mha_gemm_kernels_avx512, &mha_attn_kernels_avx512,
     &mha_sbgemm_kernels_avx512bf16, &mha_attn_bf16_kernels_avx512bf16, cpu.avx512_bf16 != 0},
#endif
#if defined(MHA_HAVE_AVX512)
    {"avx512", "avx512", &mha_gemm_kernels_avx512, &mha_attn_kernels_avx512,
     &mha_sbgemm_kernels_avx512, nullptr, cpu.avx512 != 0},
#endif
#if defined(MHA_HAVE_AVX2)
    {"avx2", "avx2", &mha_gemm_kernels_avx2, &mha_attn_kernels_avx2, &mha_sbgemm_kernels_avx2, nullptr,
     cpu.avx2_fma != 0},
#endif
#if defined(MHA_HAVE_NEON)
    {"neon", "neon", &mha_gemm_kernels_neon, &mha_attn_kernels_neon, &mha_sbgemm_kernels_neon, nullptr,
     cpu.neon != 0},
#endif
    {"scalar", "scalar", &mha_gemm_kernels_scalar, &mha_attn_kernels_scalar,
     &mha_sbgemm_kernels_scalar, nullptr, true},
  };
  const size_t count = sizeof(candidates) / sizeof(candidates[0]);
  size_t best = 0;
  while (!candidates[best].supported) ++best;
  size_t pick = best;
  if (request && *request) {
    for (size_t i = best; i < count; ++i) {
      if (strcmp(request, candidates[i].level) == 0 && candidates[i].supported) { pick = i; break; }
    }
  }
  const Candidate& c = candidates[pick];
  return mha_kernel_table{c.isa, c.gemm, c.attn, c.bf16, c.attn_bf16};
}

const mha_kernel_table* mha_kernels(void) {
  struct Blocked {
    mha_gemm_kernels gemm;
    mha_sbgemm_kernels bf16;
    mha_kernel_table table;
  };
  static const Blocked blocked = [] {
    const mha_kernel_table chosen = mha_kernels_for(getenv("MHA_NATIVE_ISA"), mha_cpu_detect());
    const mha_cache_sizes caches = mha_cpu_cache_sizes();
    Blocked b{mha_gemm_kernels_blocked(chosen.gemm, caches),
              mha_sbgemm_kernels_blocked(chosen.bf16, caches), chosen};
    return b;
  }();
  static const mha_kernel_table table{blocked.table.isa, &blocked.gemm, blocked.table.attn,
                                      &blocked.bf16, blocked.table.attn_bf16};
  return &table;
}
