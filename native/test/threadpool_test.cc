// Standalone test of mha::parallel_for (core/threadpool.h): every item of a job runs exactly
// once, on 1 to 8 threads, for jobs started back to back (pool threads still polling) and
// after a pause (pool threads asleep, so they wake late or not at all during the job), and
// for small jobs, alone (inline) and in bursts (which wake the pool for the ones after); an
// exception from one chunk reaches the caller and the pool stays usable; nested calls run
// inline; several threads calling at once are served one job at a time; heavy items are
// claimed one at a time.
// The pool has nothing per ISA: `--isa <name>` (how ctest runs every test) is accepted and
// ignored. Exits nonzero on the first failure.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "core/threadpool.h"
#include "core/tuning.h"

namespace {

int failures = 0;

void check(bool ok, const char* what, int64_t n, int threads) {
  if (ok) return;
  ++failures;
  fprintf(stderr, "FAIL %s (n=%lld, threads=%d)\n", what, (long long)n, threads);
}

// Runs a job over [0, n) that counts the visits of every item; true when each was visited once.
// work: the job's size for the inline rule (by default, always big enough for the pool).
bool visits_each_once(int64_t n, double work = 1e12) {
  std::vector<std::atomic<int>> seen(n);
  for (auto& s : seen) s.store(0);
  mha::parallel_for(n, work, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) seen[i].fetch_add(1);
  });
  for (auto& s : seen)
    if (s.load() != 1) return false;
  return true;
}

void coverage() {
  const int64_t sizes[] = {1, 2, 3, 7, 8, 33, 129, 1000, 100000};
  for (int threads : {1, 2, 3, 8}) {
    mha::set_num_threads(threads);
    for (int64_t n : sizes) {
      for (int rep = 0; rep < 20; ++rep) check(visits_each_once(n), "back to back", n, threads);
      for (int rep = 0; rep < 3; ++rep) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the pool threads go to sleep
        check(visits_each_once(n), "after a pause", n, threads);
      }
    }
  }
}

// Jobs too small for a sleeping pool but not for an awake one: a burst of them wakes the pool
// (without a job), after which they go to it; alone, they run inline. Every item once either way.
void small_jobs() {
  mha::set_num_threads(2);
  const double work = (mha::kMinParallelFlops + mha::kMinParallelFlopsAwake) / 2;
  for (int burst = 0; burst < 5; ++burst) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    for (int rep = 0; rep < 200; ++rep) check(visits_each_once(64, work), "small jobs in a burst", 64, 2);
  }
  for (int rep = 0; rep < 20; ++rep) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    check(visits_each_once(64, work), "a lone small job", 64, 2);
  }
}

void exceptions() {
  for (int threads : {1, 2, 4}) {
    mha::set_num_threads(threads);
    for (int64_t n : {2, 64, 5000}) {
      std::atomic<int64_t> ran{0};
      bool caught = false;
      try {
        mha::parallel_for(n, 1e12, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) {
            if (i == n / 2) throw std::runtime_error("item failed");
            ran.fetch_add(1);
          }
        });
      } catch (const std::runtime_error& e) {
        caught = strcmp(e.what(), "item failed") == 0;
      }
      check(caught, "exception reaches the caller", n, threads);
      check(ran.load() < n, "the failing item did not complete", n, threads);
      check(visits_each_once(n), "pool usable after an exception", n, threads);
    }
  }
}

void nesting_and_callers() {
  mha::set_num_threads(2);
  // A parallel_for inside a task runs inline, on the task's thread.
  std::atomic<int> inner_other_thread{0};
  mha::parallel_for(4, 1e12, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const std::thread::id outer = std::this_thread::get_id();
      mha::parallel_for(16, 1e12, [&](int64_t b, int64_t e) {
        if (std::this_thread::get_id() != outer) inner_other_thread.fetch_add(int(e - b));
      });
    }
  });
  check(inner_other_thread.load() == 0, "nested parallel_for runs inline", 16, 2);
  // Three threads calling at once, each job checked.
  std::atomic<int> bad{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep)
        if (!visits_each_once(257)) bad.fetch_add(1);
    });
  for (std::thread& t : callers) t.join();
  check(bad.load() == 0, "concurrent callers", 257, 2);
}

// Heavy items are claimed one at a time: while one thread is held up in item 0 (a slow
// item, or a thread the host stopped running), the other takes every other item, so the
// one held up runs nothing else. Item 0 waits (up to 2 s) for the other n - 1 items to be
// done; with items claimed in batches, some of them would sit behind it in its own chunk.
void heavy_items_one_at_a_time() {
  mha::set_num_threads(2);
  const int64_t n = 64;
  visits_each_once(n);  // the pool thread is up and polling
  std::atomic<int> items_of_slow_thread{-1}, others_done{0};
  std::vector<std::atomic<int>> per_thread(2);
  std::atomic<int> next_id{0};
  mha::parallel_for(n, 1e12, [&](int64_t begin, int64_t end) {
    thread_local int id = -1;
    if (id < 0) id = next_id.fetch_add(1) % 2;
    per_thread[id].fetch_add(int(end - begin));
    if (begin == 0) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(2);
      while (others_done.load() < n - 1 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      items_of_slow_thread.store(id);
    }
    others_done.fetch_add(int(end - std::max<int64_t>(begin, 1)));
  });
  const int slow = items_of_slow_thread.load();
  check(slow >= 0 && per_thread[slow].load() == 1, "heavy items claimed one at a time", n, 2);
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  coverage();
  small_jobs();
  exceptions();
  nesting_and_callers();
  heavy_items_one_at_a_time();
  if (failures) {
    fprintf(stderr, "threadpool_test: %d failure(s)\n", failures);
    return 1;
  }
  printf("threadpool_test: all passed\n");
  return 0;
}
