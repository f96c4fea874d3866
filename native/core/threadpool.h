// The addon's one persistent thread pool, shared by every Node environment (main thread
// and worker_threads). parallel_for splits [0, n) into chunks run by num_threads() threads:
// the calling thread and num_threads() - 1 pool threads; it returns when all are done.
// Calls from several threads at once are serialized (no oversubscription); a nested call,
// one with a single item, or a small one (see work) runs inline.
#pragma once
#include <stdint.h>
#include <functional>

namespace mha {
// work: about how many floating-point operations the whole job does (copies and other work
// counted as flops, core/tuning.h); a job below the inline threshold (kMinParallelFlops, or
// kMinParallelFlopsAwake while the pool threads are awake) runs on the calling thread, and a
// chunk holds at most kChunkWork of work (heavy items go one at a time, for balance).
void parallel_for(int64_t n, double work, const std::function<void(int64_t begin, int64_t end)>& fn);
// Whether parallel_for could give a job of this much work to the pool: at least the inline
// threshold of an awake pool (or MHA_NATIVE_INLINE_FLOPS when set), with more than one thread.
// Below it, a job always runs on the calling thread.
bool may_run_in_parallel(double work);
int num_threads();
void set_num_threads(int n);  // n >= 1
}  // namespace mha
