// The process-wide persistent thread pool (see threadpool.h). One pool object, created on
// first use and never destroyed (so process exit never waits on it), shared by every Node
// environment. A job of n threads runs on the calling thread (the JavaScript thread, or the
// libuv worker of a forwardAsync, which would otherwise sit blocked) and n - 1 pool threads,
// all claiming chunks from one counter. The caller returns once every chunk is done, without
// waiting for pool threads that have not woken up yet: a caller that finds the pool asleep
// runs the chunks itself rather than wait for it. Top-level parallel_for calls are serialized
// by a mutex, so concurrent callers never oversubscribe the cores; a parallel_for from inside
// a task runs inline. set_num_threads only records the size; the pool is resized at the
// start of the next top-level parallel_for (so resizing from inside a task can never
// deadlock).
// Waking a sleeping thread costs far more than handing a job to one that polls, and a forward
// pass or a GEMM runs several jobs back to back. So a pool thread that finished a job, and a
// caller waiting for chunks still running, first poll for kSpinMicros (with pause
// instructions at first, then yielding the core at each poll: a polling thread never keeps a
// thread with work off a core for long), and only then sleep. A thread running chunks offers
// its core between two of them every kYieldMicros.
// A pool thread woken on its caller's CPU moves off it (leave_cpu).
// Inline rule: a job below kMinParallelFlops runs on the caller while the pool sleeps, and
// from kMinParallelFlopsAwake up goes to the pool while it is awake. A burst of such smaller
// jobs (a stream of small requests) wakes the sleeping pool for the ones that follow.
// The constants, with their reasons: core/tuning.h.
#include "core/threadpool.h"

#include <stdint.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "core/cpu_placement.h"
#include "core/tuning.h"

namespace mha {
namespace {

thread_local bool in_parallel = false;

// Called between chunks: a thread that last offered its core kYieldMicros ago or more offers
// it to any thread waiting for one (sched_yield returns at once when none is).
void offer_core_now_and_then() {
  using clock = std::chrono::steady_clock;
  static thread_local clock::time_point last = clock::now();
  const clock::time_point now = clock::now();
  if (now - last < std::chrono::microseconds(kYieldMicros)) return;
  last = now;
  std::this_thread::yield();
}

// The CPU's spin-wait hint.
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Polls ready() for up to kSpinMicros, pausing between polls for the first kPauseSpinMicros
// and yielding the core after that; true once it held.
template <typename Ready>
bool spin_until(Ready ready) {
  using clock = std::chrono::steady_clock;
  const clock::time_point start = clock::now();
  const clock::time_point end = start + std::chrono::microseconds(kSpinMicros);
  const clock::time_point pause_end = start + std::chrono::microseconds(kPauseSpinMicros);
  for (;;) {
    if (ready()) return true;
    const clock::time_point now = clock::now();
    if (now > end) return false;
    if (now < pause_end) {
      for (int i = 0; i < kPausesPerPoll; ++i) cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
}

int default_threads() {
  static const int n = std::max(1u, std::thread::hardware_concurrency());
  return n;
}

// MHA_NATIVE_INLINE_FLOPS when set to a number, else -1.
double inline_flops_override() {
  static const double v = [] {
    const char* env = getenv("MHA_NATIVE_INLINE_FLOPS");
    char* end = nullptr;
    const double x = env ? strtod(env, &end) : 0.0;
    return env && end != env && x >= 0 ? x : -1.0;
  }();
  return v;
}

// The least work parallel_for gives the pool, awake or asleep (MHA_NATIVE_INLINE_FLOPS, when
// set, for both).
double min_parallel_work(bool awake) {
  const double forced = inline_flops_override();
  return forced >= 0 ? forced : awake ? kMinParallelFlopsAwake : kMinParallelFlops;
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

  // True while every pool thread is up and polling or working (none asleep), so a job handed
  // over now starts at once. Read without a lock: a hint for the inline rule.
  bool awake() const {
    return size_.load(std::memory_order_relaxed) > 0 && sleeping_.load(std::memory_order_relaxed) == 0;
  }

  // Counts a job run inline that an awake pool would have taken; true when it completes a
  // burst of kBurstJobs of them within kBurstWindowNanos (core/tuning.h).
  bool small_job_burst() {
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch()).count();
    if (now - burst_start_.load(std::memory_order_relaxed) > kBurstWindowNanos) {
      burst_start_.store(now, std::memory_order_relaxed);
      burst_jobs_.store(1, std::memory_order_relaxed);
      return false;
    }
    return burst_jobs_.fetch_add(1, std::memory_order_relaxed) + 1 >= kBurstJobs;
  }

  // Wakes the pool threads without a job (creating them first if needed), so that they poll
  // for the next one. Skipped while another caller's job holds the pool.
  void wake(int total) {
    std::unique_lock<std::mutex> call(call_mu, std::try_to_lock);
    if (!call.owns_lock()) return;
    resize(total);
    signal();  // a pool thread woken by it finds no chunk, then polls
  }

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
    size_.store(total);
  }

  // Runs fn over [0, n) on the calling thread and the pool threads; returns once every chunk
  // is done. It does not wait for pool threads that have not woken up yet: a chunk belongs to
  // whoever claims it first, so a caller that finds the pool asleep simply runs every chunk.
  // Chunks: at least kItemsPerThread per thread, and no more items than kChunkWork of work,
  // so that heavy items (attention query blocks, GEMM tasks) are claimed one at a time and a
  // thread slowed down (a busy host) leaves little for the others to wait on at the end.
  void run(int64_t n, double work, const std::function<void(int64_t, int64_t)>& fn) {
    const int64_t total = (int64_t)workers_.size() + 1;
    const int64_t by_work = (int64_t)(kChunkWork / std::max(work / (double)n, 1.0));
    const int64_t chunk = std::max<int64_t>(1, std::min(n / (total * kItemsPerThread), by_work));
    const uint64_t job = (job_ + 1) & kJobMask;
    job_ = job;
    fn_ = &fn;
    error_ = nullptr;
    failed_.store(false, std::memory_order_relaxed);
    pending_.store((n + chunk - 1) / chunk, std::memory_order_relaxed);
    chunk_.store(chunk, std::memory_order_relaxed);
    limit_.store(job << kIndexBits | (uint64_t)n, std::memory_order_relaxed);
    next_.store(job << kIndexBits, std::memory_order_release);  // publishes the job
    signal();
    run_chunks();
    auto done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    if (!spin_until(done)) {
      std::unique_lock<std::mutex> lk(mu_);
      done_cv_.wait(lk, done);
    }
    if (error_) std::rethrow_exception(error_);
  }

 private:
  // next_ and limit_ hold a job number (the high bits) and an index: the next item to claim
  // and the item count. A thread that wakes late may see an old job's state or a new one's;
  // it claims a chunk only by advancing next_ while next_ and limit_ name the same job, and
  // reads the job's function only after that, when the job cannot end before the chunk does.
  // (The job number wraps after 2^32 jobs; parallel_for keeps n below 2^32.)
  static constexpr int kIndexBits = 32;
  static constexpr uint64_t kIndexMask = (uint64_t(1) << kIndexBits) - 1, kJobMask = kIndexMask;

  // Wakes the pool threads (polling or asleep): a new generation, with the calling thread's
  // CPU for leave_cpu.
  void signal() {
    caller_cpu_.store(current_cpu(), std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lk(mu_);
      generation_.fetch_add(1);
    }
    work_cv_.notify_all();
  }

  // Claims the next chunk of the current job into [*begin, *end); false when none is left.
  bool claim(int64_t* begin, int64_t* end) {
    uint64_t next = next_.load(std::memory_order_acquire);
    for (;;) {
      const uint64_t limit = limit_.load(std::memory_order_acquire);
      const int64_t chunk = chunk_.load(std::memory_order_relaxed);
      if ((next >> kIndexBits) != (limit >> kIndexBits)) {  // a job being set up: look again
        next = next_.load(std::memory_order_acquire);
        continue;
      }
      const int64_t i = (int64_t)(next & kIndexMask), n = (int64_t)(limit & kIndexMask);
      if (i >= n) return false;
      if (next_.compare_exchange_weak(next, next + (uint64_t)chunk, std::memory_order_acq_rel)) {
        *begin = i;
        *end = std::min(n, i + chunk);
        return true;
      }
    }
  }

  void run_chunks() {
    in_parallel = true;
    int64_t begin, end;
    while (claim(&begin, &end)) {
      offer_core_now_and_then();
      if (!failed_.load(std::memory_order_relaxed)) {  // after a failure, chunks are only counted
        try {
          (*fn_)(begin, end);
        } catch (...) {
          std::lock_guard<std::mutex> lk(mu_);
          if (!error_) error_ = std::current_exception();
          failed_.store(true, std::memory_order_relaxed);
        }
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lk(mu_);  // the caller checks `done` under mu_ before sleeping
        done_cv_.notify_one();
      }
    }
    in_parallel = false;
  }

  void worker_loop(uint64_t seen) {
    for (;;) {
      auto woken = [&] { return stop_.load() || generation_.load() != seen; };
      if (!spin_until(woken)) {
        std::unique_lock<std::mutex> lk(mu_);
        sleeping_.fetch_add(1);
        work_cv_.wait(lk, woken);
        sleeping_.fetch_sub(1);
      }
      if (stop_.load()) return;
      seen = generation_.load();
      leave_cpu(caller_cpu_.load(std::memory_order_relaxed));
      run_chunks();
    }
  }

  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> generation_{0};  // changed (under mu_) to start a job
  uint64_t job_ = 0;                     // the current job's number (caller side)
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  std::atomic<uint64_t> next_{0}, limit_{0};
  std::atomic<int64_t> chunk_{1};
  std::atomic<int64_t> pending_{0};  // chunks of the current job not finished yet
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::atomic<int> caller_cpu_{-1};
  std::atomic<int> size_{0}, sleeping_{0};  // pool threads, and how many of them are asleep
  std::atomic<int64_t> burst_start_{0};
  std::atomic<int> burst_jobs_{0};
};

Pool& pool() {
  static Pool* p = new Pool();  // never destroyed: no join at process exit
  return *p;
}

}  // namespace

void parallel_for(int64_t n, double work, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  const int threads = pool_size();
  Pool& p = pool();
  const double forced = inline_flops_override();
  const bool awake = p.awake();
  if (in_parallel || n == 1 || work < min_parallel_work(awake) || n > int64_t(UINT32_MAX)) {
    if (!in_parallel && !awake && forced < 0 && threads > 1 && work >= kMinParallelFlopsAwake &&
        p.small_job_burst())
      p.wake(threads - 1);  // for the jobs that follow
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> lk(p.call_mu);
  p.resize(threads - 1);
  p.run(n, work, fn);
}

bool may_run_in_parallel(double work) { return pool_size() > 1 && work >= min_parallel_work(true); }

int num_threads() { return pool_size(); }

void set_num_threads(int n) { requested_threads.store(std::max(1, n)); }

}  // namespace mha
