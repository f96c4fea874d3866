// Batched single-precision GEMM, row-major (the BLIS-style framework lives in gemm.cc;
// micro-kernels in native/kernels/<isa>/, chosen through dispatch.h).
//   C[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i] (+ bias broadcast over rows)
// op(A) is M x K (A stored K x M when trans_a), op(B) is K x N (B stored N x K when trans_b).
// stride_* is the element distance between batch entries; stride_b == 0 shares one B.
#pragma once
#include <stdint.h>

typedef struct mha_gemm_args {
  int64_t batch, m, n, k;
  const float* a; int64_t lda, stride_a; int trans_a;
  const float* b; int64_t ldb, stride_b; int trans_b;
  float* c; int64_t ldc, stride_c;
  float alpha, beta;
  const float* bias;  // optional, length n, added to every row of C (after alpha/beta)
} mha_gemm_args;

void mha_sgemm(const mha_gemm_args* args);

// A right-hand operand packed once (for weights) and reused by every call.
typedef struct mha_packed_b mha_packed_b;
// Packs op(B) (K x N); B is stored N x K when trans_b (a torch.nn.Linear weight [out, in]).
mha_packed_b* mha_pack_b(const float* b, int64_t ldb, int trans_b, int64_t k, int64_t n);
void mha_packed_b_free(mha_packed_b* p);
int64_t mha_packed_b_k(const mha_packed_b* p);
int64_t mha_packed_b_n(const mha_packed_b* p);
// C (M x N) = op(A) (M x K, lda, not transposed) * packed B (+ bias per column), beta = 0.
void mha_sgemm_packed(int64_t m, const float* a, int64_t lda, const mha_packed_b* b,
                      float* c, int64_t ldc, const float* bias);
