// Bootstrap scalar GEMM (replaced by the packed BLIS-style framework): one output row per
// task, accumulated over K with the row of C held in a contiguous accumulator.
#include "core/gemm.h"

#include <vector>

#include "core/threadpool.h"

struct mha_packed_b {
  int64_t k, n;
  std::vector<float> data;  // op(B), K x N row-major
};

void mha_sgemm(const mha_gemm_args* g) {
  const mha_gemm_args args = *g;
  mha::parallel_for(args.batch * args.m, [&args](int64_t begin, int64_t end) {
    std::vector<float> acc(args.n);
    for (int64_t row = begin; row < end; ++row) {
      const int64_t bi = row / args.m, i = row % args.m;
      const float* a = args.a + bi * args.stride_a;
      const float* b = args.b + bi * args.stride_b;
      float* c = args.c + bi * args.stride_c + i * args.ldc;
      for (float& x : acc) x = 0.0f;
      for (int64_t p = 0; p < args.k; ++p) {
        const float aip = args.trans_a ? a[p * args.lda + i] : a[i * args.lda + p];
        if (args.trans_b) {
          for (int64_t j = 0; j < args.n; ++j) acc[j] += aip * b[j * args.ldb + p];
        } else {
          const float* brow = b + p * args.ldb;
          for (int64_t j = 0; j < args.n; ++j) acc[j] += aip * brow[j];
        }
      }
      for (int64_t j = 0; j < args.n; ++j) {
        float v = args.alpha * acc[j];
        if (args.beta != 0.0f) v += args.beta * c[j];  // beta == 0: C may be uninitialized
        if (args.bias) v += args.bias[j];
        c[j] = v;
      }
    }
  });
}

mha_packed_b* mha_pack_b(const float* b, int64_t ldb, int trans_b, int64_t k, int64_t n) {
  mha_packed_b* p = new mha_packed_b{k, n, std::vector<float>(k * n)};
  for (int64_t r = 0; r < k; ++r)
    for (int64_t j = 0; j < n; ++j) p->data[r * n + j] = trans_b ? b[j * ldb + r] : b[r * ldb + j];
  return p;
}

void mha_packed_b_free(mha_packed_b* p) { delete p; }
int64_t mha_packed_b_k(const mha_packed_b* p) { return p->k; }
int64_t mha_packed_b_n(const mha_packed_b* p) { return p->n; }

void mha_sgemm_packed(int64_t m, const float* a, int64_t lda, const mha_packed_b* b,
                      float* c, int64_t ldc, const float* bias) {
  mha_gemm_args args = {};
  args.batch = 1; args.m = m; args.n = b->n; args.k = b->k;
  args.a = a; args.lda = lda;
  args.b = b->data.data(); args.ldb = b->n;
  args.c = c; args.ldc = ldc;
  args.alpha = 1.0f; args.beta = 0.0f;
  args.bias = bias;
  mha_sgemm(&args);
}
