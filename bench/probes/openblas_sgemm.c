/* OpenBLAS SGEMM peer for the gemm workloads: C = A x B, row-major float32, BATCH products.
 * Usage: openblas_sgemm BATCH M N K THREADS MODE MAX_SECONDS MIN_SAMPLES A.bin B.bin C.bin
 * Reads A [BATCH,M,K] and B [BATCH,K,N]. MODE says how the batch is run:
 *   loop   one cblas_sgemm per product, one after another, each using OpenBLAS's own THREADS
 *          threads (OPENBLAS_NUM_THREADS);
 *   split  the batch split into THREADS contiguous slices, one per thread of a pool started
 *          once (the calling thread is one of them), each calling cblas_sgemm with OpenBLAS
 *          single-threaded: how a framework runs many small products.
 * Runs one untimed call and writes its C [BATCH,M,N] to C.bin (for the numeric check), then
 * times calls (all BATCH products each) in batches of at least 50 ms until MAX_SECONDS have
 * passed and MIN_SAMPLES were taken. Prints one JSON line {"config": "...", "samples": [seconds
 * per call of each batch...]}.
 * With MAX_SECONDS = serve, it prints {"config": "..."} after the untimed call and then serves
 * requests, one per stdin line "SECONDS MIN_SAMPLES": a burst of calls timed the same way,
 * answered by one line {"median": seconds per call, "n": calls}, until stdin closes. The
 * benchmark alternates these bursts with bursts of its own (paired timing). */
#include "probe_common.h"
#include <cblas.h>
#include <stdio.h>
#include <string.h>

struct problem {
  int batch, m, n, k;
  const float *a, *b;
  float *c;
};

/* The split mode's pool: every call, all threads pass `start`, run their slice, pass `done`. */
struct pool {
  const struct problem *p;
  int threads, stop;
  pthread_barrier_t start, done;
};

struct worker {
  struct pool *pool;
  int id;
};

static float *read_matrix(const char *path, size_t count) {
  float *m = malloc(count * sizeof(float));
  FILE *f = fopen(path, "rb");
  if (!m || !f || fread(m, sizeof(float), count, f) != count) {
    fprintf(stderr, "cannot read %zu floats from %s\n", count, path);
    exit(3);
  }
  fclose(f);
  return m;
}

/* Products [from, to) of the batch. */
static void sgemm_range(const struct problem *p, int from, int to) {
  size_t a_step = (size_t)p->m * p->k, b_step = (size_t)p->k * p->n, c_step = (size_t)p->m * p->n;
  for (int i = from; i < to; i++) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->m, p->n, p->k, 1.0f, p->a + i * a_step, p->k,
                p->b + i * b_step, p->n, 0.0f, p->c + i * c_step, p->n);
  }
}

static void run_slice(struct pool *pool, int id) {
  const struct problem *p = pool->p;
  sgemm_range(p, (int)((long)p->batch * id / pool->threads), (int)((long)p->batch * (id + 1) / pool->threads));
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  for (;;) {
    pthread_barrier_wait(&w->pool->start);
    if (w->pool->stop) return NULL;
    run_slice(w->pool, w->id);
    pthread_barrier_wait(&w->pool->done);
  }
}

/* One call: all products, by the calling thread (loop) or by the pool (split). */
static void run_call(const struct problem *p, struct pool *pool) {
  if (!pool) {
    sgemm_range(p, 0, p->batch);
    return;
  }
  pthread_barrier_wait(&pool->start);
  run_slice(pool, 0);
  pthread_barrier_wait(&pool->done);
}

/* Samples like every other peer's timer (benchmark.js for the Node peers, torch_peer.py's
 * measure): calls in batches lasting at least MIN_BATCH_SECONDS (the batch size doubled until
 * one does), each sample a batch's seconds per call, until max_seconds have passed and
 * min_samples were taken; prints them comma-separated. */
#define MIN_BATCH_SECONDS 0.05

static double time_batch(const struct problem *p, struct pool *pool, long batch) {
  double t0 = now_seconds();
  for (long i = 0; i < batch; i++) run_call(p, pool);
  return now_seconds() - t0;
}

static void print_samples(const struct problem *p, struct pool *pool, double max_seconds, int min_samples) {
  long batch = 1;
  while (time_batch(p, pool, batch) < MIN_BATCH_SECONDS && batch < 1L << 20) batch *= 2;
  double start = now_seconds();
  for (int i = 0; i < min_samples || now_seconds() - start < max_seconds; i++)
    printf("%s%.9f", i ? "," : "", time_batch(p, pool, batch) / batch);
}

/* One call of the served problem, timed (serve mode). */
struct served { const struct problem *p; struct pool *pool; };
static double timed_call(void *arg) {
  const struct served *s = arg;
  double t0 = now_seconds();
  run_call(s->p, s->pool);
  return now_seconds() - t0;
}

int main(int argc, char **argv) {
  if (argc != 12) {
    fprintf(stderr, "usage: openblas_sgemm BATCH M N K THREADS loop|split MAX_S|serve MIN_N A B C\n");
    return 2;
  }
  int batch = atoi(argv[1]), m = atoi(argv[2]), n = atoi(argv[3]), k = atoi(argv[4]), threads = atoi(argv[5]);
  int split = strcmp(argv[6], "split") == 0;
  int serve = strcmp(argv[7], "serve") == 0;
  double max_seconds = serve ? 0 : atof(argv[7]);
  int min_samples = atoi(argv[8]);
  if (batch < 1 || m < 1 || n < 1 || k < 1 || threads < 1 || min_samples < 1
      || (!split && strcmp(argv[6], "loop") != 0)) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  size_t c_count = (size_t)batch * m * n;
  struct problem p = { batch, m, n, k, read_matrix(argv[9], (size_t)batch * m * k),
                       read_matrix(argv[10], (size_t)batch * k * n), malloc(c_count * sizeof(float)) };
  struct pool pool = { .p = &p, .threads = threads };
  pthread_t tids[threads];
  struct worker workers[threads];
  if (split) {
    openblas_set_num_threads(1);
    pthread_barrier_init(&pool.start, NULL, threads);
    pthread_barrier_init(&pool.done, NULL, threads);
    for (int t = 1; t < threads; t++) {
      workers[t] = (struct worker){ &pool, t };
      pthread_create(&tids[t], NULL, worker_main, &workers[t]);
    }
  } else {
    openblas_set_num_threads(threads);
  }
  struct pool *use = split ? &pool : NULL;
  run_call(&p, use);
  FILE *f = fopen(argv[11], "wb");
  if (!f || fwrite(p.c, sizeof(float), c_count, f) != c_count) { fprintf(stderr, "cannot write C\n"); return 3; }
  fclose(f);
  if (serve) {
    printf("{\"config\":\"%s\"}\n", openblas_get_config());
    fflush(stdout);
    struct served s = { &p, use };
    if (serve_requests(timed_call, &s)) return 2;
  } else {
    printf("{\"config\":\"%s\",\"samples\":[", openblas_get_config());
    print_samples(&p, use, max_seconds, min_samples);
    printf("]}\n");
  }
  if (split) {
    pool.stop = 1;
    pthread_barrier_wait(&pool.start);
    for (int t = 1; t < threads; t++) pthread_join(tids[t], NULL);
  }
  return 0;
}
