// The bfloat16 instantiation of the GEMM framework (gemm_driver.h) on the dispatch table's
// bfloat16 kernels (mha_kernels()->bf16): operands rounded to bfloat16 as they are packed
// (core/bf16.h), float32 accumulation.
#include "core/bf16.h"
#include "core/dispatch.h"
#include "core/gemm.h"
#include "core/gemm_driver.h"

namespace mha_gemm {

template <>
struct Ops<mha_sbgemm_kernels> {
  using K = mha_sbgemm_kernels;
  using T = mha_bf16;
  static constexpr bool kDirectA = false;  // A is rounded to bfloat16 while it is packed
  static int kStep(const K& kt) { return kt.kstep; }
  static void pack_a(const K& kt, mha_bf16* dst, const float* src, int w, int valid, int64_t k,
                     int64_t so, int64_t sd) {
    if (kt.pack_a) kt.pack_a(dst, src, w, valid, k, so, sd);
    else if (kt.kstep == 2) mha_bf16_detail::pack_chunked<2>(dst, src, w, valid, k, so, sd);
    else mha_bf16_detail::pack_chunked<32>(dst, src, w, valid, k, so, sd);
  }
  static void pack_b(const K& kt, mha_bf16* dst, const float* src, int w, int valid, int64_t k,
                     int64_t so, int64_t sd) {
    (kt.pack_b ? kt.pack_b : mha_bf16_detail::pack_chunked<2>)(dst, src, w, valid, k, so, sd);
  }
  static void ukernel(const K& kt, int64_t k, const mha_bf16* a, const mha_bf16* b, float* c,
                      int64_t ldc, float alpha, float beta) {
    kt.ukernel(k, a, b, c, ldc, alpha, beta);
  }
  static bool has_rows(const K& kt) { return kt.ukernel_rows != nullptr; }
  static void ukernel_rows(const K& kt, int64_t k, int rows, const mha_bf16* a,
                           const mha_bf16* b, float* c, int64_t ldc, float alpha, float beta) {
    kt.ukernel_rows(k, rows, a, b, c, ldc, alpha, beta);
  }
  static bool has_direct_a(const K&) { return false; }
};

void sbgemm(const mha_sbgemm_kernels& kt, const mha_gemm_args* g) { gemm(kt, g); }

void sbgemm_packed(int64_t m, const float* a, int64_t lda, const mha_packed_b* b, float* c,
                   int64_t ldc, const float* bias) {
  gemm_packed<mha_sbgemm_kernels>(m, a, lda, b, c, ldc, bias);
}

void sbgemm_range(int64_t m, const float* a, int64_t lda, const mha_packed_b* b, const mha_packed_range& r,
                  float* c, int64_t ldc, const float* bias) {
  gemm_range<mha_sbgemm_kernels>(m, a, lda, b, r, c, ldc, bias);
}

mha_packed_steps sbgemm_range_steps(const mha_packed_b* b) { return range_steps<mha_sbgemm_kernels>(b); }

}  // namespace mha_gemm

void mha_sbgemm_with(const mha_sbgemm_kernels* kt, const mha_gemm_args* g) {
  mha_gemm::gemm(*kt, g);
}

mha_packed_b* mha_pack_b_bf16_with(const mha_sbgemm_kernels* kt, const float* b, int64_t ldb,
                                   int trans_b, int64_t k, int64_t n) {
  return mha_gemm::pack_weight(*kt, MHA_PRECISION_BFLOAT16, b, ldb, trans_b, k, n);
}

mha_packed_b* mha_pack_b_bf16(const float* b, int64_t ldb, int trans_b, int64_t k, int64_t n) {
  return mha_pack_b_bf16_with(mha_kernels()->bf16, b, ldb, trans_b, k, n);
}
