/* Streaming-read bandwidth probe: the memory ceiling for the decode workloads (W3, W7).
 * Usage: read_bw THREADS [MIB]  ->  one JSON line {"threads","bytes","gbps"}.
 * A buffer of MIB MiB (default 1024, well past the last-level cache for typical parts) is split
 * into one slice per thread; each thread first-touches its slice (so pages sit near it), then
 * every pass sums its slice with vector loads into 4 independent accumulators (AVX-512 when
 * the CPU has it, else AVX2). Best of 10 passes; GB/s = 1e9 bytes/s of all threads together.
 * The buffer asks for transparent huge pages: first-touching 1 GiB of 4 KiB pages is slow on VMs.
 * read_bw THREADS MIB serve: after the first touch it prints {"bytes": ...} and then serves
 * requests, one per stdin line "SECONDS MIN_SAMPLES": passes, each timed on its own, until
 * SECONDS have passed and MIN_SAMPLES were taken, answered by one line {"median": seconds per
 * pass, "n": passes}, until stdin closes. The benchmark alternates these bursts with bursts of
 * a memory-bound workload (paired timing), so both see the machine in nearly the same state. */
#include "probe_common.h"
#include <immintrin.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

struct read_job { float *base; size_t n; int avx512; float sink; };

__attribute__((target("avx512f"))) static float sum_avx512(const float *p, size_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p + i + 48));
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

__attribute__((target("avx2"))) static float sum_avx2(const float *p, size_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
  }
  float out[8];
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

static void *touch_thread(void *p) {
  struct read_job *job = p;
  for (size_t i = 0; i < job->n; i++) job->base[i] = (float)(i & 7);
  return NULL;
}

static void *read_thread(void *p) {
  struct read_job *job = p;
  job->sink = job->avx512 ? sum_avx512(job->base, job->n) : sum_avx2(job->base, job->n);
  return NULL;
}

/* One timed pass of every thread over its slice (serve mode). */
struct passes { int threads; void **args; };
static double timed_pass(void *arg) {
  const struct passes *ps = arg;
  return run_threads(ps->threads, read_thread, ps->args, NULL);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  long mib = argc > 2 ? atol(argv[2]) : 1024;
  int serve = argc > 3 && strcmp(argv[3], "serve") == 0;
  if (threads < 1 || threads > 256 || mib < 1 || (argc > 3 && !serve)) { fprintf(stderr, "bad arguments\n"); return 2; }
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f");
  size_t total = (size_t)mib << 20;
  size_t per = (total / threads) / 256 * 256; /* bytes per slice, 256-byte multiple */
  size_t huge = (size_t)2 << 20;
  float *buf = aligned_alloc(huge, (per * threads + huge - 1) / huge * huge);
  if (!buf) { fprintf(stderr, "cannot allocate %ld MiB\n", mib); return 3; }
  madvise(buf, per * threads, MADV_HUGEPAGE);
  struct read_job jobs[256];
  void *args[256];
  for (int i = 0; i < threads; i++) {
    jobs[i] = (struct read_job){buf + i * (per / sizeof(float)), per / sizeof(float), avx512, 0};
    args[i] = &jobs[i];
  }
  run_threads(threads, touch_thread, args, NULL);
  double bytes = (double)per * threads;
  if (serve) {
    printf("{\"bytes\":%.0f}\n", bytes);
    fflush(stdout);
    struct passes ps = { threads, args };
    return serve_requests(timed_pass, &ps);
  }
  double best = 1e30, sink = 0;
  for (int pass = 0; pass < 10; pass++) {
    double t = run_threads(threads, read_thread, args, NULL);
    if (t < best) best = t;
    for (int i = 0; i < threads; i++) sink += jobs[i].sink;
  }
  printf("{\"threads\":%d,\"bytes\":%.0f,\"gbps\":%.3f,\"sink\":%g}\n", threads, bytes,
         bytes / best / 1e9, sink);
  free(buf);
  return 0;
}
