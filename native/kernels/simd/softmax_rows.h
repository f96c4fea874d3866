// The masked-softmax row kernels of core/attn_kernels.h (mask_max_row, exp_sum_row,
// scale_row), written once for any vector type V of vec.h: 2 vectors per loop step (two
// independent max / sum chains), then the row's tail one vector at a time through partial
// accesses, so no kernel reads or writes past a row. A row is a score tile's (in L1) or a
// softmax input row (streamed once per pass). mask_max_row applies the row's whole rule
// (core/score_rule.h): a row with nothing but scaling takes a loop without the rest.
#pragma once
#include <math.h>
#include <stdint.h>

#include "core/attn_kernels.h"
#include "kernels/simd/vec.h"

namespace mha_simd {
namespace {

// The logit of lanes [j, j + N) of a row: x * scale, softcapped, minus the ALiBi bias, plus
// the additive masks; -inf where a boolean mask, the visible range [first, limit) or
// (kFull false) the end of the row blocks it.
template <class V>
struct RowMasker {
  using F = typename V::F;
  const float* x;
  const mha_row_masks* m;
  F scale, softcap, slope;

  RowMasker(const float* x_, const mha_row_masks* m_, float s)
      : x(x_), m(m_), scale(V::set1(s)), softcap(V::set1(m_->softcap)), slope(V::set1(m_->alibi_slope)) {}

  // Only scaling: nothing to add, cap or block inside [0, n).
  bool plain(int64_t n) const {
    return !m->add[0] && !m->add[1] && !m->blk[0] && !m->blk[1] && m->first <= 0 && m->limit >= n &&
           m->softcap <= 0 && m->alibi_slope == 0;
  }

  template <bool kFull>
  F at(int64_t j, typename V::Part part, int64_t lanes) const {
    auto load = [&](const float* p) { return kFull ? V::load(p) : V::load(p, part); };
    auto blocked = [&](const uint8_t* b) { return kFull ? V::nonzero_bytes(b) : V::nonzero_bytes(b, part); };
    F v = V::mul(load(x + j), scale);
    if (m->softcap > 0) v = V::mul(softcap, tanh<V>(V::div(v, softcap)));
    if (m->alibi_slope != 0) {
      const F distance = V::abs(V::sub(V::set1(m->alibi_pos - static_cast<float>(j)), V::iota()));
      v = V::fnmadd(slope, distance, v);
    }
    if (m->add[0]) v = V::add(v, load(m->add[0] + j));
    if (m->add[1]) v = V::add(v, load(m->add[1] + j));
    typename V::Mask blk = V::none();
    if (m->blk[0]) blk = V::or_(blk, blocked(m->blk[0] + j));
    if (m->blk[1]) blk = V::or_(blk, blocked(m->blk[1] + j));
    if (m->first > j) blk = V::or_(blk, V::lanes_below(m->first - j));
    const int64_t visible = m->limit - j < lanes ? m->limit - j : lanes;  // lanes past the row: blocked
    if (visible < V::N) blk = V::or_(blk, V::lanes_from(visible));
    return V::neg_inf_where(blk, v);
  }
};

// y[j] = the logit of x[j] under the row's rule (-inf where blocked); returns the row's max.
template <class V>
float mask_max_row(const float* x, float* y, int64_t n, float scale, const mha_row_masks* m) {
  constexpr int N = V::N;
  using F = typename V::F;
  const RowMasker<V> row(x, m, scale);
  F max0 = V::set1(-INFINITY), max1 = max0;
  int64_t j = 0;
  if (row.plain(n)) {
    for (; j + 2 * N <= n; j += 2 * N) {
      const F v0 = V::mul(V::load(x + j), row.scale), v1 = V::mul(V::load(x + j + N), row.scale);
      V::store(y + j, v0);
      V::store(y + j + N, v1);
      max0 = V::max(max0, v0);
      max1 = V::max(max1, v1);
    }
  }
  const typename V::Part full = V::part(N);
  for (; j + 2 * N <= n; j += 2 * N) {
    const F v0 = row.template at<true>(j, full, N), v1 = row.template at<true>(j + N, full, N);
    V::store(y + j, v0);
    V::store(y + j + N, v1);
    max0 = V::max(max0, v0);
    max1 = V::max(max1, v1);
  }
  for (; j < n; j += N) {
    const int64_t lanes = n - j < N ? n - j : N;
    const typename V::Part part = V::part(lanes);
    const F v = row.template at<false>(j, part, lanes);
    V::store(y + j, v, part);
    max0 = V::max(max0, v);
  }
  return V::hmax(V::max(max0, max1));
}

// y[j] = exp(y[j] - max) in place; returns the sum.
template <class V>
float exp_sum_row(float* y, int64_t n, float max) {
  constexpr int N = V::N;
  using F = typename V::F;
  const F vmax = V::set1(max);
  F sum0 = V::zero(), sum1 = sum0;
  int64_t j = 0;
  for (; j + 2 * N <= n; j += 2 * N) {
    const F e0 = exp_nonpositive<V>(V::sub(V::load(y + j), vmax));
    const F e1 = exp_nonpositive<V>(V::sub(V::load(y + j + N), vmax));
    V::store(y + j, e0);
    V::store(y + j + N, e1);
    sum0 = V::add(sum0, e0);
    sum1 = V::add(sum1, e1);
  }
  for (; j < n; j += N) {  // lanes past the row read as -inf: exp gives 0, the sum is unchanged
    const typename V::Part part = V::part(n - j);
    const F e = exp_nonpositive<V>(V::sub(V::load(y + j, part, -INFINITY), vmax));
    V::store(y + j, e, part);
    sum0 = V::add(sum0, e);
  }
  return V::hsum(V::add(sum0, sum1));
}

// y[j] *= a
template <class V>
void scale_row(float* y, int64_t n, float a) {
  const typename V::F va = V::set1(a);
  int64_t j = 0;
  for (; j + V::N <= n; j += V::N) V::store(y + j, V::mul(V::load(y + j), va));
  if (j < n) {
    const typename V::Part part = V::part(n - j);
    V::store(y + j, V::mul(V::load(y + j, part), va), part);
  }
}

}  // namespace
}  // namespace mha_simd
