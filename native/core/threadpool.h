// The addon's one persistent thread pool, shared by every Node environment (main thread
// and worker_threads). parallel_for splits [0, n) into chunks run by num_threads() threads:
// the calling thread and num_threads() - 1 pool threads; it returns when all are done.
// Calls from several threads at once are serialized (no oversubscription); a nested call,
// one with a single item, or a small one (see work) runs inline.
#pragma once
#include <stdint.h>
#include <functional>

namespace mha {
// Below this many floating-point operations (~100 us of work) a job is cheaper to run on
// the calling thread than to hand to a sleeping pool (waking it costs tens of microseconds
// on a virtual machine).
constexpr double kMinParallelFlops = 1 << 24;
// While the pool threads are awake (a job ended less than kSpinMicros ago, so they still
// poll for the next one), handing a job over costs a few microseconds: from this many
// operations (~12 us of work) up, a job then goes to the pool.
constexpr double kMinParallelFlopsAwake = 1 << 21;
// MHA_NATIVE_INLINE_FLOPS, read at load, replaces both thresholds (the tests set 0, so that
// tiny jobs take the threaded paths too).

// work: about how many floating-point operations (or element copies) the whole job does;
// a job below the inline threshold runs on the calling thread, and a chunk holds at most
// about 4M operations' worth of items (heavy items go one at a time, for balance).
void parallel_for(int64_t n, double work, const std::function<void(int64_t begin, int64_t end)>& fn);
int num_threads();
void set_num_threads(int n);  // n >= 1
}  // namespace mha
