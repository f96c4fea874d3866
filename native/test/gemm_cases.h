// The GEMM test cases shared by gemm_test.cc and sbgemm_test.cc: a case's shape and options,
// and its operands (random in [-1, 1], C NaN where beta = 0 so that it must not be read,
// guard values around and between the C matrices).
#pragma once
#include <math.h>
#include <stdint.h>

#include <random>
#include <vector>

#include "core/gemm.h"

namespace gemm_cases {

inline const float kGuard = 1234.5f;

struct Case {
  int64_t batch, m, n, k;
  int ta, tb;
  bool shared_b;
  float alpha, beta;
  bool bias;
  int64_t pad;  // extra elements per row and between batch entries
};

struct Operands {
  std::vector<float> a, b, c, bias;
  int64_t lda, ldb, ldc, sa, sb, sc;
};

inline thread_local std::mt19937 rng(12345);

inline void fill(std::vector<float>& v) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (float& x : v) x = d(rng);
}

inline Operands make(const Case& t) {
  Operands o;
  int64_t a_rows = t.ta ? t.k : t.m, a_cols = t.ta ? t.m : t.k;
  int64_t b_rows = t.tb ? t.n : t.k, b_cols = t.tb ? t.k : t.n;
  o.lda = a_cols + t.pad;
  o.ldb = b_cols + t.pad;
  o.ldc = t.n + t.pad;
  o.sa = a_rows * o.lda + t.pad;
  o.sb = t.shared_b ? 0 : b_rows * o.ldb + t.pad;
  o.sc = t.m * o.ldc + t.pad;
  o.a.resize(t.batch * o.sa + 1);
  o.b.resize((t.shared_b ? 1 : t.batch) * (b_rows * o.ldb + t.pad) + 1);
  o.c.assign(t.batch * o.sc + t.pad + 1, kGuard);
  fill(o.a);
  fill(o.b);
  o.bias.resize(t.n);
  fill(o.bias);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (int64_t e = 0; e < t.batch; ++e)
    for (int64_t i = 0; i < t.m; ++i)
      for (int64_t j = 0; j < t.n; ++j)
        o.c[e * o.sc + i * o.ldc + j] = t.beta == 0.0f ? NAN : d(rng);
  return o;
}

// A product over range r of a packed operand (mha_sgemm_packed_range): B is an m x n x k case's
// op(B) (transposed when tb), packed whole by pack(b, ldb, tb, k, n); r is moved down onto the
// packed operand's steps. check(t, o, c) then gets the same product as a case of its own
// (B = that block of op(B)), its operands and the C the range call wrote.
template <class Pack, class Check>
void packed_range_case(int64_t m, int64_t n, int64_t k, int tb, mha_packed_range r, bool bias, Pack pack,
                       Check check) {
  const Case whole{1, m, n, k, 0, tb, true, 1.0f, 0.0f, false, 0};
  const Operands w = make(whole);
  mha_packed_b* pb = pack(w.b.data(), w.ldb, tb, k, n);
  const mha_packed_steps steps = mha_packed_b_steps(pb);
  r.j0 -= r.j0 % steps.column;
  r.k0 -= r.k0 % steps.depth;
  const Case t{1, m, r.j1 - r.j0, r.k1 - r.k0, 0, tb, true, 1.0f, 0.0f, bias, (m + k) % 3};
  Operands o = make(t);
  for (int64_t p = 0; p < t.k; ++p)
    for (int64_t j = 0; j < t.n; ++j)
      (tb ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j]) =
          tb ? w.b[(r.j0 + j) * w.ldb + r.k0 + p] : w.b[(r.k0 + p) * w.ldb + r.j0 + j];
  std::vector<float> c = o.c;
  mha_sgemm_packed_range(m, o.a.data(), o.lda, pb, r, c.data(), o.ldc, bias ? o.bias.data() : nullptr);
  mha_packed_b_free(pb);
  check(t, o, c);
}

}  // namespace gemm_cases
