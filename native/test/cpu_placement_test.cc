// Standalone test of core/cpu_placement.h (Linux, at least two CPUs allowed; elsewhere it
// passes with a note): a thread pinned to one CPU and then put under OffCpu for that CPU runs
// elsewhere inside the scope and gets back exactly its own CPU set after it, even when the
// scope ends by an exception; OffCpu for a CPU the thread is not on changes nothing.
// Nothing here is per ISA: `--isa <name>` (how ctest runs every test) is accepted and ignored.
#include <stdio.h>

#include <stdexcept>

#include "core/cpu_placement.h"

#if defined(__linux__)
#include <sched.h>

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (ok) return;
  ++failures;
  fprintf(stderr, "FAIL %s\n", what);
}

cpu_set_t own() {
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  return set;
}

// Pins the calling thread to `cpu` within `allowed`, then widens it back to `allowed`: the
// thread is then on `cpu` with its whole set, as a thread the scheduler woke there.
bool land_on(int cpu, const cpu_set_t& allowed) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0 || sched_getcpu() != cpu) return false;
  return sched_setaffinity(0, sizeof allowed, &allowed) == 0;
}

}  // namespace

int main() {
  const cpu_set_t allowed = own();
  if (CPU_COUNT(&allowed) < 2) {
    printf("cpu_placement_test: one CPU allowed, nothing to move between (passes)\n");
    return 0;
  }
  int first = -1, second = -1;
  for (int c = 0; c < CPU_SETSIZE && second < 0; ++c)
    if (CPU_ISSET(c, &allowed)) (first < 0 ? first : second) = c;
  check(mha::current_cpu() >= 0, "current_cpu names a CPU");

  check(land_on(first, allowed), "the thread can be put on its first CPU");
  {
    const mha::OffCpu off(first);
    check(sched_getcpu() != first, "inside OffCpu(its CPU), the thread runs elsewhere");
    const cpu_set_t inside = own();
    check(!CPU_ISSET(first, &inside), "inside OffCpu(its CPU), its set leaves that CPU out");
  }
  cpu_set_t after = own();
  check(CPU_EQUAL(&after, &allowed), "after OffCpu, the thread has its own CPU set back");

  check(land_on(first, allowed), "the thread can be put on its first CPU again");
  try {
    const mha::OffCpu off(first);
    throw std::runtime_error("leaves the scope");
  } catch (const std::runtime_error&) {
  }
  after = own();
  check(CPU_EQUAL(&after, &allowed), "after OffCpu left by an exception, the thread has its own CPU set back");

  check(land_on(first, allowed), "the thread can be put on its first CPU once more");
  {
    const mha::OffCpu off(second);
    check(sched_getcpu() == first, "OffCpu(another CPU) leaves the thread where it is");
    const cpu_set_t inside = own();
    check(CPU_EQUAL(&inside, &allowed), "OffCpu(another CPU) leaves its set as it was");
  }

  if (failures) return 1;
  printf("cpu_placement_test: ok (CPUs %d and %d)\n", first, second);
  return 0;
}

#else

int main() {
  printf("cpu_placement_test: CPU placement is Linux only (passes)\n");
  return 0;
}

#endif
