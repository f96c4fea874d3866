// The addon's one persistent thread pool, shared by every Node environment (main thread
// and worker_threads). parallel_for splits [0, n) into chunks run by the pool's threads
// (num_threads() of them) while the calling thread waits; it returns when all are done.
// Calls from several threads at once are serialized (no oversubscription); a nested call,
// or one with a single item, runs inline.
#pragma once
#include <stdint.h>
#include <functional>

namespace mha {
void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);
int num_threads();
void set_num_threads(int n);  // n >= 1
}  // namespace mha
