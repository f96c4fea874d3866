/* FMA throughput probe: the machine's float32 compute ceiling for the benchmark's "% of peak".
 * Usage: fma_peak THREADS  ->  one JSON line {"isa","threads","gflops"}.
 * Each thread runs CHAINS independent FMA dependency chains (16 > latency 4 x 2 FMA ports), so
 * the loop is bound by FMA issue, not latency; AVX-512 (zmm, 16 lanes) when the CPU has it
 * (runtime check, code compiled via target attributes), else AVX2+FMA (ymm, 8 lanes).
 * 100 trials of ~10 ms, all threads started through one barrier each time; the result is the sum
 * over threads of each thread's best rate (its FLOPs over its own run time, while the others run
 * too): on a shared machine one preempted thread would otherwise stretch a whole trial.
 * "median_gflops" is the median trial's sum of rates: what the cores gave most of the time (on a
 * shared VM it can be half the best: two threads getting one core's FMA throughput, as when the
 * host runs both vCPUs on the two hyperthreads of one core). */
#include "probe_common.h"
#include <immintrin.h>
#include <stdio.h>

#define CHAINS 16
#define TRIALS 100

struct fma_job { long iters; int avx512; float sink; };

#define FMA_BODY(VEC, SET1, FMADD, ADD, STORE_SUM)                                    \
  VEC acc[CHAINS];                                                                    \
  for (int c = 0; c < CHAINS; c++) acc[c] = SET1(1.0f + 0.001f * c);                \
  const VEC mul = SET1(0.9999999f), add = SET1(1e-7f);                               \
  for (long i = 0; i < iters; i++) {                                                  \
    _Pragma("GCC unroll 16") for (int c = 0; c < CHAINS; c++) acc[c] = FMADD(acc[c], mul, add); \
  }                                                                                   \
  VEC total = acc[0];                                                                 \
  for (int c = 1; c < CHAINS; c++) total = ADD(total, acc[c]);                        \
  STORE_SUM;

__attribute__((target("avx512f"))) static float fma_chains_avx512(long iters) {
  float out[16];
  FMA_BODY(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps(out, total))
  return out[0];
}

__attribute__((target("avx2,fma"))) static float fma_chains_avx2(long iters) {
  float out[8];
  FMA_BODY(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps(out, total))
  return out[0];
}

static void *fma_thread(void *p) {
  struct fma_job *job = p;
  job->sink = job->avx512 ? fma_chains_avx512(job->iters) : fma_chains_avx2(job->iters);
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  if (threads < 1 || threads > 256) { fprintf(stderr, "threads must be 1..256\n"); return 2; }
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512 && !__builtin_cpu_supports("avx2")) { fprintf(stderr, "no AVX2\n"); return 3; }
  double flops_per_iter = CHAINS * (avx512 ? 16 : 8) * 2.0;

  struct fma_job jobs[256];
  void *args[256];
  long iters = 1 << 16;
  for (;;) { /* calibrate: one thread, grow until a run takes >= 10 ms */
    jobs[0] = (struct fma_job){iters, avx512, 0};
    args[0] = &jobs[0];
    if (run_threads(1, fma_thread, args, NULL) >= 0.01) break;
    iters *= 2;
  }
  double best[256] = {0}, sink = 0, seconds[256], trial_gflops[TRIALS] = {0};
  for (int trial = 0; trial < TRIALS; trial++) {
    for (int i = 0; i < threads; i++) { jobs[i] = (struct fma_job){iters, avx512, 0}; args[i] = &jobs[i]; }
    run_threads(threads, fma_thread, args, seconds);
    for (int i = 0; i < threads; i++) {
      double rate = flops_per_iter * iters / seconds[i];
      if (rate > best[i]) best[i] = rate;
      trial_gflops[trial] += rate / 1e9;
      sink += jobs[i].sink;
    }
  }
  double gflops = 0;
  for (int i = 0; i < threads; i++) gflops += best[i] / 1e9;
  qsort(trial_gflops, TRIALS, sizeof(double), compare_doubles);
  printf("{\"isa\":\"%s\",\"threads\":%d,\"gflops\":%.3f,\"median_gflops\":%.3f,\"sink\":%g}\n",
         avx512 ? "avx512" : "avx2", threads, gflops, trial_gflops[TRIALS / 2], sink);
  return 0;
}
