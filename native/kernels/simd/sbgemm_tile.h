// The bfloat16 GEMM micro-kernel of core/gemm_kernels.h (mha_sbgemm_ukernel), written once for
// a vector type V of vec.h and a pair type P that says how a 32-bit pair of bfloat16 values
// (depths 2q and 2q + 1, the pair layout of the panels) enters the float32 accumulators.
// Tile MR x (NV * N): MR * NV accumulators; per pair of depth steps NV vectors of B pairs and
// MR pairs of A, as in sgemm_tile.h (whose store_tile writes C).
// P provides (all static, inline):
//   kDot   true: one instruction adds both products of a pair to each lane (vdpbf16ps):
//            Pairs, load(b)       N column pairs from b (2N bfloat16)
//            APair, bcast(a)      the pair at a in every lane
//            dot(acc, a, b)       acc + a.lo * b.lo + a.hi * b.hi per lane
//          false: the pair is widened to float32 (bits << 16) and taken one depth at a time:
//            widen(b, s)          the N columns' depth 2q + s (s = 0, 1) as float32 lanes
//            widen_bcast(a, s)    A's depth 2q + s in every lane
// The B micro-panel streams from L2 (or memory) past the A micro-panel held in L1, prefetched
// kPrefetchBytes ahead as in sgemm_tile.h; k is even (panels padded to pairs).
#pragma once
#include <stdint.h>
#include <string.h>

#include <array>
#include <utility>

#include "core/gemm_kernels.h"
#include "core/tuning.h"
#include "kernels/simd/sgemm_tile.h"

namespace mha_simd {
namespace {

constexpr int kPrefetchBf16 = kPrefetchBytes / sizeof(mha_bf16);
constexpr int kCacheLineBf16 = mha::kCacheLineBytes / sizeof(mha_bf16);

// The float32 bits of depth 2q + s (s = 0, 1) of the pair at a: the value an emulated kernel
// broadcasts.
inline uint32_t widened_bits(const mha_bf16* a, int s) {
  uint32_t u;
  memcpy(&u, a, sizeof u);
  return s == 0 ? u << 16 : u & 0xffff0000u;
}

template <class V, class P, int MR, int NV, int kAStep = MR>
inline void sbgemm_tile(int64_t k, const mha_bf16* a, const mha_bf16* b, float* c, int64_t ldc,
                        float alpha, float beta) {
  constexpr int N = V::N;
  typename V::F acc[MR][NV];
  zero_tile<V, MR, NV>(acc);
  for (int64_t q = 0; q < k; q += 2, a += 2 * kAStep, b += 2 * NV * N) {
#pragma GCC unroll 16
    for (int o = 0; o < 2 * NV * N; o += kCacheLineBf16) __builtin_prefetch(b + kPrefetchBf16 + o, 0, 3);
    if constexpr (P::kDot) {
      typename P::Pairs bv[NV];
#pragma GCC unroll 16
      for (int v = 0; v < NV; ++v) bv[v] = P::load(b + 2 * N * v);
#pragma GCC unroll 16
      for (int i = 0; i < MR; ++i) {
        const typename P::APair ai = P::bcast(a + 2 * i);
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) acc[i][v] = P::dot(acc[i][v], ai, bv[v]);
      }
    } else {
#pragma GCC unroll 2
      for (int s = 0; s < 2; ++s) {
        typename V::F bv[NV];
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v) bv[v] = P::widen(b + 2 * N * v, s);
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
          const typename V::F ai = P::widen_bcast(a + 2 * i, s);
#pragma GCC unroll 16
          for (int v = 0; v < NV; ++v) acc[i][v] = V::fmadd(ai, bv[v], acc[i][v]);
        }
      }
    }
  }
  store_tile<V, MR, NV>(acc, c, ldc, alpha, beta);
}

// The full-tile entry point of gemm_kernels.h for the tile MR x (NV * N).
template <class V, class P, int MR, int NV>
void sbgemm(int64_t k, const mha_bf16* a, const mha_bf16* b, float* c, int64_t ldc, float alpha,
            float beta) {
  sbgemm_tile<V, P, MR, NV>(k, a, b, c, ldc, alpha, beta);
}

// The edge-row entry point: the first `rows` (1 <= rows < MR) rows, A packed MR wide.
template <class V, class P, int MR, int NV, size_t... R>
constexpr std::array<void (*)(int64_t, const mha_bf16*, const mha_bf16*, float*, int64_t, float, float),
                     sizeof...(R)>
sbgemm_rows_table(std::index_sequence<R...>) {
  return {sbgemm_tile<V, P, int(R) + 1, NV, MR>...};
}

template <class V, class P, int MR, int NV>
void sbgemm_rows(int64_t k, int rows, const mha_bf16* a, const mha_bf16* b, float* c, int64_t ldc,
                 float alpha, float beta) {
  static constexpr auto kByRows = sbgemm_rows_table<V, P, MR, NV>(std::make_index_sequence<MR - 1>());
  kByRows[rows - 1](k, a, b, c, ldc, alpha, beta);
}

}  // namespace
}  // namespace mha_simd
