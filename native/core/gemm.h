// Batched GEMM, row-major, float32 C (the BLIS-style framework lives in gemm_driver.h;
// micro-kernels in native/kernels/<isa>/, chosen through dispatch.h).
//   C[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i] (+ bias broadcast over rows)
// op(A) is M x K (A stored K x M when trans_a), op(B) is K x N (B stored N x K when trans_b).
// stride_* is the element distance between batch entries; stride_b == 0 shares one B.
//
// Precision (mha_gemm_args.precision, and the packed operand's):
//   MHA_PRECISION_FLOAT32   float32 products and sums.
//   MHA_PRECISION_BFLOAT16  both operands rounded to bfloat16 (to nearest, ties to even; NaN
//     stays NaN, overflow becomes infinity) as they are packed, products summed in float32
//     (alpha, beta and bias applied in float32). The result is that of a float32 evaluation
//     of the rounded operands up to the order of the additions (and, on the AVX512-BF16 and
//     AMX paths, bfloat16 denormal operands taken as zero). The kernels run are
//     mha_kernels()->bf16 (its `path`: "amx", "avx512bf16" or "emulated").
#pragma once
#include <stdint.h>

#include "core/gemm_kernels.h"
#include "core/precision.h"

typedef struct mha_gemm_args {
  int64_t batch, m, n, k;
  const float* a; int64_t lda, stride_a; int trans_a;
  const float* b; int64_t ldb, stride_b; int trans_b;
  float* c; int64_t ldc, stride_c;
  float alpha, beta;
  const float* bias;  // optional, length n, added to every row of C (after alpha/beta)
  mha_precision precision;  // zero-initialized: float32
} mha_gemm_args;

void mha_sgemm(const mha_gemm_args* args);

// A right-hand operand packed once (for weights) and reused by every call, in float32 panels
// (mha_pack_b) or bfloat16 panels (mha_pack_b_bf16, half the memory).
typedef struct mha_packed_b mha_packed_b;
// Packs op(B) (K x N); B is stored N x K when trans_b (a torch.nn.Linear weight [out, in]).
mha_packed_b* mha_pack_b(const float* b, int64_t ldb, int trans_b, int64_t k, int64_t n);
mha_packed_b* mha_pack_b_bf16(const float* b, int64_t ldb, int trans_b, int64_t k, int64_t n);
void mha_packed_b_free(mha_packed_b* p);
int64_t mha_packed_b_k(const mha_packed_b* p);
int64_t mha_packed_b_n(const mha_packed_b* p);
mha_precision mha_packed_b_precision(const mha_packed_b* p);
// C (M x N) = op(A) (M x K, lda, not transposed) * packed B (+ bias per column), beta = 0, in
// the packed operand's precision (bfloat16: A rounded to bfloat16 as it is packed).
void mha_sgemm_packed(int64_t m, const float* a, int64_t lda, const mha_packed_b* b,
                      float* c, int64_t ldc, const float* bias);

// A part of such a product, for a task that already holds its share of a job (a part of a
// layer): C (M x (j1 - j0)) = op(A) (M x (k1 - k0), lda, not transposed) * rows [k0, k1) and
// columns [j0, j1) of the packed B (+ bias, (j1 - j0) entries, per column), beta = 0, on the
// calling thread. k0 < k1 <= K, j0 < j1 <= N; j0 must be a multiple of the operand's column
// step and k0 of its depth step (mha_packed_b_steps: where its panels start).
typedef struct mha_packed_range {
  int64_t k0, k1, j0, j1;
} mha_packed_range;
typedef struct mha_packed_steps {
  int64_t column, depth;
} mha_packed_steps;
mha_packed_steps mha_packed_b_steps(const mha_packed_b* b);
void mha_sgemm_packed_range(int64_t m, const float* a, int64_t lda, const mha_packed_b* b,
                            mha_packed_range range, float* c, int64_t ldc, const float* bias);

// The same on a given kernel table (its own blocks), for the tests and benchmarks that compare
// kernel sets in one process; precision follows the table, not args->precision.
void mha_sgemm_with(const mha_gemm_kernels* kt, const mha_gemm_args* args);
void mha_sbgemm_with(const mha_sbgemm_kernels* kt, const mha_gemm_args* args);
mha_packed_b* mha_pack_b_bf16_with(const mha_sbgemm_kernels* kt, const float* b, int64_t ldb,
                                   int trans_b, int64_t k, int64_t n);
