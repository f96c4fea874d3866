// GEMM cache blocks (mc, kc, nc of core/gemm_kernels.h) from the data cache sizes
// (core/cpu.h), for a kernel of micro-tile mr x nr on panel elements of elem_bytes bytes.
// The rules follow the framework's loop order (core/gemm_driver.h: ... -> jc -> ir -> jr):
//   kc: the mr x kc A micro-panel stays in L1 while the kc x nr B micro-panels stream past it,
//       one after another, from L2. It takes 3/8 of L1D: the rest holds the B lines in flight
//       (the kernels prefetch a few depth steps ahead), the C tile and the stack; a deeper kc
//       pays the C tile's loads and stores over more multiply-adds. (The rule for the other
//       loop order, A and B micro-panels together in half of L1, gives a kc under half as
//       deep for the 12 x 32 tiles, and a slower GEMM: here B never needs to stay in L1.)
//   nc: the kc x nc B block, walked once per A micro-panel, stays in L2: half of it, the other
//       half holding the A block's micro-panels on their way to L1, the C tiles and the
//       packing buffers.
//   mc: the mc x kc A block, packed once per depth block and read once per nc columns: a
//       quarter of L2, so it is mostly still there when the next column block reads it.
// Each is rounded down to its granule (kc: kstep; mc: mr; nc: nr), and is at least one
// granule. Without L1D and L2 sizes (CPUID gave none, or not x86) the table's own blocks, its
// fallback, are kept. L3 bounds nothing here: the A block is re-read from L2.
#pragma once
#include "core/cpu.h"

typedef struct mha_gemm_blocks {
  int mc, kc, nc;
} mha_gemm_blocks;

mha_gemm_blocks mha_gemm_blocking(mha_cache_sizes caches, int mr, int nr, int elem_bytes,
                                  int kstep, mha_gemm_blocks fallback);

// A copy of a kernel table with its blocks computed from `caches` (dispatch.cc fills the one
// table with these, once; the tests call them with forced sizes).
#include "core/gemm_kernels.h"
mha_gemm_kernels mha_gemm_kernels_blocked(const mha_gemm_kernels* kt, mha_cache_sizes caches);
mha_sbgemm_kernels mha_sbgemm_kernels_blocked(const mha_sbgemm_kernels* kt,
                                              mha_cache_sizes caches);
