// The block rules of gemm_blocking.h.
#include "core/gemm_blocking.h"

namespace {

// floor(bytes / unit_bytes) rounded down to a multiple of granule, at least one granule.
int fit(int64_t bytes, int64_t unit_bytes, int granule) {
  int64_t n = bytes / unit_bytes / granule * granule;
  if (n < granule) n = granule;
  if (n > (1 << 20)) n = (1 << 20) / granule * granule;
  return (int)n;
}

}  // namespace

mha_gemm_blocks mha_gemm_blocking(mha_cache_sizes caches, int mr, int nr, int elem_bytes,
                                  int kstep, mha_gemm_blocks fallback) {
  if (caches.l1d <= 0 || caches.l2 <= 0) return fallback;
  mha_gemm_blocks b;
  b.kc = fit(caches.l1d * 3 / 8, (int64_t)mr * elem_bytes, kstep);
  b.nc = fit(caches.l2 / 2, (int64_t)b.kc * elem_bytes, nr);
  b.mc = fit(caches.l2 / 4, (int64_t)b.kc * elem_bytes, mr);
  return b;
}

mha_gemm_kernels mha_gemm_kernels_blocked(const mha_gemm_kernels* kt, mha_cache_sizes caches) {
  mha_gemm_kernels out = *kt;
  const mha_gemm_blocks b =
      mha_gemm_blocking(caches, kt->mr, kt->nr, sizeof(float), 1, {kt->mc, kt->kc, kt->nc});
  out.mc = b.mc, out.kc = b.kc, out.nc = b.nc;
  return out;
}

mha_sbgemm_kernels mha_sbgemm_kernels_blocked(const mha_sbgemm_kernels* kt,
                                              mha_cache_sizes caches) {
  mha_sbgemm_kernels out = *kt;
  const mha_gemm_blocks b = mha_gemm_blocking(caches, kt->mr, kt->nr, sizeof(mha_bf16),
                                              kt->kstep, {kt->mc, kt->kc, kt->nc});
  out.mc = b.mc, out.kc = b.kc, out.nc = b.nc;
  return out;
}
