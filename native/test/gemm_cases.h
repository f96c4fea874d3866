// The GEMM test cases shared by gemm_test.cc and sbgemm_test.cc: a case's shape and options,
// and its operands (random in [-1, 1], C NaN where beta = 0 so that it must not be read,
// guard values around and between the C matrices).
#pragma once
#include <math.h>
#include <stdint.h>

#include <random>
#include <vector>

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

}  // namespace gemm_cases
