// Standalone GEMM test (no Node): every kernel set this CPU supports against a naive
// double-precision reference, on edge sizes, both transposes, strided and shared-B batches,
// alpha/beta (beta = 0 over NaN), bias, k = 0 and the packed-B path, at several thread counts,
// with guard values around every C matrix to catch out-of-bounds writes.
//   gemm_test               runs itself once per ISA (MHA_NATIVE_ISA=<isa> gemm_test --isa <isa>)
//   gemm_test --isa <isa>   tests the kernel set dispatch picks under MHA_NATIVE_ISA=<isa>
// Exits nonzero on any failure. Built and run by ctest for every kernel set and under the
// sanitizers and qemu-aarch64: tools/native-tests.sh (CMakeLists.txt, -DMHA_NATIVE_TESTS=ON).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/cpu.h"
#include "core/dispatch.h"
#include "core/gemm.h"
#include "core/threadpool.h"
#include "core/tuning.h"
#include "gemm_cases.h"

namespace {

using namespace gemm_cases;

std::atomic<int> failures{0};

// Checks C (after the call) against the reference computed from `o` (C before the call).
bool check(const Case& t, const Operands& o, const std::vector<float>& c, const char* what) {
  for (int64_t e = 0; e < t.batch; ++e) {
    const float* a = o.a.data() + e * o.sa;
    const float* b = o.b.data() + e * o.sb;
    for (int64_t i = 0; i < t.m; ++i)
      for (int64_t j = 0; j < t.n; ++j) {
        double sum = 0, mag = 0;
        for (int64_t p = 0; p < t.k; ++p) {
          double x = t.ta ? a[p * o.lda + i] : a[i * o.lda + p];
          double y = t.tb ? b[j * o.ldb + p] : b[p * o.ldb + j];
          sum += x * y;
          mag += fabs(x * y);
        }
        int64_t at = e * o.sc + i * o.ldc + j;
        double ref = t.alpha * sum, bound = fabs(t.alpha) * mag;
        if (t.beta != 0.0f) {
          ref += (double)t.beta * o.c[at];
          bound += fabs(t.beta * o.c[at]);
        }
        if (t.bias) {
          ref += o.bias[j];
          bound += fabs(o.bias[j]);
        }
        double tol = 1e-6 * (t.k + 4) * (bound + 1e-30);
        if (!(fabs(c[at] - ref) <= tol)) {
          fprintf(stderr,
                  "FAIL %s batch=%lld m=%lld n=%lld k=%lld ta=%d tb=%d shared_b=%d alpha=%g "
                  "beta=%g bias=%d pad=%lld: C[%lld][%lld][%lld] = %.9g, expected %.9g\n",
                  what, (long long)t.batch, (long long)t.m, (long long)t.n, (long long)t.k, t.ta,
                  t.tb, t.shared_b, t.alpha, t.beta, t.bias, (long long)t.pad, (long long)e,
                  (long long)i, (long long)j, c[at], ref);
          return false;
        }
      }
  }
  // Everything outside the C matrices keeps its guard value.
  for (size_t x = 0; x < c.size(); ++x) {
    int64_t e = (int64_t)x / o.sc, r = (int64_t)x % o.sc;
    bool inside = e < t.batch && r / o.ldc < t.m && r % o.ldc < t.n;
    if (!inside && c[x] != kGuard) {
      fprintf(stderr, "FAIL %s m=%lld n=%lld k=%lld: wrote outside C at offset %zu\n", what,
              (long long)t.m, (long long)t.n, (long long)t.k, x);
      return false;
    }
  }
  return true;
}

void run_sgemm(const Case& t) {
  Operands o = make(t);
  std::vector<float> c = o.c;
  mha_gemm_args g{t.batch, t.m, t.n, t.k,
                  o.a.data(), o.lda, o.sa, t.ta,
                  o.b.data(), o.ldb, o.sb, t.tb,
                  c.data(), o.ldc, o.sc,
                  t.alpha, t.beta, t.bias ? o.bias.data() : nullptr, MHA_PRECISION_FLOAT32};
  mha_sgemm(&g);
  if (!check(t, o, c, "mha_sgemm")) ++failures;
}

// The packed-B path: C = A * op(B) (+ bias), beta = 0, A not transposed, one matrix.
void run_packed(int64_t m, int64_t n, int64_t k, int tb, bool bias, int64_t pad) {
  Case t{1, m, n, k, 0, tb, true, 1.0f, 0.0f, bias, pad};
  Operands o = make(t);
  std::vector<float> c = o.c;
  mha_packed_b* pb = mha_pack_b(o.b.data(), o.ldb, tb, k, n);
  if (mha_packed_b_k(pb) != k || mha_packed_b_n(pb) != n) {
    fprintf(stderr, "FAIL packed_b dims\n");
    ++failures;
  }
  mha_sgemm_packed(m, o.a.data(), o.lda, pb, c.data(), o.ldc, bias ? o.bias.data() : nullptr);
  mha_packed_b_free(pb);
  if (!check(t, o, c, "mha_sgemm_packed")) ++failures;
}

// A range of a packed operand (mha_sgemm_packed_range) against the same product with that block
// of B as its own operand.
void run_packed_range(int64_t m, int64_t n, int64_t k, int tb, mha_packed_range r, bool bias) {
  packed_range_case(m, n, k, tb, r, bias, mha_pack_b, [](const Case& t, const Operands& o, const std::vector<float>& c) {
    if (!check(t, o, c, "mha_sgemm_packed_range")) ++failures;
  });
}

void edge_sizes() {
  const int64_t sizes[] = {1, 2, 3, 7, 13, 31, 33, 64, 129};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes)
        for (int tr = 0; tr < 4; ++tr) {
          int64_t pad = (m + n + k + tr) % 3;  // mixes padded and tight layouts
          run_sgemm({1, m, n, k, tr & 1, tr >> 1, false, 1.0f, 0.0f, false, pad});
        }
}

void features() {
  // alpha/beta/bias combinations, strided and shared-B batches, both transposes; n = 31
  // (column edge tiles, through the framework's buffer) and n = 64 (full-width tiles whose
  // last row block is short: the edge-row kernels, for every tile height here).
  const float alphas[] = {1.0f, -0.75f};
  const float betas[] = {0.0f, 1.0f, 0.5f};
  for (int64_t n : {31, 64})
    for (float alpha : alphas)
      for (float beta : betas)
        for (int bias = 0; bias < 2; ++bias)
          for (int tr = 0; tr < 4; ++tr)
            for (int shared = 0; shared < 2; ++shared)
              run_sgemm({5, 33, n, 13, tr & 1, tr >> 1, shared != 0, alpha, beta, bias != 0, 3});
  // k = 0: C = beta * C (+ bias).
  run_sgemm({2, 7, 5, 0, 0, 0, false, 1.0f, 0.0f, true, 1});
  run_sgemm({2, 7, 5, 0, 1, 1, false, 1.0f, 0.5f, false, 1});
}

void blocking() {
  // Past every cache block: k > 2 kc, m > mc, n > nc; the few-large-entries path (batch 3).
  run_sgemm({1, 400, 300, 800, 0, 0, false, 1.0f, 0.5f, true, 2});
  run_sgemm({1, 401, 77, 521, 1, 1, false, -1.0f, 0.0f, false, 0});
  run_sgemm({1, 5, 4100, 19, 0, 1, false, 1.0f, 0.0f, true, 0});
  run_sgemm({3, 130, 131, 257, 0, 1, false, 1.0f, 1.0f, false, 1});
  run_sgemm({2, 300, 200, 300, 1, 0, true, 1.0f, 0.0f, true, 1});
  // Split by columns, each slice packing its own B one depth block at a time: one row block
  // (m <= mc) or several (n >= m), wide slices (A packed), transposes, alpha, beta and bias.
  run_sgemm({1, 200, 1000, 300, 1, 1, false, -0.5f, 0.5f, true, 2});
  run_sgemm({1, 37, 515, 70, 0, 0, false, 1.0f, 1.0f, true, 1});
  run_sgemm({1, 400, 900, 800, 1, 0, false, 0.75f, 0.5f, true, 1});
  run_sgemm({1, 790, 800, 500, 0, 1, false, 1.0f, 0.0f, false, 0});
  // Attention shapes: many small GEMMs.
  run_sgemm({24, 128, 128, 64, 0, 1, false, 0.125f, 0.0f, false, 0});
  run_sgemm({24, 128, 64, 128, 0, 0, false, 1.0f, 0.0f, false, 0});
  run_sgemm({17, 33, 129, 64, 0, 1, true, 1.0f, 0.0f, true, 0});
}

void packed() {
  const int64_t sizes[] = {1, 3, 13, 33, 129};
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes) run_packed(m, n, k, 1, (m + n + k) % 2 == 0, k % 2);
  run_packed(300, 257, 600, 1, true, 1);
  run_packed(64, 96, 300, 0, true, 0);
  run_packed(9, 40, 0, 1, true, 0);
  // Ranges: whole, inner columns and depths, up to the edges, past several depth blocks.
  for (int64_t m : {1, 7, 33, 129})
    for (int tb : {0, 1}) {
      run_packed_range(m, 129, 33, tb, {0, 33, 0, 129}, m % 2 == 0);
      run_packed_range(m, 200, 70, tb, {16, 48, 64, 128}, true);
      run_packed_range(m, 129, 129, tb, {96, 129, 96, 129}, false);
      run_packed_range(m, 100, 1500, tb, {64, 1400, 32, 99}, true);
    }
}

// Several threads calling at once (serialized by the pool) and a nested parallel_for.
void concurrency() {
  std::atomic<int> bad{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 5; ++rep) {
        int before = failures.load();
        run_sgemm({4, 129, 70, 150, 0, 1, false, 1.0f, 0.0f, true, 1});
        if (failures.load() != before) bad.fetch_add(1);
      }
    });
  for (std::thread& t : callers) t.join();
  mha::parallel_for(4, mha::kMinParallelFlops, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) run_sgemm({3, 65, 40, 33, 0, 0, false, 1.0f, 0.0f, false, 0});
  });
  if (bad.load()) fprintf(stderr, "FAIL concurrent callers\n");
}

bool supported(const std::string& isa) {
  mha_cpu_features f = mha_cpu_detect();
  if (isa == "scalar") return true;
#if defined(MHA_HAVE_AVX2)
  if (isa == "avx2") return f.avx2_fma != 0;
#endif
#if defined(MHA_HAVE_AVX512)
  if (isa == "avx512") return f.avx512 != 0;
#endif
#if defined(MHA_HAVE_NEON)
  if (isa == "neon") return f.neon != 0;
#endif
  (void)f;
  return false;
}

int test_isa(const char* isa) {
  setenv("MHA_NATIVE_ISA", isa, 1);
  const mha_kernel_table* kt = mha_kernels();
  if (!supported(isa)) {
    // A request for an ISA the CPU/build lacks (or an unknown name) gets the best supported
    // kernel set, and the table names that real choice.
    const char* best = "scalar";
    for (const char* cand : {"neon", "avx2", "avx512"})
      if (supported(cand)) best = cand;
    bool ok = strcmp(kt->isa, best) == 0;
    printf("%s: not available here, dispatch chose %s (%s)\n", isa, kt->isa, ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
  }
  if (strcmp(kt->isa, isa) != 0) {
    fprintf(stderr, "FAIL MHA_NATIVE_ISA=%s but dispatch chose %s\n", isa, kt->isa);
    return 1;
  }
  const int thread_counts[] = {1, 2, 3};
  for (int threads : thread_counts) {
    mha::set_num_threads(threads);
    edge_sizes();
    features();
    blocking();
    packed();
  }
  concurrency();
  printf("%s (%s): %s\n", isa, kt->gemm->name, failures.load() ? "FAILED" : "ok");
  return failures.load() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "--isa") == 0) return test_isa(argv[2]);
  int status = 0;
  const char* isas[] = {"scalar", "avx2", "avx512", "neon", "bogus"};
  for (const char* isa : isas) {
    std::string cmd = std::string("'") + argv[0] + "' --isa " + isa;
    if (system(cmd.c_str()) != 0) status = 1;
  }
  printf(status ? "gemm_test: FAILED\n" : "gemm_test: all passed\n");
  return status;
}
