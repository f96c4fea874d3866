// The GEMM entry points of gemm.h: the float32 instantiation of the framework (gemm_driver.h)
// on the dispatch table's float32 kernels, and the packed-operand calls of either precision.
#include "core/gemm.h"

#include "core/dispatch.h"
#include "core/gemm_driver.h"

namespace mha_gemm {

thread_local mha::AlignedFloats scratch_a(mha::HugePages::kWhenLarge);
thread_local mha::AlignedFloats scratch_b(mha::HugePages::kWhenLarge);

namespace {

// Portable panel packing (contract in gemm_kernels.h): dst[p*w + r] = src[r*so + p*sd],
// zero for valid <= r < w. so/sd: source strides along the panel's width and depth.
void pack_panel_portable(float* dst, const float* src, int w, int valid, int64_t k, int64_t so,
                         int64_t sd) {
  if (so == 1) {  // each depth step is a contiguous run of `valid` floats
    for (int64_t p = 0; p < k; ++p) {
      float* d = dst + p * w;
      const float* s = src + p * sd;
      for (int r = 0; r < valid; ++r) d[r] = s[r];
      for (int r = valid; r < w; ++r) d[r] = 0.0f;
    }
    return;
  }
  for (int r = 0; r < valid; ++r) {  // each panel row is a strided run along the depth
    const float* s = src + r * so;
    for (int64_t p = 0; p < k; ++p) dst[p * w + r] = s[p * sd];
  }
  for (int r = valid; r < w; ++r)
    for (int64_t p = 0; p < k; ++p) dst[p * w + r] = 0.0f;
}

}  // namespace

template <>
struct Ops<mha_gemm_kernels> {
  using K = mha_gemm_kernels;
  using T = float;
  static constexpr bool kDirectA = true;
  static int kStep(const K&) { return 1; }
  static void pack_a(const K& kt, float* dst, const float* src, int w, int valid, int64_t k,
                     int64_t so, int64_t sd) {
    (kt.pack ? kt.pack : pack_panel_portable)(dst, src, w, valid, k, so, sd);
  }
  static void pack_b(const K& kt, float* dst, const float* src, int w, int valid, int64_t k,
                     int64_t so, int64_t sd) {
    pack_a(kt, dst, src, w, valid, k, so, sd);
  }
  static void ukernel(const K& kt, int64_t k, const float* a, const float* b, float* c,
                      int64_t ldc, float alpha, float beta) {
    kt.ukernel(k, a, b, c, ldc, alpha, beta);
  }
  static bool has_rows(const K& kt) { return kt.ukernel_rows != nullptr; }
  static void ukernel_rows(const K& kt, int64_t k, int rows, const float* a, const float* b,
                           float* c, int64_t ldc, float alpha, float beta) {
    kt.ukernel_rows(k, rows, a, b, c, ldc, alpha, beta);
  }
  static bool has_direct_a(const K& kt) { return kt.ukernel_direct_a != nullptr; }
  static void ukernel_direct_a(const K& kt, int64_t k, const float* a, int64_t lda,
                               const float* b, float* c, int64_t ldc, float alpha, float beta) {
    kt.ukernel_direct_a(k, a, lda, b, c, ldc, alpha, beta);
  }
};

}  // namespace mha_gemm

void mha_sgemm_with(const mha_gemm_kernels* kt, const mha_gemm_args* g) { mha_gemm::gemm(*kt, g); }

void mha_sgemm(const mha_gemm_args* g) {
  if (g->precision == MHA_PRECISION_BFLOAT16) mha_gemm::sbgemm(*mha_kernels()->bf16, g);
  else mha_gemm::gemm(*mha_kernels()->gemm, g);
}

mha_packed_b* mha_pack_b(const float* b, int64_t ldb, int trans_b, int64_t k, int64_t n) {
  return mha_gemm::pack_weight(*mha_kernels()->gemm, MHA_PRECISION_FLOAT32, b, ldb, trans_b, k, n);
}

void mha_packed_b_free(mha_packed_b* p) {
  if (!p) return;
  mha::aligned_free(p->data);
  delete p;
}

int64_t mha_packed_b_k(const mha_packed_b* p) { return p->k; }
int64_t mha_packed_b_n(const mha_packed_b* p) { return p->n; }
mha_precision mha_packed_b_precision(const mha_packed_b* p) { return p->precision; }

void mha_sgemm_packed(int64_t m, const float* a, int64_t lda, const mha_packed_b* b, float* c,
                      int64_t ldc, const float* bias) {
  if (b->precision == MHA_PRECISION_BFLOAT16) mha_gemm::sbgemm_packed(m, a, lda, b, c, ldc, bias);
  else mha_gemm::gemm_packed<mha_gemm_kernels>(m, a, lda, b, c, ldc, bias);
}

mha_packed_steps mha_packed_b_steps(const mha_packed_b* b) {
  if (b->precision == MHA_PRECISION_BFLOAT16) return mha_gemm::sbgemm_range_steps(b);
  return mha_gemm::range_steps<mha_gemm_kernels>(b);
}

void mha_sgemm_packed_range(int64_t m, const float* a, int64_t lda, const mha_packed_b* b,
                            mha_packed_range range, float* c, int64_t ldc, const float* bias) {
  if (b->precision == MHA_PRECISION_BFLOAT16) mha_gemm::sbgemm_range(m, a, lda, b, range, c, ldc, bias);
  else mha_gemm::gemm_range<mha_gemm_kernels>(m, a, lda, b, range, c, ldc, bias);
}
