#include "binding/buffer_pool.h"

#include <algorithm>
#include <mutex>
#include <utility>
#include <vector>

#include "core/aligned_alloc.h"

namespace mha_binding {
namespace {

struct Idle {
  float* data;
  size_t capacity;
};

class Pool {
 public:
  // The smallest idle buffer of at least `floats`, or a new one.
  Idle Take(size_t floats) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto best = idle_.end();
      for (auto it = idle_.begin(); it != idle_.end(); ++it)
        if (it->capacity >= floats && (best == idle_.end() || it->capacity < best->capacity)) best = it;
      if (best != idle_.end()) {
        const Idle found = *best;
        idle_.erase(best);
        idle_bytes_ -= found.capacity * sizeof(float);
        return found;
      }
    }
    const size_t capacity = std::max<size_t>(floats, 16);
    return {static_cast<float*>(mha::aligned_alloc_or_throw(capacity * sizeof(float))), capacity};
  }

  void Give(Idle buffer) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (idle_bytes_ + buffer.capacity * sizeof(float) <= kMaxIdleBytes) {
        idle_.push_back(buffer);
        idle_bytes_ += buffer.capacity * sizeof(float);
        return;
      }
    }
    mha::aligned_free(buffer.data);
  }

 private:
  std::mutex mutex_;
  std::vector<Idle> idle_;
  size_t idle_bytes_ = 0;
};

// Never destroyed: buffers may come back from worker threads while the process exits.
Pool& pool() {
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

PooledBuffer::PooledBuffer(size_t floats) {
  const Idle buffer = pool().Take(floats);
  data_ = buffer.data;
  capacity_ = buffer.capacity;
}

PooledBuffer::PooledBuffer(PooledBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), capacity_(std::exchange(other.capacity_, 0)) {}

PooledBuffer& PooledBuffer::operator=(PooledBuffer&& other) noexcept {
  if (this != &other) {
    Release();
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

void PooledBuffer::Release() {
  if (!data_) return;
  pool().Give({data_, capacity_});
  data_ = nullptr;
  capacity_ = 0;
}

}  // namespace mha_binding
