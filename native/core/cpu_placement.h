// Which CPU a thread runs on, for the threads that hand work to one another. Where the
// hypervisor presents its vCPUs without a shared cache (so the scheduler sees no sibling to
// choose from), the kernel wakes a thread on the CPU of the thread that woke it: the woken one
// takes that CPU, and the waker waits there until the next load balance (a scheduler tick,
// milliseconds) while another CPU may sit idle. A thread woken to work for another therefore
// moves off its waker's CPU itself. Linux only; elsewhere these do nothing.
#pragma once

namespace mha {

// The CPU the calling thread runs on, or -1 where unknown.
int current_cpu();

// Moves the calling thread off `cpu` when it runs there, onto the other CPUs it started with,
// for good (a pool thread, woken by its caller). Nothing when cpu < 0 or no other CPU is allowed.
void leave_cpu(int cpu);

// For its scope, the calling thread keeps off `cpu` when it runs there (a libuv worker running
// an asynchronous call, woken by the JavaScript thread); the thread's own CPU set comes back at
// the end of the scope, since the thread is not ours.
class OffCpu {
 public:
  explicit OffCpu(int cpu);
  ~OffCpu();
  OffCpu(const OffCpu&) = delete;
  OffCpu& operator=(const OffCpu&) = delete;

 private:
  bool moved_;
};

}  // namespace mha
