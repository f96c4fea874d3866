// The process-wide persistent thread pool (see threadpool.h). One pool object, created on
// first use and never destroyed (so process exit never waits on it), shared by every Node
// environment. A job of n threads runs on the calling thread (the JavaScript thread, or the
// libuv worker of a forwardAsync, which would otherwise sit blocked) and n - 1 pool threads,
// all taking chunks from one counter; the caller then waits for the pool threads to leave
// the job. Top-level parallel_for calls are serialized by a mutex, so concurrent callers
// never oversubscribe the cores; a parallel_for from inside a task runs inline.
// set_num_threads only records the size; the pool is resized at the start of the next
// top-level parallel_for (so resizing from inside a task can never deadlock).
// Waking a sleeping thread costs tens of microseconds on a virtual machine (an empty
// parallel_for took 80 us, median, with condition variables alone), and a forward pass or a
// GEMM runs several jobs back to back. So a pool thread that finished a job, and a caller
// waiting for the pool threads, first poll for kSpinMicros, yielding the core at each poll
// (a polling thread never keeps a thread with work off a core), and only then sleep.
#include "core/threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <stdlib.h>
#include <mutex>
#include <thread>
#include <vector>

namespace mha {
namespace {

thread_local bool in_parallel = false;

constexpr int kSpinMicros = 200;

// Polls ready() (yielding between polls) for up to kSpinMicros; true once it held.
template <typename Ready>
bool spin_until(Ready ready) {
  using clock = std::chrono::steady_clock;
  const clock::time_point end = clock::now() + std::chrono::microseconds(kSpinMicros);
  for (;;) {
    if (ready()) return true;
    if (clock::now() > end) return false;
    std::this_thread::yield();
  }
}

int default_threads() {
  static const int n = std::max(1u, std::thread::hardware_concurrency());
  return n;
}

// kMinParallelFlops, or MHA_NATIVE_INLINE_FLOPS when set to a number.
double inline_flops() {
  static const double v = [] {
    const char* env = getenv("MHA_NATIVE_INLINE_FLOPS");
    char* end = nullptr;
    const double x = env ? strtod(env, &end) : 0.0;
    return env && end != env && x >= 0 ? x : kMinParallelFlops;
  }();
  return v;
}

std::atomic<int> requested_threads{0};  // 0: the default (constant-initialized, so usable anytime)

int pool_size() {
  int n = requested_threads.load();
  return n > 0 ? n : default_threads();
}

class Pool {
 public:
  // The caller holds call_mu for the whole job.
  std::mutex call_mu;

  void resize(int total) {  // total = the number of pool threads
    if ((int)workers_.size() == total) return;
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_.store(true);
    }
    work_cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stop_.store(false);
    const uint64_t gen = generation_.load();  // no job is running: workers start idle at this one
    for (int i = 0; i < total; ++i) workers_.emplace_back([this, gen] { worker_loop(gen); });
  }

  // Runs fn over [0, n) on the calling thread and the pool threads.
  void run(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
    const int64_t total = (int64_t)workers_.size() + 1;
    fn_ = &fn;
    n_ = n;
    chunk_ = std::max<int64_t>(1, n / (total * 4));
    next_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    active_.store((int)workers_.size());
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1);
    }
    work_cv_.notify_all();
    run_chunks();
    auto done = [this] { return active_.load() == 0; };
    if (!spin_until(done)) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, done);
    }
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_chunks() {
    in_parallel = true;
    try {
      for (;;) {
        int64_t begin = next_.fetch_add(chunk_, std::memory_order_relaxed);
        if (begin >= n_) break;
        (*fn_)(begin, std::min(n_, begin + chunk_));
      }
    } catch (...) {
      std::lock_guard<std::mutex> lk(mu_);
      if (!error_) error_ = std::current_exception();
      next_.store(n_, std::memory_order_relaxed);  // let the others stop early
    }
    in_parallel = false;
  }

  void worker_loop(uint64_t seen) {
    for (;;) {
      auto woken = [&] { return stop_.load() || generation_.load() != seen; };
      if (!spin_until(woken)) {
        std::unique_lock<std::mutex> lk(mu_);
        work_cv_.wait(lk, woken);
      }
      if (stop_.load()) return;
      seen = generation_.load();
      run_chunks();
      if (active_.fetch_sub(1) == 1) {
        std::lock_guard<std::mutex> lk(mu_);  // the caller checks `done` under mu_ before sleeping
        done_cv_.notify_one();
      }
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};  // changed (under mu_) to start a job
  std::atomic<int> active_{0};           // pool threads still in the current job
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1;
  std::atomic<int64_t> next_{0};
  std::exception_ptr error_;
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: no join at process exit
  return *p;
}

}  // namespace

void parallel_for(int64_t n, double work, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int threads = pool_size();
  if (in_parallel || n == 1 || work < inline_flops()) {
    fn(0, n);
    return;
  }
  Pool& p = pool();
  std::lock_guard<std::mutex> lk(p.call_mu);
  p.resize(threads - 1);
  p.run(n, fn);
}

int num_threads() { return pool_size(); }

void set_num_threads(int n) { requested_threads.store(std::max(1, n)); }

}  // namespace mha
