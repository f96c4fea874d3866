// The GEMM micro-kernel contract and the per-ISA kernel table (one per instruction set,
// defined next to its micro-kernel in native/kernels/<isa>/; dispatch.cc picks one).
//
// Micro-kernel contract (mha_sgemm_ukernel):
//   ukernel(k, a, b, c, ldc, alpha, beta) computes one full mr x nr tile
//     C = alpha * A * B + beta * C
//   - a: packed A micro-panel, k steps of mr floats: a[p*mr + i] = A(i, p).
//   - b: packed B micro-panel, k steps of nr floats: b[p*nr + j] = B(p, j).
//   - c: row-major tile, element (i, j) at c[i*ldc + j]; all mr x nr elements are valid memory.
//   - beta == 0: C is written without being read (NaN/garbage in C never propagates).
//   - k >= 1. Panels are zero-padded by the framework, so the kernel never branches on edges;
//     edge tiles of C are computed by the framework into a local mr x nr buffer and the valid
//     part copied, so a kernel never reads or writes outside its mr x nr tile.
//   - No alignment is promised for a, b or c (the framework aligns packed panels to 64 bytes).
//
// Block sizes (Goto/BLIS loops; the framework rounds them to mr/nr multiples):
//   kc: depth of one packed block; a kc x nr B micro-panel is meant to stay in L1.
//   mc: rows of one packed A block (mc x kc), meant to stay in L2.
//   nc: columns of B walked per A block (the kc x nc B block streams from L3).
#pragma once
#include <stdint.h>

typedef void (*mha_sgemm_ukernel)(int64_t k, const float* a, const float* b, float* c,
                                  int64_t ldc, float alpha, float beta);

#define MHA_GEMM_MAX_TILE 1024  // mr * nr may not exceed this (the framework's edge-tile buffer)

typedef struct mha_gemm_kernels {
  const char* name;  // the micro-kernel's name, e.g. "sgemm_avx512_12x32"
  int mr, nr;        // micro-tile
  int mc, kc, nc;    // cache blocks
  mha_sgemm_ukernel ukernel;
} mha_gemm_kernels;

extern const mha_gemm_kernels mha_gemm_kernels_scalar;
#if defined(MHA_HAVE_AVX2)
extern const mha_gemm_kernels mha_gemm_kernels_avx2;
#endif
#if defined(MHA_HAVE_AVX512)
extern const mha_gemm_kernels mha_gemm_kernels_avx512;
#endif
#if defined(MHA_HAVE_NEON)
extern const mha_gemm_kernels mha_gemm_kernels_neon;
#endif
