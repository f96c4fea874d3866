// The attention products of core/attn_kernels.h (scores, pv, dots) and its row conversions
// (widen_row, narrow_row), written once for any vector type V of vec.h.
//  scores and pv: one register tile of C (+)= A.B, kTileRows x kTileVectors vectors of
//    accumulators, a row segment of B in kTileVectors registers, A broadcast from memory;
//    for scores A = Q and B = K^T, for pv A = P and B = V (accumulating). One column block
//    of B (k x kTileVectors*N, a few tens of KB) stays in L1 while every block of rows
//    passes over it. The tiles are written against an operand policy (FloatOps below), so
//    the bfloat16 pair products (kernels/avx512bf16/) share them, edges included.
//  dots (decode, a few queries: the heads of a group): up to 4 query rows x 4 keys at a time,
//    N floats of d per FMA, horizontal sums at the end; K is read (and converted) once for
//    those rows, straight from memory; head sizes 64 and 128 are compiled for their size.
//  K and V are read as mha_kv_format says (KvLoad): float32, or 16-bit values widened in
//    registers (half the bytes from memory per key), optionally rounded to bfloat16.
// Column tails go through partial accesses: nothing past a row's end is read or written
// (K^T tiles are zero-padded to MHA_ATTN_KT_PAD all the same).
#pragma once
#include <stdint.h>

#include <array>
#include <type_traits>
#include <utility>

#include "core/attn_kernels.h"
#include "core/tuning.h"
#include "kernels/simd/softmax_rows.h"
#include "kernels/simd/vec.h"

namespace mha_simd {
namespace {

// N values of a K or V operand stored as St, as float32 lanes (kRound: rounded to bfloat16).
template <class V, mha_storage St, bool kRound>
struct KvLoad {
  using T = typename std::conditional<St == MHA_STORAGE_FLOAT32, float, uint16_t>::type;
  using F = typename V::F;
  static F rounded(F x) {
    if constexpr (kRound && St != MHA_STORAGE_BFLOAT16) return V::round_bf16(x);
    else return x;
  }
  static F load(const T* p) {
    if constexpr (St == MHA_STORAGE_FLOAT32) return rounded(V::load(p));
    else if constexpr (St == MHA_STORAGE_FLOAT16) return rounded(V::load_f16(p));
    else return V::load_bf16(p);
  }
  static F load(const T* p, typename V::Part part) {
    if constexpr (St == MHA_STORAGE_FLOAT32) return rounded(V::load(p, part));
    else if constexpr (St == MHA_STORAGE_FLOAT16) return rounded(V::load_f16(p, part));
    else return V::load_bf16(p, part);
  }
};

// fn(KvLoad<V, ...>()) for the format f (bfloat16 storage needs no rounding).
template <class V, class Fn>
void with_kv_load(mha_kv_format f, Fn fn) {
  switch (f.storage) {
    case MHA_STORAGE_FLOAT16:
      if (f.round_bf16) return fn(KvLoad<V, MHA_STORAGE_FLOAT16, true>());
      return fn(KvLoad<V, MHA_STORAGE_FLOAT16, false>());
    case MHA_STORAGE_BFLOAT16:
      return fn(KvLoad<V, MHA_STORAGE_BFLOAT16, false>());
    default:
      if (f.round_bf16) return fn(KvLoad<V, MHA_STORAGE_FLOAT32, true>());
      return fn(KvLoad<V, MHA_STORAGE_FLOAT32, false>());
  }
}

// Rows of K and V read in place come from memory, a few cache lines every row stride: each row
// is prefetched kStreamAheadBytes of rows ahead (its cache lines, for `count` elements), so that
// its misses overlap the products of the rows before it.
constexpr int64_t kStreamAheadBytes = 4096;
// The distance, in elements, from a row being read to the row prefetched with it:
// kStreamAheadBytes rounded up to whole rows of ld elements.
template <class T>
inline int64_t stream_ahead(int64_t ld) {
  const int64_t bytes = ld * int64_t(sizeof(T));
  return (kStreamAheadBytes + bytes - 1) / bytes * ld;
}
template <class T>
inline void prefetch_row(const T* row, int64_t count) {
  const char* p = reinterpret_cast<const char*>(row);
  for (int64_t o = 0; o < count * int64_t(sizeof(T)); o += mha::kCacheLineBytes) __builtin_prefetch(p + o);
}
template <class T>
inline void prefetch_ahead(const T* row, int64_t ld, int64_t count) {
  prefetch_row(row + stream_ahead<T>(ld), count);
}

// An operand policy says how a tile's depth steps go:
//   kStep                   depths per multiply-add (1 here; 2 for a bfloat16 pair policy)
//   A, B                    the element types of a and b
//   BRow, b(p), b(p, part)  N columns of B (kStep * N elements from p; part: the leading lanes)
//   ARow, a(p)              A's kStep elements at p in every lane
//   madd(acc, a, b)         acc + the products of a and b, per lane
// B's row for depths p .. p + kStep - 1 starts at b + (p / kStep) * ldb, column j's values at
// kStep * j in it. FloatOps: float32 A, B read through a KvLoad.
template <class V, class Load>
struct FloatOps {
  static constexpr int kStep = 1;
  using A = float;
  using B = typename Load::T;
  using BRow = typename V::F;
  using ARow = typename V::F;
  static BRow b(const B* p) { return Load::load(p); }
  static BRow b(const B* p, typename V::Part part) { return Load::load(p, part); }
  static ARow a(const A* p) { return V::set1(*p); }
  static typename V::F madd(typename V::F acc, ARow a, BRow b) { return V::fmadd(a, b, acc); }
};

// c[MR x cols] = a[MR x k] . b[k x cols] (kAccumulate: c += ...), a row-major with row stride
// lda, b as the policy O lays it out, cols <= N * NV: the last vector is the partial `last`.
template <class V, class O, bool kAccumulate, int MR, int NV>
void tile(const typename O::A* a, int64_t lda, const typename O::B* b, int64_t ldb, int64_t k, float* c,
          int64_t ldc, typename V::Part last) {
  constexpr int N = V::N, S = O::kStep;
  typename V::F acc[MR][NV];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) acc[r][v] = kAccumulate ? V::load(c + r * ldc + N * v) : V::zero();
    acc[r][NV - 1] = kAccumulate ? V::load(c + r * ldc + N * (NV - 1), last) : V::zero();
  }
  for (int64_t p = 0; p < k; p += S) {
    const typename O::B* bp = b + p / S * ldb;
    prefetch_ahead(bp, ldb, NV * S * N);
    typename O::BRow bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) bv[v] = O::b(bp + S * N * v);
    bv[NV - 1] = O::b(bp + S * N * (NV - 1), last);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const typename O::ARow ab = O::a(a + r * lda + p);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[r][v] = O::madd(acc[r][v], ab, bv[v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 8
    for (int v = 0; v < NV - 1; ++v) V::store(c + r * ldc + N * v, acc[r][v]);
    V::store(c + r * ldc + N * (NV - 1), acc[r][NV - 1], last);
  }
}

template <class V, class O>
using TileFn = void (*)(const typename O::A*, int64_t, const typename O::B*, int64_t, int64_t, float*, int64_t,
                        typename V::Part);

// kTiles<V, O, kAccumulate>[rows - 1][vectors - 1]: the tile of every smaller shape, for the edges.
template <class V, class O, bool kAccumulate, int MR, size_t... NV>
constexpr std::array<TileFn<V, O>, sizeof...(NV)> tile_row(std::index_sequence<NV...>) {
  return {tile<V, O, kAccumulate, MR, int(NV) + 1>...};
}
template <class V, class O, bool kAccumulate, size_t... MR>
constexpr auto tile_table(std::index_sequence<MR...>) {
  return std::array<std::array<TileFn<V, O>, V::kTileVectors>, sizeof...(MR)>{
      tile_row<V, O, kAccumulate, int(MR) + 1>(std::make_index_sequence<V::kTileVectors>())...};
}
template <class V, class O, bool kAccumulate>
constexpr auto kTiles = tile_table<V, O, kAccumulate>(std::make_index_sequence<V::kTileRows>());

// c[rows x n] (+)= a[rows x k] . b[k x n], tile by tile: one column block of b at a time,
// every row block over it.
template <class V, class O, bool kAccumulate>
void product(const typename O::A* a, int64_t lda, const typename O::B* b, int64_t ldb, int64_t rows, int64_t n,
             int64_t k, float* c, int64_t ldc) {
  constexpr int64_t N = V::N, MR = V::kTileRows, W = V::kTileVectors * V::N;
  for (int64_t j = 0; j < n; j += W) {
    const int64_t cols = n - j < W ? n - j : W, nv = (cols + N - 1) / N;
    const typename V::Part last = V::part(cols - N * (nv - 1));
    for (int64_t r = 0; r < rows; r += MR)
      kTiles<V, O, kAccumulate>[(rows - r < MR ? rows - r : MR) - 1][nv - 1](a + r * lda, lda, b + O::kStep * j, ldb,
                                                                             k, c + r * ldc + j, ldc, last);
  }
}

template <class V>
using PlainOps = FloatOps<V, KvLoad<V, MHA_STORAGE_FLOAT32, false>>;

// s[r * lds + j] = q[r * ldq + :d] . kt[:d, j]
template <class V>
void scores(const float* q, int64_t ldq, const float* kt, int64_t ldkt, int64_t rows, int64_t n,
            int64_t d, float* s, int64_t lds) {
  product<V, PlainOps<V>, false>(q, ldq, kt, ldkt, rows, n, d, s, lds);
}

// acc[r * ldacc + c] += sum_j p[r * ldp + j] * v[j * ldv + c]
template <class V>
void pv(const float* p, int64_t ldp, const void* v, int64_t ldv, int64_t rows, int64_t n,
        int64_t dv, float* acc, int64_t ldacc, mha_kv_format f) {
  with_kv_load<V>(f, [&](auto load) {
    using L = decltype(load);
    product<V, FloatOps<V, L>, true>(p, ldp, static_cast<const typename L::T*>(v), ldv, rows, dv, n, acc, ldacc);
  });
}

// s[r * lds + j + t] = q[r * ldq + :d] . k[(j + t) * ldk + :d] for r < R, t < NK: each key
// vector (N values of d, read through L) loaded once for the R rows, R x NK accumulators,
// horizontal sums at the end; the row `ahead` elements past each key's is prefetched. DC > 0:
// d = DC * N, known when compiling (the common head sizes), so that the loop over d unrolls
// whole and the accumulators stay in registers while the loads stream; DC = 0: any d. Each
// key's row is read whole, in address order, before the next key's: taking the same columns of
// the NK rows side by side would walk memory a row forward and back again, an order the
// hardware prefetchers do not follow, and K comes from memory, not cache.
template <class V, class L, int R, int NK, int DC>
__attribute__((always_inline)) inline void dots_block(const float* q, int64_t ldq, const typename L::T* k,
                                                      int64_t ldk, int64_t j, int64_t d, int64_t ahead, float* s,
                                                      int64_t lds) {
  using F = typename V::F;
  constexpr int64_t N = V::N;
  F acc[R][NK];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < NK; ++t) acc[r][t] = V::zero();
#pragma GCC unroll 4
  for (int t = 0; t < NK; ++t) {
    const typename L::T* kt = k + (j + t) * ldk;
    prefetch_row(kt + ahead, DC > 0 ? DC * N : d);
    if constexpr (DC > 0) {  // the key's vectors first, then each row's products
      F kv[DC];
#pragma GCC unroll 16
      for (int c = 0; c < DC; ++c) kv[c] = L::load(kt + N * c);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
        for (int c = 0; c < DC; ++c) acc[r][t] = V::fmadd(V::load(q + r * ldq + N * c), kv[c], acc[r][t]);
    } else {
      auto step = [&](int64_t c, auto... part) {
        const F kv = L::load(kt + c, part...);
#pragma GCC unroll 4
        for (int r = 0; r < R; ++r) acc[r][t] = V::fmadd(V::load(q + r * ldq + c, part...), kv, acc[r][t]);
      };
      const int64_t dfull = d - d % N;
      for (int64_t c = 0; c < dfull; c += N) step(c);
      if (dfull < d) step(dfull, V::part(d - dfull));
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
    if constexpr (NK == 4) {
      V::hsum4(acc[r][0], acc[r][1], acc[r][2], acc[r][3], s + r * lds + j);
    } else {
#pragma GCC unroll 4
      for (int t = 0; t < NK; ++t) s[r * lds + j + t] = V::hsum(acc[r][t]);
    }
  }
}

// R query rows against n keys: 4 keys a step, 2 where 4 x R accumulators would not leave the
// kernel's own tile's worth of registers.
template <class V, class L, int R, int DC>
void dots_rows(const float* q, int64_t ldq, const typename L::T* k, int64_t ldk, int64_t n, int64_t d, float* s,
               int64_t lds) {
  constexpr int NK = 4 * R < V::kTileRows * V::kTileVectors ? 4 : 2;
  const int64_t ahead = stream_ahead<typename L::T>(ldk);
  int64_t j = 0;
  for (; j + NK <= n; j += NK) dots_block<V, L, R, NK, DC>(q, ldq, k, ldk, j, d, ahead, s, lds);
  for (; j < n; ++j) dots_block<V, L, R, 1, DC>(q, ldq, k, ldk, j, d, ahead, s, lds);
}

// Head sizes whose dots are compiled for their size (dots_block's DC).
constexpr int64_t kDotsHeadSizes[] = {64, 128};

// s[r * lds + j] = q[r * ldq + :d] . k[j * ldk + :d], up to 4 rows at a time
template <class V>
void dots(const float* q, int64_t ldq, int64_t rows, const void* k, int64_t ldk, int64_t n, int64_t d, float* s,
          int64_t lds, mha_kv_format f) {
  with_kv_load<V>(f, [&](auto load) {
    using L = decltype(load);
    using T = typename L::T;
    using RowsFn = void (*)(const float*, int64_t, const T*, int64_t, int64_t, int64_t, float*, int64_t);
    constexpr int D64 = kDotsHeadSizes[0] / V::N, D128 = kDotsHeadSizes[1] / V::N;
    static constexpr RowsFn kRows[3][4] = {
        {dots_rows<V, L, 1, 0>, dots_rows<V, L, 2, 0>, dots_rows<V, L, 3, 0>, dots_rows<V, L, 4, 0>},
        {dots_rows<V, L, 1, D64>, dots_rows<V, L, 2, D64>, dots_rows<V, L, 3, D64>, dots_rows<V, L, 4, D64>},
        {dots_rows<V, L, 1, D128>, dots_rows<V, L, 2, D128>, dots_rows<V, L, 3, D128>, dots_rows<V, L, 4, D128>}};
    const int size = d == kDotsHeadSizes[0] ? 1 : d == kDotsHeadSizes[1] ? 2 : 0;
    for (int64_t r = 0; r < rows; r += 4)
      kRows[size][(rows - r < 4 ? rows - r : 4) - 1](q + r * ldq, ldq, static_cast<const T*>(k), ldk, n, d,
                                                      s + r * lds, lds);
  });
}

// y[i] = x[i] read as f says
template <class V>
void widen_row(const void* x, mha_kv_format f, float* y, int64_t n) {
  with_kv_load<V>(f, [&](auto load) {
    using L = decltype(load);
    const typename L::T* xs = static_cast<const typename L::T*>(x);
    int64_t i = 0;
    for (; i + V::N <= n; i += V::N) V::store(y + i, L::load(xs + i));
    if (i < n) V::store(y + i, L::load(xs + i, V::part(n - i)), V::part(n - i));
  });
}

// y[i] = x[i] stored as To (16 bits)
template <class V, mha_storage To>
void narrow_row_to(const float* x, uint16_t* y, int64_t n) {
  auto store = [](uint16_t* p, typename V::F v, auto... part) {
    if constexpr (To == MHA_STORAGE_FLOAT16) V::store_f16(p, v, part...);
    else V::store_bf16(p, v, part...);
  };
  int64_t i = 0;
  for (; i + V::N <= n; i += V::N) store(y + i, V::load(x + i));
  if (i < n) store(y + i, V::load(x + i, V::part(n - i)), V::part(n - i));
}

template <class V>
void narrow_row(const float* x, mha_storage to, void* y, int64_t n) {
  if (to == MHA_STORAGE_FLOAT16) narrow_row_to<V, MHA_STORAGE_FLOAT16>(x, static_cast<uint16_t*>(y), n);
  else if (to == MHA_STORAGE_BFLOAT16) narrow_row_to<V, MHA_STORAGE_BFLOAT16>(x, static_cast<uint16_t*>(y), n);
  else widen_row<V>(x, mha_kv_format{MHA_STORAGE_FLOAT32, 0}, static_cast<float*>(y), n);
}

// The kernel table of one vector type: the shared row kernels, products and conversions
// above, and the unit's own K^T packing (NULL: the core's portable loop).
template <class V>
constexpr mha_attn_kernels attn_kernels(decltype(mha_attn_kernels::pack_kt) pack_kt) {
  return {mask_max_row<V>, exp_sum_row<V>, scale_row<V>, scores<V>, dots<V>, pv<V>, pack_kt,
          widen_row<V>, narrow_row<V>};
}

}  // namespace
}  // namespace mha_simd
