// A/B timing for the native benchmarks on a shared machine: the two sides run alternately
// (a, b, a, b, ...) in one process, so a neighbour's load slows both alike; each side's best
// and median wall times are reported (the best is the run that found the cores idle).
#pragma once
#include <algorithm>
#include <functional>
#include <vector>

#include "bench/bench_clock.h"

namespace mha_bench {

struct Side {
  double best_ms, median_ms;
};

struct AbTiming {
  Side a, b;
};

inline Side summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms.front(), ms[ms.size() / 2]};
}

// One warm-up call of each, then reps alternating calls of each.
inline AbTiming time_ab(int reps, const std::function<void()>& a, const std::function<void()>& b) {
  a();
  b();
  std::vector<double> ta, tb;
  for (int i = 0; i < reps; ++i) {
    double t0 = wall_seconds();
    a();
    ta.push_back((wall_seconds() - t0) * 1e3);
    t0 = wall_seconds();
    b();
    tb.push_back((wall_seconds() - t0) * 1e3);
  }
  return {summarize(ta), summarize(tb)};
}

}  // namespace mha_bench
