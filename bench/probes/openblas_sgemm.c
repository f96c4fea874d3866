/* OpenBLAS SGEMM peer for the G1/G2 workloads: C = A x B, row-major float32.
 * Usage: openblas_sgemm M N K THREADS MAX_SECONDS MIN_SAMPLES A.bin B.bin C.bin
 * Reads A [M,K] and B [K,N], runs one untimed call and writes its C [M,N] to C.bin (for the
 * numeric check), then times single calls until MAX_SECONDS have passed and MIN_SAMPLES were
 * taken. Prints one JSON line {"samples": [seconds per call...], "config": "..."}. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

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

int main(int argc, char **argv) {
  if (argc != 10) { fprintf(stderr, "usage: openblas_sgemm M N K THREADS MAX_S MIN_N A B C\n"); return 2; }
  int m = atoi(argv[1]), n = atoi(argv[2]), k = atoi(argv[3]), threads = atoi(argv[4]);
  double max_seconds = atof(argv[5]);
  int min_samples = atoi(argv[6]);
  if (m < 1 || n < 1 || k < 1 || threads < 1 || min_samples < 1) { fprintf(stderr, "bad sizes\n"); return 2; }
  float *a = read_matrix(argv[7], (size_t)m * k), *b = read_matrix(argv[8], (size_t)k * n);
  float *c = malloc((size_t)m * n * sizeof(float));
  openblas_set_num_threads(threads);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
  FILE *f = fopen(argv[9], "wb");
  if (!f || fwrite(c, sizeof(float), (size_t)m * n, f) != (size_t)m * n) { fprintf(stderr, "cannot write C\n"); return 3; }
  fclose(f);
  printf("{\"config\":\"%s\",\"samples\":[", openblas_get_config());
  double start = now_seconds();
  for (int i = 0; i < min_samples || now_seconds() - start < max_seconds; i++) {
    double t0 = now_seconds();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    printf("%s%.9f", i ? "," : "", now_seconds() - t0);
  }
  printf("]}\n");
  return 0;
}
