// The clocks of the native benchmarks, in seconds: wall time, and the CPU time of the whole
// process (all threads), which tells the work apart from waiting for a loaded machine.
#pragma once
#include <time.h>

namespace mha_bench {

inline double clock_seconds(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

inline double wall_seconds() { return clock_seconds(CLOCK_MONOTONIC); }
inline double cpu_seconds() { return clock_seconds(CLOCK_PROCESS_CPUTIME_ID); }

}  // namespace mha_bench
