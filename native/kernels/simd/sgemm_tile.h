// The SGEMM micro-kernel of core/gemm_kernels.h, written once for any vector type V of vec.h
// with the tile MR x (NV * N): MR * NV accumulators, NV registers for a row of the B
// micro-panel, one for the broadcast A element; per depth step NV loads of B, MR broadcasts
// of A and MR * NV FMAs. Two forms: A packed (a[p * kAStep + i], kAStep = MR except in the
// edge-row kernels, which compute the first rows of a tile packed kAStep rows wide) or read
// in place from row-major storage (kDirectA: a[i * lda + p]).
// The B micro-panel streams from L2 past the A micro-panel held in L1, or from memory when a
// projection of a few tokens reads each weight once: every depth step also prefetches the
// cache lines of B kPrefetchBytes ahead (past the panel's end, the next panel of the packed
// block; a prefetch never faults), so they arrive before the step that loads them. The C
// tile is not prefetched in here: the framework does it before the call, and the kernel
// touches C only after its depth loop (store_tile, shared with the bfloat16 tile of
// sbgemm_tile.h).
#pragma once
#include <stdint.h>

#include <array>
#include <utility>

#include "core/tuning.h"
#include "kernels/simd/vec.h"

namespace mha_simd {
namespace {

// The prefetch distance: far enough ahead to cover a memory access at the rate a streamed
// panel is consumed (each B element used by a few rows only), which also covers L2.
constexpr int kPrefetchBytes = 4096;
constexpr int kPrefetchB = kPrefetchBytes / sizeof(float);
constexpr int kCacheLineFloats = mha::kCacheLineBytes / sizeof(float);

// acc = 0, and C = alpha * acc + beta * C for an MR x (NV * N) tile of accumulators (beta == 0: C is not
// read). Fully unrolled (like the kernels' loops) so the accumulators stay in registers.
template <class V, int MR, int NV>
__attribute__((always_inline)) inline void store_tile(const typename V::F (&acc)[MR][NV], float* c,
                                                      int64_t ldc, float alpha, float beta) {
  constexpr int N = V::N;
  const typename V::F va = V::set1(alpha);
  if (beta == 0.0f) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) V::store(c + i * ldc + N * v, V::mul(va, acc[i][v]));
  } else {
    const typename V::F vb = V::set1(beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) {
        float* cv = c + i * ldc + N * v;
        V::store(cv, V::fmadd(vb, V::load(cv), V::mul(va, acc[i][v])));
      }
  }
}

template <class V, int MR, int NV>
__attribute__((always_inline)) inline void zero_tile(typename V::F (&acc)[MR][NV]) {
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) acc[i][v] = V::zero();
}

template <class V, int MR, int NV, bool kDirectA, int kAStep = MR>
inline void sgemm_tile(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                       float alpha, float beta) {
  constexpr int N = V::N;
  typename V::F acc[MR][NV];
  zero_tile<V, MR, NV>(acc);
  for (int64_t p = 0; p < k; ++p, a += kDirectA ? 1 : kAStep, b += NV * N) {
#pragma GCC unroll 16
    for (int o = 0; o < NV * N; o += kCacheLineFloats) __builtin_prefetch(b + kPrefetchB + o, 0, 3);
    typename V::F bv[NV];
#pragma GCC unroll 16
    for (int v = 0; v < NV; ++v) bv[v] = V::load(b + N * v);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const typename V::F ai = V::set1(kDirectA ? a[i * lda] : a[i]);
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) acc[i][v] = V::fmadd(ai, bv[v], acc[i][v]);
    }
  }
  store_tile<V, MR, NV>(acc, c, ldc, alpha, beta);
}

// The packed-A and direct-A entry points of gemm_kernels.h for the tile MR x (NV * N).
template <class V, int MR, int NV>
void sgemm(int64_t k, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta) {
  sgemm_tile<V, MR, NV, false>(k, a, 0, b, c, ldc, alpha, beta);
}

template <class V, int MR, int NV>
void sgemm_direct_a(int64_t k, const float* a, int64_t lda, const float* b, float* c, int64_t ldc,
                    float alpha, float beta) {
  sgemm_tile<V, MR, NV, true>(k, a, lda, b, c, ldc, alpha, beta);
}

// The edge-row entry point of gemm_kernels.h: the first `rows` (1 <= rows < MR) rows of an
// MR x (NV * N) tile, A packed MR wide, through the kernel of exactly that many rows.
template <class V, int MR, int NV, size_t... R>
constexpr std::array<void (*)(int64_t, const float*, int64_t, const float*, float*, int64_t, float, float),
                     sizeof...(R)>
sgemm_rows_table(std::index_sequence<R...>) {
  return {sgemm_tile<V, int(R) + 1, NV, false, MR>...};
}

template <class V, int MR, int NV>
void sgemm_rows(int64_t k, int rows, const float* a, const float* b, float* c, int64_t ldc, float alpha,
                float beta) {
  static constexpr auto kByRows = sgemm_rows_table<V, MR, NV>(std::make_index_sequence<MR - 1>());
  kByRows[rows - 1](k, a, 0, b, c, ldc, alpha, beta);
}

}  // namespace
}  // namespace mha_simd
