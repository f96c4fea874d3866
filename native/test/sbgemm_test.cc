// Standalone test of the bfloat16 GEMM (no Node), for every bfloat16 kernel table the given
// kernel set runs on this CPU (avx512: the emulated zmm table, and AVX512-BF16 and AMX where
// the CPU has them; avx2, neon, scalar: their emulated table):
//   - the rounding to bfloat16 (ties to even, NaN, infinities, overflow, denormals, -0);
//   - the portable chunked packing against its index formula;
//   - the AMX tile program on a scalar model of the tile instructions (any CPU);
//   - GEMMs against a float64 evaluation of the same bfloat16-rounded operands (accumulation
//     order only: each element within the float32 summation bound, relative L2 <= 1e-5) and
//     of the unrounded ones (relative L2 <= 1e-2, and at most twice the float64 evaluation
//     of the rounded operands), on awkward sizes (M, N, K in 1, 3, 7, 33, 129, 1000), both
//     transposes, batches, alpha/beta, bias, the packed-weight path, at 1, 2 and 3 threads,
//     with guard values around C; and the tables against each other;
//   - dispatch: which table each MHA_NATIVE_ISA level picks, and the process's table.
//   sbgemm_test --isa <set>   (how ctest runs it; MHA_TEST_QUICK=1 leaves out the largest)
// Exits nonzero on any failure.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <random>
#include <string>
#include <vector>

#include "amx_model.h"
#include "gemm_cases.h"
#include "core/bf16.h"
#include "core/cpu.h"
#include "core/dispatch.h"
#include "core/gemm.h"
#include "core/gemm_blocking.h"
#include "core/threadpool.h"
#include "kernels/x86/sbgemm_amx_body.h"

namespace {

using namespace gemm_cases;
using mha_bf16_detail::from_float;
using mha_bf16_detail::to_float;

int failures = 0;

void fail(const char* fmt, const char* what, double a = 0, double b = 0) {
  fprintf(stderr, "FAIL %s: ", what);
  fprintf(stderr, fmt, a, b);
  fprintf(stderr, "\n");
  ++failures;
}

float from_bits(uint32_t u) {
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

double rounded(float x) { return to_float(from_float(x)); }

// ---- Rounding

void rounding() {
  struct { uint32_t in; uint16_t out; } cases[] = {
      {0x3f800000u, 0x3f80}, {0x3f808000u, 0x3f80},  // tie: to the even 0x3f80
      {0x3f818000u, 0x3f82},                          // tie: to the even 0x3f82
      {0x3f808001u, 0x3f81}, {0x3f807fffu, 0x3f80},  // above, below the tie
      {0xbf818000u, 0xbf82},                          // negative tie
      {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80},  // infinities
      {0x7f7fffffu, 0x7f80},                          // FLT_MAX rounds up to infinity
      {0x7f7f7fffu, 0x7f7f},                          // the largest that does not
      {0x00000000u, 0x0000}, {0x80000000u, 0x8000},  // zeros
      {0x00008000u, 0x0000}, {0x00018000u, 0x0002},  // denormal ties to even
      {0x0000ffffu, 0x0001}, {0x00000001u, 0x0000}, {0x807fffffu, 0x8080},
  };
  for (const auto& c : cases) {
    const uint16_t got = from_float(from_bits(c.in));
    if (got != c.out) {
      fprintf(stderr, "FAIL round 0x%08x: 0x%04x, expected 0x%04x\n", c.in, got, c.out);
      ++failures;
    }
  }
  // NaNs stay NaN (quiet), sign kept, whatever their payload.
  for (uint32_t nan : {0x7fc00000u, 0x7f800001u, 0xffc00001u, 0x7fffffffu, 0xff800100u}) {
    const uint16_t h = from_float(from_bits(nan));
    if (!isnan(to_float(h)) || (h >> 15) != (nan >> 31)) {
      fprintf(stderr, "FAIL round NaN 0x%08x -> 0x%04x\n", nan, h);
      ++failures;
    }
  }
  // Every bfloat16 value converts back to itself.
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    if (isnan(to_float((mha_bf16)h))) continue;
    if (from_float(to_float((mha_bf16)h)) != h) {
      fprintf(stderr, "FAIL round trip 0x%04x\n", h);
      ++failures;
      break;
    }
  }
}

// ---- Packing: the chunked layout of core/gemm_kernels.h

template <int G>
void layout_case(int w, int valid, int64_t k, bool width_contiguous) {
  const int64_t kpad = (k + G - 1) / G * G;
  const int64_t so = width_contiguous ? 1 : k + 3, sd = width_contiguous ? w + 2 : 1;
  std::vector<float> src((size_t)(w * std::max<int64_t>(so, 1) + k * sd + 8));
  std::uniform_real_distribution<float> d(-2.0f, 2.0f);
  for (float& x : src) x = d(rng);
  std::vector<mha_bf16> dst((size_t)(w * kpad + 1), 0xabcd);
  mha_bf16_detail::pack_chunked<G>(dst.data(), src.data(), w, valid, k, so, sd);
  for (int r = 0; r < w; ++r)
    for (int64_t p = 0; p < kpad; ++p) {
      const mha_bf16 want = r < valid && p < k ? from_float(src[r * so + p * sd]) : 0;
      if (dst[(p / G) * G * w + G * r + p % G] != want) {
        fprintf(stderr, "FAIL pack<%d> w=%d valid=%d k=%lld at (%d, %lld)\n", G, w, valid,
                (long long)k, r, (long long)p);
        ++failures;
        return;
      }
    }
  if (dst[w * kpad] != 0xabcd) fail("%s", "pack wrote past the panel");
}

void layouts() {
  for (bool wc : {false, true})
    for (int64_t k : {1, 2, 5, 32, 33, 70}) {
      layout_case<2>(12, 12, k, wc);
      layout_case<2>(32, 7, k, wc);
      layout_case<32>(32, 32, k, wc);
      layout_case<32>(32, 19, k, wc);
    }
}

// ---- The AMX tile program on the scalar model

void amx_program() {
  using mha_x86::kAmxDepth;
  using mha_x86::kAmxMr;
  using mha_x86::kAmxNr;
  for (int64_t k : {1, 31, 32, 33, 100}) {
    const int64_t kpad = (k + kAmxDepth - 1) / kAmxDepth * kAmxDepth, ldc = 37;
    std::vector<float> a((size_t)(kAmxMr * k)), b((size_t)(k * kAmxNr));
    std::uniform_real_distribution<float> d(-1.0f, 1.0f);
    for (float& x : a) x = d(rng);
    for (float& x : b) x = d(rng);
    std::vector<mha_bf16> pa((size_t)(kAmxMr * kpad)), pb((size_t)(kAmxNr * kpad));
    mha_bf16_detail::pack_chunked<kAmxDepth>(pa.data(), a.data(), kAmxMr, kAmxMr, k, k, 1);
    mha_bf16_detail::pack_chunked<2>(pb.data(), b.data(), kAmxNr, kAmxNr, k, 1, kAmxNr);
    std::vector<float> c((size_t)(kAmxMr * ldc), kGuard);
    mha_x86::sbgemm_amx_tiles<amx_model::Tiles>(kpad, pa.data(), pb.data(), c.data(), ldc);
    for (int i = 0; i < kAmxMr; ++i)
      for (int j = 0; j < ldc; ++j) {
        const float got = c[i * ldc + j];
        if (j >= kAmxNr) {
          if (got != kGuard) fail("%s", "AMX program wrote outside its tile");
          continue;
        }
        double ref = 0, mag = 0;
        for (int64_t p = 0; p < k; ++p) {
          ref += rounded(a[i * k + p]) * rounded(b[p * kAmxNr + j]);
          mag += fabs(rounded(a[i * k + p]) * rounded(b[p * kAmxNr + j]));
        }
        if (!(fabs(got - ref) <= 1e-6 * (k + 4) * mag + 1e-30)) {
          fprintf(stderr, "FAIL AMX program k=%lld C[%d][%d] = %.9g, expected %.9g\n",
                  (long long)k, i, j, got, ref);
          ++failures;
          return;
        }
      }
  }
}

// ---- GEMMs

std::string describe(const Case& t, const char* table) {
  char buf[200];
  snprintf(buf, sizeof buf, "%s batch=%lld m=%lld n=%lld k=%lld ta=%d tb=%d shared=%d alpha=%g beta=%g bias=%d pad=%lld",
           table, (long long)t.batch, (long long)t.m, (long long)t.n, (long long)t.k, t.ta, t.tb,
           t.shared_b, t.alpha, t.beta, t.bias, (long long)t.pad);
  return buf;
}

// Checks C (after the call) against float64 evaluations of the rounded and the unrounded
// operands (C before the call in o.c); C must keep its guard values outside the matrices.
bool check(const Case& t, const Operands& o, const std::vector<float>& c, const std::string& what) {
  double err_r = 0, err_u = 0, err_ru = 0, norm_u = 0, norm_r = 0;
  for (int64_t e = 0; e < t.batch; ++e) {
    const float* a = o.a.data() + e * o.sa;
    const float* b = o.b.data() + e * o.sb;
    for (int64_t i = 0; i < t.m; ++i)
      for (int64_t j = 0; j < t.n; ++j) {
        double sum_r = 0, sum_u = 0, mag = 0;
        for (int64_t p = 0; p < t.k; ++p) {
          const float x = t.ta ? a[p * o.lda + i] : a[i * o.lda + p];
          const float y = t.tb ? b[j * o.ldb + p] : b[p * o.ldb + j];
          sum_r += rounded(x) * rounded(y);
          sum_u += (double)x * y;
          mag += fabs(rounded(x) * rounded(y));
        }
        const int64_t at = e * o.sc + i * o.ldc + j;
        double add = 0, bound = fabs(t.alpha) * mag;
        if (t.beta != 0.0f) add += (double)t.beta * o.c[at], bound += fabs(t.beta * o.c[at]);
        if (t.bias) add += o.bias[j], bound += fabs(o.bias[j]);
        const double ref_r = t.alpha * sum_r + add, ref_u = t.alpha * sum_u + add;
        if (!(fabs(c[at] - ref_r) <= 1e-6 * (t.k + 4) * (bound + 1e-30))) {
          fprintf(stderr, "FAIL %s: C[%lld][%lld][%lld] = %.9g, rounded-operand reference %.9g\n",
                  what.c_str(), (long long)e, (long long)i, (long long)j, c[at], ref_r);
          return false;
        }
        err_r += (c[at] - ref_r) * (c[at] - ref_r);
        err_u += (c[at] - ref_u) * (c[at] - ref_u);
        err_ru += (ref_r - ref_u) * (ref_r - ref_u);
        norm_u += ref_u * ref_u;
        norm_r += ref_r * ref_r;
      }
  }
  const double rel_r = sqrt(err_r / (norm_r + 1e-300)), rel_u = sqrt(err_u / (norm_u + 1e-300)),
               rel_ru = sqrt(err_ru / (norm_u + 1e-300));
  // The 1e-2 bound holds over tensors of many elements from a long enough depth; a handful
  // of elements with cancellation can exceed it with exact arithmetic on the rounded operands
  // (rel_ru), which the twice-float64 bound covers everywhere.
  const bool large = t.batch * t.m * t.n >= 256 && t.k >= 16;
  if (rel_r > 1e-5 || (large && rel_u > 1e-2) || rel_u > 2 * rel_ru + 1e-6) {
    fprintf(stderr, "FAIL %s: relative L2 %.3g against the rounded operands, %.3g against the "
            "unrounded (rounded operands in float64: %.3g)\n", what.c_str(), rel_r, rel_u, rel_ru);
    return false;
  }
  for (size_t x = 0; x < c.size(); ++x) {
    const int64_t e = (int64_t)x / o.sc, r = (int64_t)x % o.sc;
    const bool inside = e < t.batch && r / o.ldc < t.m && r % o.ldc < t.n;
    if (!inside && c[x] != kGuard) {
      fprintf(stderr, "FAIL %s: wrote outside C at offset %zu\n", what.c_str(), x);
      return false;
    }
  }
  return true;
}

mha_gemm_args args_of(const Case& t, Operands& o, std::vector<float>& c) {
  return mha_gemm_args{t.batch, t.m, t.n, t.k, o.a.data(), o.lda, o.sa, t.ta, o.b.data(), o.ldb,
                       o.sb, t.tb, c.data(), o.ldc, o.sc, t.alpha, t.beta,
                       t.bias ? o.bias.data() : nullptr, MHA_PRECISION_BFLOAT16};
}

// Runs the case on every table; checks each, and each against the first.
void run(const std::vector<mha_sbgemm_kernels>& tables, const Case& t) {
  Operands o = make(t);
  std::vector<float> first;
  for (const mha_sbgemm_kernels& kt : tables) {
    std::vector<float> c = o.c;
    const mha_gemm_args g = args_of(t, o, c);
    mha_sbgemm_with(&kt, &g);
    if (!check(t, o, c, describe(t, kt.name))) {
      ++failures;
      return;
    }
    if (first.empty()) {
      first = c;
      continue;
    }
    for (size_t x = 0; x < c.size(); ++x) {
      const double tol = 1e-6 * (t.k + 4) * (fabs(first[x]) + fabs(t.beta) + 1 + t.k);
      if (!(fabs(c[x] - first[x]) <= tol)) {
        fprintf(stderr, "FAIL %s: %.9g where %s gave %.9g\n", describe(t, kt.name).c_str(), c[x],
                tables[0].name, first[x]);
        ++failures;
        return;
      }
    }
  }
}

// The packed-weight path: C = A * op(B) (+ bias), weight packed once in bfloat16.
void run_packed(const mha_sbgemm_kernels& kt, int64_t m, int64_t n, int64_t k, int tb, bool bias) {
  const Case t{1, m, n, k, 0, tb, true, 1.0f, 0.0f, bias, k % 3};
  Operands o = make(t);
  std::vector<float> c = o.c;
  mha_packed_b* pb = mha_pack_b_bf16_with(&kt, o.b.data(), o.ldb, tb, k, n);
  if (mha_packed_b_precision(pb) != MHA_PRECISION_BFLOAT16 || mha_packed_b_k(pb) != k ||
      mha_packed_b_n(pb) != n)
    fail("%s", "packed bf16 operand's precision or shape");
  mha_sgemm_packed(m, o.a.data(), o.lda, pb, c.data(), o.ldc, bias ? o.bias.data() : nullptr);
  mha_packed_b_free(pb);
  if (!check(t, o, c, describe(t, kt.name) + " packed")) ++failures;
}

// A range of a packed operand (mha_sgemm_packed_range) against the same product with that block
// of B as its own operand.
void run_packed_range(const mha_sbgemm_kernels& kt, int64_t m, int64_t n, int64_t k, int tb, mha_packed_range r,
                      bool bias) {
  auto pack = [&](const float* b, int64_t ldb, int trans_b, int64_t depth, int64_t cols) {
    return mha_pack_b_bf16_with(&kt, b, ldb, trans_b, depth, cols);
  };
  packed_range_case(m, n, k, tb, r, bias, pack, [&](const Case& t, const Operands& o, const std::vector<float>& c) {
    if (!check(t, o, c, describe(t, kt.name) + " packed range")) ++failures;
  });
}

void gemms(const std::vector<mha_sbgemm_kernels>& tables, bool quick) {
  const int64_t sizes[] = {1, 3, 7, 33, 129};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes) {
        const int tr = (int)((m + 2 * n + 3 * k) % 4);
        run(tables, {1, m, n, k, tr & 1, tr >> 1, false, 1.0f, 0.0f, (m + k) % 2 == 0, (m + n + k) % 3});
      }
  // 1000 in each dimension; all three large only outside the quick runs.
  run(tables, {1, 1000, 33, 129, 0, 1, false, 1.0f, 0.0f, true, 0});
  run(tables, {1, 7, 1000, 33, 1, 0, false, 1.0f, 0.0f, false, 1});
  run(tables, {1, 33, 129, 1000, 0, 0, false, 1.0f, 0.0f, true, 2});
  run(tables, {1, 129, 1000, 7, 0, 1, false, -0.5f, 0.0f, true, 0});
  if (!quick) run(tables, {1, 1000, 1000, 1000, 0, 1, false, 1.0f, 0.0f, true, 0});
  // alpha, beta (beta = 0 over NaN), bias, both transposes, strided and shared-B batches;
  // n = 31 (column edge tiles) and 64 (full-width tiles over short row blocks: edge rows).
  for (int64_t n : {31, 64})
    for (float beta : {0.0f, 0.5f})
      for (int tr = 0; tr < 4; ++tr)
        for (int shared = 0; shared < 2; ++shared)
          run(tables, {5, 33, n, 13, tr & 1, tr >> 1, shared != 0, tr == 2 ? -0.75f : 1.0f, beta,
                       shared == 0, 3});
  run(tables, {2, 7, 5, 0, 0, 0, false, 1.0f, 0.0f, true, 1});  // k = 0: C = beta C + bias
  run(tables, {1, 400, 300, 800, 0, 0, false, 1.0f, 0.5f, true, 2});
  run(tables, {3, 130, 131, 257, 0, 1, false, 1.0f, 1.0f, false, 1});
  run(tables, {24, 128, 128, 64, 0, 1, false, 0.125f, 0.0f, false, 0});
  for (const mha_sbgemm_kernels& kt : tables) {
    for (int64_t m : {1, 3, 33, 129})
      for (int64_t n : {1, 7, 129})
        for (int64_t k : {1, 33, 129}) run_packed(kt, m, n, k, 1, (m + n + k) % 2 == 0);
    run_packed(kt, 300, 257, 600, 1, true);
    run_packed(kt, 32, 256, 768, 1, true);
    run_packed(kt, 64, 96, 300, 0, true);
    run_packed(kt, 9, 40, 0, 1, true);
    for (int64_t m : {1, 7, 33, 129}) {  // ranges: whole, inner, up to the edges, past several depth blocks
      run_packed_range(kt, m, 129, 33, 1, {0, 33, 0, 129}, m % 2 == 0);
      run_packed_range(kt, m, 200, 70, 0, {16, 48, 64, 128}, true);
      run_packed_range(kt, m, 129, 129, 1, {96, 129, 96, 129}, false);
      run_packed_range(kt, m, 100, 1500, 0, {64, 1400, 32, 99}, true);
    }
  }
}

// ---- Dispatch

void dispatch(const char* isa) {
  const mha_kernel_table* kt = mha_kernels();
  // An explicit level without bfloat16 instructions runs the emulated kernels.
  if (strcmp(kt->bf16->path, "emulated") != 0) fail("%s", "MHA_NATIVE_ISA level's bf16 path is not emulated");
  if (strcmp(kt->isa, isa) != 0 && strcmp(isa, "bogus") != 0) fail("%s", "dispatch picked another set");
  // mha_sgemm with precision bfloat16 runs the table's bfloat16 kernels.
  run({*kt->bf16}, {1, 40, 70, 90, 0, 1, false, 1.0f, 0.0f, true, 0});
  {
    const Case t{1, 40, 70, 90, 0, 1, false, 1.0f, 0.0f, true, 0};
    Operands o = make(t);
    std::vector<float> c = o.c;
    const mha_gemm_args g = args_of(t, o, c);
    mha_sgemm(&g);
    if (!check(t, o, c, "mha_sgemm precision bfloat16")) ++failures;
    mha_packed_b* pb = mha_pack_b_bf16(o.b.data(), o.ldb, 1, t.k, t.n);
    c = o.c;
    mha_sgemm_packed(t.m, o.a.data(), o.lda, pb, c.data(), o.ldc, o.bias.data());
    mha_packed_b_free(pb);
    if (!check(t, o, c, "mha_pack_b_bf16 + mha_sgemm_packed")) ++failures;
  }
#if defined(MHA_HAVE_AMX) && defined(MHA_HAVE_AVX512BF16)
  // The levels on made-up CPUs (nothing runs on them).
  const mha_cpu_features all{1, 1, 0, 1, 1}, no_bf16{1, 1, 0, 0, 0}, no_amx{1, 1, 0, 1, 0};
  struct { mha_cpu_features cpu; const char* request; const char* isa; const char* path; } cases[] = {
      {all, nullptr, "avx512", "amx"},           {all, "amx", "avx512", "amx"},
      {all, "avx512bf16", "avx512", "avx512bf16"}, {all, "avx512", "avx512", "emulated"},
      {all, "avx2", "avx2", "emulated"},         {all, "scalar", "scalar", "emulated"},
      {no_amx, nullptr, "avx512", "avx512bf16"}, {no_amx, "amx", "avx512", "avx512bf16"},
      {no_bf16, nullptr, "avx512", "emulated"},  {no_bf16, "avx512bf16", "avx512", "emulated"},
      {all, "bogus", "avx512", "amx"},
  };
  for (const auto& c : cases) {
    const mha_kernel_table t = mha_kernels_for(c.request, c.cpu);
    if (strcmp(t.isa, c.isa) != 0 || strcmp(t.bf16->path, c.path) != 0) {
      fprintf(stderr, "FAIL level %s: %s + bf16 %s, expected %s + %s\n", c.request ? c.request : "(best)",
              t.isa, t.bf16->path, c.isa, c.path);
      ++failures;
    }
  }
#endif
}

// The bfloat16 tables the kernel set `isa` runs on this CPU, with the blocks dispatch gives
// them here.
std::vector<mha_sbgemm_kernels> tables_for(const std::string& isa) {
  const mha_cpu_features cpu = mha_cpu_detect();
  std::vector<const mha_sbgemm_kernels*> t;
  if (isa == "scalar") t.push_back(&mha_sbgemm_kernels_scalar);
#if defined(MHA_HAVE_AVX2)
  if (isa == "avx2" && cpu.avx2_fma) t.push_back(&mha_sbgemm_kernels_avx2);
#endif
#if defined(MHA_HAVE_AVX512)
  if (isa == "avx512" && cpu.avx512) t.push_back(&mha_sbgemm_kernels_avx512);
#endif
#if defined(MHA_HAVE_AVX512BF16)
  if (isa == "avx512" && cpu.avx512_bf16) t.push_back(&mha_sbgemm_kernels_avx512bf16);
#endif
#if defined(MHA_HAVE_AMX)
  if (isa == "avx512" && cpu.amx_bf16) t.push_back(&mha_sbgemm_kernels_amx);
#endif
#if defined(MHA_HAVE_NEON)
  if (isa == "neon" && cpu.neon) t.push_back(&mha_sbgemm_kernels_neon);
#endif
  (void)cpu;
  std::vector<mha_sbgemm_kernels> out;
  for (const mha_sbgemm_kernels* k : t) out.push_back(mha_sbgemm_kernels_blocked(k, mha_cpu_cache_sizes()));
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || strcmp(argv[1], "--isa") != 0) {
    fprintf(stderr, "usage: sbgemm_test --isa <kernel set>\n");
    return 2;
  }
  const char* isa = argv[2];
  setenv("MHA_NATIVE_ISA", isa, 1);
  const bool quick = getenv("MHA_TEST_QUICK") != nullptr;
  rounding();
  layouts();
  amx_program();
  const std::vector<mha_sbgemm_kernels> tables = tables_for(isa);
  std::string names;
  for (const mha_sbgemm_kernels& kt : tables) names += std::string(" ") + kt.name;
  if (tables.empty()) {
    printf("%s: not available here (dispatch chose %s)\n", isa, mha_kernels()->isa);
  } else {
    dispatch(isa);
    for (int threads : {1, 2, 3}) {
      mha::set_num_threads(threads);
      gemms(tables, quick);
    }
  }
  const mha_cpu_features cpu = mha_cpu_detect();
  printf("%s (bf16 tables:%s; cpu avx512_bf16=%d amx_bf16=%d): %s\n", isa, names.c_str(),
         cpu.avx512_bf16, cpu.amx_bf16, failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
