// The attention products of core/attn_kernels.h (scores, pv, dots), written once for any
// vector type V of vec.h.
//  scores and pv: one register tile of C (+)= A.B, kTileRows x kTileVectors vectors of
//    accumulators, a row segment of B in kTileVectors registers, A broadcast from memory;
//    for scores A = Q and B = K^T, for pv A = P and B = V (accumulating). One column block
//    of B (k x kTileVectors*N, a few tens of KB) stays in L1 while every block of rows
//    passes over it.
//  dots (decode, one query): 4 keys at a time, N floats of d per FMA, horizontal sums at the
//    end; K is read once, straight from memory.
// Column tails go through partial accesses: nothing past a row's end is read or written
// (K^T tiles are zero-padded to MHA_ATTN_KT_PAD all the same).
#pragma once
#include <stdint.h>

#include <array>
#include <utility>

#include "core/attn_kernels.h"
#include "kernels/simd/softmax_rows.h"
#include "kernels/simd/vec.h"

namespace mha_simd {
namespace {

// c[MR x cols] = a[MR x k] . b[k x cols] (kAccumulate: c += ...), a and b row-major with row
// strides lda and ldb, cols <= N * NV: the last vector is the partial `last`.
template <class V, bool kAccumulate, int MR, int NV>
void tile(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t k, float* c, int64_t ldc,
          typename V::Part last) {
  constexpr int N = V::N;
  typename V::F acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) acc[r][v] = kAccumulate ? V::load(c + r * ldc + N * v) : V::zero();
    acc[r][NV - 1] = kAccumulate ? V::load(c + r * ldc + N * (NV - 1), last) : V::zero();
  }
  for (int64_t p = 0; p < k; ++p) {
    typename V::F bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) bv[v] = V::load(b + p * ldb + N * v);
    bv[NV - 1] = V::load(b + p * ldb + N * (NV - 1), last);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const typename V::F ab = V::set1(a[r * lda + p]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = V::fmadd(ab, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) V::store(c + r * ldc + N * v, acc[r][v]);
    V::store(c + r * ldc + N * (NV - 1), acc[r][NV - 1], last);
  }
}

template <class V>
using TileFn = void (*)(const float*, int64_t, const float*, int64_t, int64_t, float*, int64_t,
                        typename V::Part);

// kTiles<V, kAccumulate>[rows - 1][vectors - 1]: the tile of every smaller shape, for the edges.
template <class V, bool kAccumulate, int MR, size_t... NV>
constexpr std::array<TileFn<V>, sizeof...(NV)> tile_row(std::index_sequence<NV...>) {
  return {tile<V, kAccumulate, MR, int(NV) + 1>...};
}
template <class V, bool kAccumulate, size_t... MR>
constexpr auto tile_table(std::index_sequence<MR...>) {
  return std::array<std::array<TileFn<V>, V::kTileVectors>, sizeof...(MR)>{
      tile_row<V, kAccumulate, int(MR) + 1>(std::make_index_sequence<V::kTileVectors>())...};
}
template <class V, bool kAccumulate>
constexpr auto kTiles = tile_table<V, kAccumulate>(std::make_index_sequence<V::kTileRows>());

// c[rows x n] (+)= a[rows x k] . b[k x n], tile by tile: one column block of b at a time,
// every row block over it.
template <class V, bool kAccumulate>
void product(const float* a, int64_t lda, const float* b, int64_t ldb, int64_t rows, int64_t n,
             int64_t k, float* c, int64_t ldc) {
  constexpr int64_t N = V::N, MR = V::kTileRows, W = V::kTileVectors * V::N;
  for (int64_t j = 0; j < n; j += W) {
    const int64_t cols = n - j < W ? n - j : W, nv = (cols + N - 1) / N;
    const typename V::Part last = V::part(cols - N * (nv - 1));
    for (int64_t r = 0; r < rows; r += MR)
      kTiles<V, kAccumulate>[(rows - r < MR ? rows - r : MR) - 1][nv - 1](a + r * lda, lda, b + j, ldb, k,
                                                                          c + r * ldc + j, ldc, last);
  }
}

// s[r * lds + j] = q[r * ldq + :d] . kt[:d, j]
template <class V>
void scores(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  product<V, false>(q, ldq, kt, ldkt, rows, n, d, s, lds);
}

// acc[r * ldacc + c] += sum_j p[r * ldp + j] * v[j * ldv + c]
template <class V>
void pv(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc) {
  product<V, true>(p, ldp, v, ldv, rows, dv, n, acc, ldacc);
}

// s[j] = q[:d] . k[j * ldk + :d]
template <class V>
void dots(const float* q, const float* k, int64_t ldk, int64_t n, int64_t d, float* s) {
  using F = typename V::F;
  constexpr int64_t N = V::N;
  const int64_t dfull = d - d % N;
  const typename V::Part tail = V::part(d - dfull);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    F a0 = V::zero(), a1 = a0, a2 = a0, a3 = a0;
    const float* kj = k + j * ldk;
    for (int64_t c = 0; c < dfull; c += N) {
      const F qv = V::load(q + c);
      a0 = V::fmadd(qv, V::load(kj + c), a0);
      a1 = V::fmadd(qv, V::load(kj + ldk + c), a1);
      a2 = V::fmadd(qv, V::load(kj + 2 * ldk + c), a2);
      a3 = V::fmadd(qv, V::load(kj + 3 * ldk + c), a3);
    }
    if (dfull < d) {
      const F qv = V::load(q + dfull, tail);
      a0 = V::fmadd(qv, V::load(kj + dfull, tail), a0);
      a1 = V::fmadd(qv, V::load(kj + ldk + dfull, tail), a1);
      a2 = V::fmadd(qv, V::load(kj + 2 * ldk + dfull, tail), a2);
      a3 = V::fmadd(qv, V::load(kj + 3 * ldk + dfull, tail), a3);
    }
    V::hsum4(a0, a1, a2, a3, s + j);
  }
  for (; j < n; ++j) {
    const float* kj = k + j * ldk;
    F a0 = V::zero();
    for (int64_t c = 0; c < dfull; c += N) a0 = V::fmadd(V::load(q + c), V::load(kj + c), a0);
    if (dfull < d) a0 = V::fmadd(V::load(q + dfull, tail), V::load(kj + dfull, tail), a0);
    s[j] = V::hsum(a0);
  }
}

// The kernel table of one vector type: the shared row kernels and products above, and the
// unit's own K^T packing (NULL: the core's portable loop).
template <class V>
constexpr mha_attn_kernels attn_kernels(decltype(mha_attn_kernels::pack_kt) pack_kt) {
  return {mask_max_row<V>, exp_sum_row<V>, scale_row<V>, scores<V>, dots<V>, pv<V>, pack_kt};
}

}  // namespace
}  // namespace mha_simd
