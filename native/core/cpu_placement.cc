#include "core/cpu_placement.h"

#if defined(__linux__)
#include <sched.h>
#endif

namespace mha {

#if defined(__linux__)
namespace {

// Moves the calling thread from `cpu` to the rest of `allowed`; false when it is not on `cpu`
// or `allowed` has no other CPU.
bool move_off(int cpu, const cpu_set_t& allowed) {
  if (cpu < 0 || sched_getcpu() != cpu) return false;
  cpu_set_t others = allowed;
  CPU_CLR(cpu, &others);
  return CPU_COUNT(&others) > 0 && sched_setaffinity(0, sizeof others, &others) == 0;
}

cpu_set_t own_cpus() {  // on failure: empty, so that move_off changes nothing
  cpu_set_t set;
  CPU_ZERO(&set);
  sched_getaffinity(0, sizeof set, &set);
  return set;
}

thread_local cpu_set_t saved_cpus;  // an OffCpu's thread's own set, while it is moved

}  // namespace

int current_cpu() { return sched_getcpu(); }

void leave_cpu(int cpu) {
  static thread_local const cpu_set_t allowed = own_cpus();  // the set this thread started with
  move_off(cpu, allowed);
}

OffCpu::OffCpu(int cpu) : moved_(false) {
  if (cpu < 0 || sched_getcpu() != cpu) return;
  saved_cpus = own_cpus();
  moved_ = move_off(cpu, saved_cpus);
}

OffCpu::~OffCpu() {
  if (moved_) sched_setaffinity(0, sizeof saved_cpus, &saved_cpus);
}

#else

int current_cpu() { return -1; }
void leave_cpu(int) {}
OffCpu::OffCpu(int) : moved_(false) {}
OffCpu::~OffCpu() {}

#endif

}  // namespace mha
