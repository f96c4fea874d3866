// GEMM benchmark (tuning tool, not a test): GFLOP/s of mha_sgemm / mha_sgemm_packed on square
// and attention shapes for the kernel set dispatch picks (set MHA_NATIVE_ISA to choose), at
// the given thread counts, each next to the FMA peak (an AVX-512 FMA-throughput probe on as
// many threads, measured just before it) on x86-64 machines with AVX-512; then the bfloat16
// GEMM (mha_kernels()->bf16) against float32 on the packed-weight projection shapes and one
// square, with the speedup (float32 time / bfloat16 time; the two are timed alternately).
//   gemm_bench [threads...]      (default: 1 2)
//   gemm_bench --bf16 [threads...]   only the bfloat16 rows
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <functional>
#include <vector>

#include "bench/bench_clock.h"
#include "core/cpu.h"
#include "core/dispatch.h"
#include "core/gemm.h"
#include "core/threadpool.h"
#include "core/tuning.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using mha_bench::cpu_seconds;
using mha_bench::wall_seconds;

// Best wall time of repeated runs (at least 3, for about 2 s) after one warm-up, and the CPU
// time of that run: this machine is shared, so the best run is the one that found the cores
// free, and GFLOP per CPU-second shows the speed on the cores the run got.
struct Timing { double wall, cpu; };

Timing best_time(const std::function<void()>& fn) {
  fn();
  Timing best{1e30, 1e30};
  const double start = wall_seconds();
  for (int r = 0; r < 3 || (wall_seconds() - start < 2.0 && r < 500); ++r) {
    double t0 = wall_seconds(), c0 = cpu_seconds();
    fn();
    double t = wall_seconds() - t0, c = cpu_seconds() - c0;
    if (t < best.wall) best = {t, c};
  }
  return best;
}

#if defined(__x86_64__)
// 12 independent zmm FMA chains per thread: 32 flops each.
__attribute__((target("avx512f"))) double fma_probe_avx512(int64_t iters) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
  const __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  alignas(64) float out[16];
  for (int i = 1; i < 12; ++i) acc[0] = _mm512_add_ps(acc[0], acc[i]);
  _mm512_store_ps(out, acc[0]);
  return out[0];
}
#endif

// The FMA peak (GFLOP/s) on `threads` threads of the GEMM's own pool, or 0 without AVX-512:
// the best of many short runs, like the GEMM timings, and measured again right before every
// shape, as the load from other processes changes from one second to the next.
double fma_peak(int threads) {
#if defined(__x86_64__)
  if (!mha_cpu_detect().avx512) return 0;
  const int64_t iters = 1 << 19;
  double best = 0;
  for (int rep = 0; rep < 30; ++rep) {
    double t0 = wall_seconds();
    mha::parallel_for(threads, mha::kMinParallelFlops, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        volatile double r = fma_probe_avx512(iters);
        (void)r;
      }
    });
    best = std::max(best, threads * iters * 12 * 32.0 / (wall_seconds() - t0) / 1e9);
  }
  return best;
#else
  (void)threads;
  return 0;
#endif
}

int g_threads = 1;

void report(const char* label, double flops, Timing t, double peak) {
  printf("  %-34s %7.1f GFLOP/s (%8.3f ms) %6.1f GFLOP/CPU-s", label, flops / t.wall / 1e9,
         t.wall * 1e3, flops / t.cpu / 1e9);
  if (peak > 0) printf("  %5.1f%% of FMA peak %.0f", 100 * flops / t.wall / 1e9 / peak, peak);
  printf("\n");
}

void bench_gemm(const char* label, int64_t batch, int64_t m, int64_t n, int64_t k, int tb,
                bool shared_b) {
  std::vector<float> a(batch * m * k, 0.5f), b((shared_b ? 1 : batch) * k * n, 0.25f),
      c(batch * m * n);
  mha_gemm_args g{batch, m, n, k, a.data(), k, m * k, 0,
                  b.data(), tb ? k : n, shared_b ? 0 : k * n, tb,
                  c.data(), n, m * n, 1.0f, 0.0f, nullptr, MHA_PRECISION_FLOAT32};
  double flops = 2.0 * batch * m * n * k;
  double peak = fma_peak(g_threads);
  report(label, flops, best_time([&] { mha_sgemm(&g); }), peak);
}

// C = A (m x k) * W^T (W: [n, k]) + bias through a weight packed in float32 and in bfloat16,
// timed alternately (three rounds, the best of each): the speedup of bfloat16.
void bench_bf16(int64_t m, int64_t n, int64_t k) {
  std::vector<float> a(m * k, 0.5f), w(n * k, 0.25f), bias(n, 1.0f), c(m * n);
  mha_packed_b* p32 = mha_pack_b(w.data(), k, 1, k, n);
  mha_packed_b* p16 = mha_pack_b_bf16(w.data(), k, 1, k, n);
  Timing t32{1e30, 1e30}, t16{1e30, 1e30};
  for (int round = 0; round < 3; ++round) {
    Timing x = best_time([&] { mha_sgemm_packed(m, a.data(), k, p32, c.data(), n, bias.data()); });
    if (x.wall < t32.wall) t32 = x;
    x = best_time([&] { mha_sgemm_packed(m, a.data(), k, p16, c.data(), n, bias.data()); });
    if (x.wall < t16.wall) t16 = x;
  }
  const double gflop = 2.0 * m * n * k / 1e9;
  char label[64];
  snprintf(label, sizeof label, "%lldx%lldx%lld", (long long)m, (long long)k, (long long)n);
  printf("  packed %-20s f32 %7.1f GFLOP/s (%8.3f ms)  bf16 %7.1f GFLOP/s (%8.3f ms)  x%.2f\n",
         label, gflop / t32.wall, t32.wall * 1e3, gflop / t16.wall, t16.wall * 1e3,
         t32.wall / t16.wall);
  mha_packed_b_free(p32);
  mha_packed_b_free(p16);
}

void bench_packed(const char* label, int64_t m, int64_t n, int64_t k) {
  std::vector<float> a(m * k, 0.5f), w(n * k, 0.25f), bias(n, 1.0f), c(m * n);
  mha_packed_b* pb = mha_pack_b(w.data(), k, 1, k, n);
  double flops = 2.0 * m * n * k;
  double peak = fma_peak(g_threads);
  report(label, flops,
         best_time([&] { mha_sgemm_packed(m, a.data(), k, pb, c.data(), n, bias.data()); }),
         peak);
  mha_packed_b_free(pb);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> threads;
  bool bf16_only = false;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--bf16") == 0) bf16_only = true;
    else threads.push_back(atoi(argv[i]));
  }
  if (threads.empty()) threads = {1, 2};
  const mha_kernel_table* kt = mha_kernels();
  const mha_cache_sizes caches = mha_cpu_cache_sizes();
  printf("caches l1d %lld K, l2 %lld K, l3 %lld K\n", (long long)(caches.l1d >> 10),
         (long long)(caches.l2 >> 10), (long long)(caches.l3 >> 10));
  printf("isa %s, kernel %s (mr %d nr %d mc %d kc %d nc %d)\n", kt->isa, kt->gemm->name,
         kt->gemm->mr, kt->gemm->nr, kt->gemm->mc, kt->gemm->kc, kt->gemm->nc);
  printf("bf16 %s, kernel %s (mr %d nr %d mc %d kc %d nc %d)\n", kt->bf16->path, kt->bf16->name,
         kt->bf16->mr, kt->bf16->nr, kt->bf16->mc, kt->bf16->kc, kt->bf16->nc);
  for (int t : threads) {
    mha::set_num_threads(t);
    if (bf16_only) {
      printf("threads %d\n", t);
      bench_bf16(1024, 2304, 768);
      bench_bf16(1024, 768, 768);
      bench_bf16(32, 768, 256);
      bench_bf16(2048, 2048, 2048);
      continue;
    }
    mha::set_num_threads(t);
    g_threads = t;
    printf("threads %d\n", t);
    bench_gemm("256^3", 1, 256, 256, 256, 0, false);
    bench_gemm("1024^3", 1, 1024, 1024, 1024, 0, false);
    bench_gemm("2048^3", 1, 2048, 2048, 2048, 0, false);
    bench_gemm("96 x [128x64]x[64x128]^T (QK^T)", 96, 128, 128, 64, 1, false);
    bench_gemm("96 x [128x128]x[128x64] (PV)", 96, 128, 64, 128, 0, false);
    bench_packed("packed 1024x768 * W[768,768]^T", 1024, 768, 768);
    bench_packed("packed 8x768 * W[2304,768]^T", 8, 2304, 768);
    printf(" bfloat16 against float32, packed weights (m x k x n)\n");
    bench_bf16(1024, 2304, 768);
    bench_bf16(1024, 768, 768);
    bench_bf16(32, 768, 256);
    bench_bf16(2048, 2048, 2048);
  }
  return 0;
}
