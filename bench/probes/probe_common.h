/* Shared by the probes: wall clock, a comparator for qsort, and a "start all threads together" helper.
 * run_threads() starts n threads on fn(arg_i), releases them through one barrier and returns
 * the wall time from the first thread's start to the last thread's end, in seconds; each
 * thread stamps its own times (in seconds[i] when seconds is not NULL), so a preempted main
 * thread cannot shorten the measurement. */
#ifndef PROBE_COMMON_H
#define PROBE_COMMON_H
#define _GNU_SOURCE
#include <pthread.h>
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
#endif
