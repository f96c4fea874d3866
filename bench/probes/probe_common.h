/* Shared by the probes: wall clock, a comparator for qsort, a "start all threads together" helper,
 * and the serve mode's request loop.
 * run_threads() starts n threads on fn(arg_i), releases them through one barrier and returns
 * the wall time from the first thread's start to the last thread's end, in seconds; each
 * thread stamps its own times (in seconds[i] when seconds is not NULL), so a preempted main
 * thread cannot shorten the measurement. */
#ifndef PROBE_COMMON_H
#define PROBE_COMMON_H
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline int compare_doubles(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef void *(*probe_fn)(void *);
static pthread_barrier_t start_barrier;
struct probe_task { probe_fn fn; void *arg; double start, end; };

static inline void *probe_trampoline(void *p) {
  struct probe_task *t = p;
  pthread_barrier_wait(&start_barrier);
  t->start = now_seconds();
  t->fn(t->arg);
  t->end = now_seconds();
  return NULL;
}

static inline double run_threads(int n, probe_fn fn, void **args, double *seconds) {
  pthread_t tid[256];
  struct probe_task tasks[256];
  pthread_barrier_init(&start_barrier, NULL, (unsigned)n + 1);
  for (int i = 0; i < n; i++) {
    tasks[i].fn = fn;
    tasks[i].arg = args[i];
    pthread_create(&tid[i], NULL, probe_trampoline, &tasks[i]);
  }
  pthread_barrier_wait(&start_barrier);
  double t0 = 1e300, t1 = 0;
  for (int i = 0; i < n; i++) {
    pthread_join(tid[i], NULL);
    if (tasks[i].start < t0) t0 = tasks[i].start;
    if (tasks[i].end > t1) t1 = tasks[i].end;
    if (seconds) seconds[i] = tasks[i].end - tasks[i].start;
  }
  pthread_barrier_destroy(&start_barrier);
  return t1 - t0;
}

/* One timed call of a served probe (its own seconds). */
typedef double (*timed_call_fn)(void *arg);

/* A paired burst: calls, each timed on its own, until max_seconds have passed and min_samples
 * were taken; answers with their median: one line {"median": seconds, "n": calls} (the Node
 * side's burst is timed the same way, bench/timing.mjs burstMedian). */
static inline void print_burst_median(timed_call_fn call, void *arg, double max_seconds, int min_samples) {
  size_t n = 0, cap = 1024;
  double *t = malloc(cap * sizeof(double));
  double start = now_seconds();
  while (t && (n < (size_t)min_samples || now_seconds() - start < max_seconds)) {
    if (n == cap) t = realloc(t, (cap *= 2) * sizeof(double));
    if (!t) break;
    t[n++] = call(arg);
  }
  if (!t) { fprintf(stderr, "out of memory\n"); exit(3); }
  qsort(t, n, sizeof(double), compare_doubles);
  printf("{\"median\":%.9f,\"n\":%zu}\n", t[n / 2], n);
  fflush(stdout);
  free(t);
}

/* The serve mode (bench/serve.mjs), after the probe's ready line: one burst per stdin line
 * "SECONDS MIN_SAMPLES" until stdin closes. Returns 0, or 2 on a malformed request. */
static inline int serve_requests(timed_call_fn call, void *arg) {
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    double seconds;
    int samples;
    if (sscanf(line, "%lf %d", &seconds, &samples) != 2 || samples < 1) {
      fprintf(stderr, "bad request: %s", line);
      return 2;
    }
    print_burst_median(call, arg, seconds, samples);
  }
  return 0;
}
#endif
