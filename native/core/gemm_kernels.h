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
// Direct-A variant (mha_sgemm_ukernel_direct_a, optional per ISA; NULL = always pack A):
//   the same tile, but A is read unpacked from row-major storage: A(i, p) = a[i*lda + p]
//   (all mr rows and k columns valid). Used for small GEMMs, where packing A would cost a
//   large share of the time (e.g. attention heads with K = 64).
//
// Edge-row variant (mha_sgemm_ukernel_rows, optional per ISA; NULL = edge rows go through
//   the framework's buffer): ukernel_rows(k, rows, a, b, c, ldc, alpha, beta) computes only the
//   first `rows` rows (1 <= rows < mr) of a full-width tile, a being the packed, zero-padded
//   mr-wide A micro-panel; only those rows x nr elements of C are read or written. It spends
//   no work on the padding rows (an M = 32 GEMM on a 12-row tile: 32 rows computed, not 36).
//
// Panel packing contract (mha_pack_panel, optional per ISA; NULL = the framework's portable one):
//   pack(dst, src, w, valid, k, so, sd) writes one w-wide panel of depth k:
//     dst[p*w + r] = src[r*so + p*sd] for r < valid,  0 for valid <= r < w   (0 <= p < k)
//   w is the table's mr (A panels) or nr (B panels); so/sd are the source strides along the
//   panel's width and depth (one of them is 1).
//
// Block sizes (Goto/BLIS loops; the framework rounds them to mr/nr multiples; dispatch.cc
// replaces a table's values, its fallback, with blocks computed from the CPU's cache sizes,
// core/gemm_blocking.h):
//   kc: depth of one packed block; an mr x kc A micro-panel is meant to stay in L1 while the
//       kc x nr B micro-panels stream past it (mr broadcasts come from L1 every depth step).
//   mc: rows of one packed A block (mc x kc, packed once per depth block by the task's thread).
//   nc: columns of B walked at a time per A block; the kc x nc B block is meant to stay in
//       L2 beside the A block.
//
// ---- bfloat16 GEMM (mha_sbgemm_kernels): bfloat16 operands, float32 accumulation and C.
// A bfloat16 is the top half of a float32 (mha_bf16, core/bf16.h); operands are rounded to it
// (to nearest, ties to even) while packing, so every table's panels hold the same values.
// Panel layouts, for a depth granule g (the table's kstep, a power of two >= 2; panels are
// zero-padded to a multiple of g in depth and to the full width w):
//   chunked: element (r, p) of a w-wide panel at dst[(p / g) * g * w + g * r + p % g]:
//     the depth runs in chunks of g consecutive elements per row, rows side by side.
//   B panels are always chunked with g = 2 (the "pair" layout: B(2q, j) and B(2q + 1, j)
//     adjacent, the 32-bit unit that vdpbf16ps, tdpbf16ps and the widening kernels consume);
//   A panels are chunked with the table's kstep: pairs (g = 2) for the vector kernels, whole
//     tile rows (g = 32: 16 pairs, 64 bytes) for AMX, whose A tiles are row-major.
// Micro-kernel contract (mha_sbgemm_ukernel):
//   ukernel(k, a, b, c, ldc, alpha, beta): one full mr x nr tile, C = alpha * A * B + beta * C,
//   like the float32 one, with k a multiple of kstep (the padded depth: padding is zero in
//   both panels), a and b packed as above, float32 C row-major (beta == 0: C not read).
//   Results: the products of two bfloat16 values are exact in float32, so every kernel agrees
//   up to the order of its float32 additions; the AVX512-BF16 and AMX instructions also treat
//   bfloat16 denormals as zero (the emulated kernels do not).
// Edge-row variant (mha_sbgemm_ukernel_rows, optional): the first `rows` rows of a tile, A
//   packed mr wide, as for float32.
// Panel packing (mha_pack_panel_bf16): pack(dst, src, w, valid, k, so, sd) rounds and writes
//   one w-wide chunked panel of depth round_up(k, g) from float32 src (strides as for float32),
//   g being the function's own granule: pack_a (g = kstep) and pack_b (g = 2) in a table;
//   NULL = the framework's portable packing of that layout.
// Blocks: as for float32, in bfloat16 elements (kc is rounded to a multiple of kstep).
#pragma once
#include <stdint.h>

typedef void (*mha_sgemm_ukernel)(int64_t k, const float* a, const float* b, float* c,
                                  int64_t ldc, float alpha, float beta);

#define MHA_GEMM_MAX_TILE 1024  // mr * nr may not exceed this (the framework's edge-tile buffer)

typedef void (*mha_sgemm_ukernel_direct_a)(int64_t k, const float* a, int64_t lda,
                                           const float* b, float* c, int64_t ldc, float alpha,
                                           float beta);

typedef void (*mha_sgemm_ukernel_rows)(int64_t k, int rows, const float* a, const float* b,
                                       float* c, int64_t ldc, float alpha, float beta);

typedef void (*mha_pack_panel)(float* dst, const float* src, int w, int valid, int64_t k,
                               int64_t so, int64_t sd);

typedef struct mha_gemm_kernels {
  const char* name;  // the micro-kernel's name, e.g. "sgemm_avx512_12x32"
  int mr, nr;        // micro-tile
  int mc, kc, nc;    // cache blocks
  mha_sgemm_ukernel ukernel;
  mha_sgemm_ukernel_direct_a ukernel_direct_a;  // NULL: A is always packed
  mha_pack_panel pack;  // NULL: the framework's portable packing
  mha_sgemm_ukernel_rows ukernel_rows;  // NULL: edge rows through the framework's buffer
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

typedef uint16_t mha_bf16;

typedef void (*mha_sbgemm_ukernel)(int64_t k, const mha_bf16* a, const mha_bf16* b, float* c,
                                   int64_t ldc, float alpha, float beta);

typedef void (*mha_sbgemm_ukernel_rows)(int64_t k, int rows, const mha_bf16* a,
                                        const mha_bf16* b, float* c, int64_t ldc, float alpha,
                                        float beta);

typedef void (*mha_pack_panel_bf16)(mha_bf16* dst, const float* src, int w, int valid, int64_t k,
                                    int64_t so, int64_t sd);

typedef struct mha_sbgemm_kernels {
  const char* name;  // the micro-kernel's name, e.g. "sbgemm_avx512bf16_12x32"
  const char* path;  // "amx", "avx512bf16" or "emulated" (float32 arithmetic on widened values)
  int mr, nr;        // micro-tile
  int kstep;         // depth granule: A panels chunked by it, k a multiple of it
  int mc, kc, nc;    // cache blocks, in elements
  mha_sbgemm_ukernel ukernel;
  mha_sbgemm_ukernel_rows ukernel_rows;  // NULL: edge rows through the framework's buffer
  mha_pack_panel_bf16 pack_a;            // NULL: portable, chunked by kstep
  mha_pack_panel_bf16 pack_b;            // NULL: portable, pairs
} mha_sbgemm_kernels;

extern const mha_sbgemm_kernels mha_sbgemm_kernels_scalar;
#if defined(MHA_HAVE_AVX2)
extern const mha_sbgemm_kernels mha_sbgemm_kernels_avx2;
#endif
#if defined(MHA_HAVE_AVX512)
extern const mha_sbgemm_kernels mha_sbgemm_kernels_avx512;
#endif
#if defined(MHA_HAVE_AVX512BF16)
extern const mha_sbgemm_kernels mha_sbgemm_kernels_avx512bf16;
#endif
#if defined(MHA_HAVE_AMX)
extern const mha_sbgemm_kernels mha_sbgemm_kernels_amx;
#endif
#if defined(MHA_HAVE_NEON)
extern const mha_sbgemm_kernels mha_sbgemm_kernels_neon;
#endif
