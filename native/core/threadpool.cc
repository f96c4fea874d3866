// The persistent pool behind mha::parallel_for: num_threads() - 1 workers sleep on a
// condition variable; a call publishes one job, the workers and the caller take chunks
// from an atomic counter, and the caller waits until every worker has finished the job.
// A mutex serializes calls from different threads (Node environments, libuv workers);
// a call made from inside a job runs inline. The first exception a chunk throws is
// rethrown to the caller after the job has drained.
#include "core/threadpool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace mha {
namespace {

using Body = std::function<void(int64_t, int64_t)>;

thread_local bool t_in_job = false;

struct InJob {  // marks the current thread as running a chunk, so nested calls run inline
  InJob() { t_in_job = true; }
  ~InJob() { t_in_job = false; }
};

class Pool {
 public:
  explicit Pool(int threads) { Start(threads); }

  int Threads() const { return threads_.load(); }

  void Resize(int threads) {
    std::lock_guard<std::mutex> call(call_mu_);
    Stop();
    Start(threads);
  }

  void Run(int64_t n, const Body& body) {
    if (n <= 0) return;
    if (t_in_job) {
      body(0, n);
      return;
    }
    std::lock_guard<std::mutex> call(call_mu_);
    if (workers_.empty() || n == 1) {
      InJob in_job;
      body(0, n);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      body_ = &body;
      n_ = n;
      chunks_ = std::min<int64_t>(n, 4 * static_cast<int64_t>(threads_.load()));
      next_.store(0);
      pending_ = static_cast<int>(workers_.size());
      error_ = nullptr;
      ++generation_;
    }
    wake_.notify_all();
    RunChunks();
    std::exception_ptr error;
    {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, [this] { return pending_ == 0; });
      body_ = nullptr;
      error = error_;
      error_ = nullptr;
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  void Start(int threads) {
    threads_.store(1);
    for (int i = 1; i < threads; ++i) {
      workers_.emplace_back(&Pool::WorkerLoop, this, generation_);
      threads_.store(i + 1);
    }
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
  }

  void WorkerLoop(uint64_t seen) {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      RunChunks();
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }

  void RunChunks() {
    InJob in_job;
    const int64_t base = n_ / chunks_, extra = n_ % chunks_;
    for (int64_t c = next_.fetch_add(1); c < chunks_; c = next_.fetch_add(1)) {
      const int64_t begin = c * base + std::min(c, extra);
      const int64_t end = begin + base + (c < extra ? 1 : 0);
      try {
        (*body_)(begin, end);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  std::mutex call_mu_;  // one job (or resize) at a time
  std::mutex mu_;       // guards the job fields below and the worker wake-ups
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::atomic<int> threads_{1};
  const Body* body_ = nullptr;
  int64_t n_ = 0, chunks_ = 0;
  std::atomic<int64_t> next_{0};
  int pending_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

Pool& pool() {
  // Never destroyed: workers may still be parked on it while the process exits.
  static Pool* p = new Pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  return *p;
}

}  // namespace

void parallel_for(int64_t n, const Body& fn) { pool().Run(n, fn); }
int num_threads() { return pool().Threads(); }
void set_num_threads(int n) { pool().Resize(std::max(1, n)); }

}  // namespace mha
