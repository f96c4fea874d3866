// Native buffers reused from call to call, for the copies an asynchronous call makes (its
// inputs, and its output while the caller's array must not be written from another thread).
// Fresh memory costs a page fault per page on first touch and an unmap when freed, and the
// JavaScript thread would pay both: it writes the input copies and releases what a call held.
// A reused buffer costs neither. The pool is shared by every Node environment of the process;
// a request gets the smallest idle buffer that fits (or a new one), and idle buffers beyond
// kMaxIdleBytes are freed rather than kept.
#pragma once
#include <stddef.h>

namespace mha_binding {

// Idle memory the pool keeps: enough for the inputs and outputs of many concurrent calls of the
// largest workloads, small against what those calls' results take.
constexpr size_t kMaxIdleBytes = size_t(256) << 20;

class PooledBuffer {
 public:
  PooledBuffer() = default;
  explicit PooledBuffer(size_t floats);  // at least `floats` floats, cache-line aligned, contents undefined
  PooledBuffer(PooledBuffer&& other) noexcept;
  PooledBuffer& operator=(PooledBuffer&& other) noexcept;
  PooledBuffer(const PooledBuffer&) = delete;
  PooledBuffer& operator=(const PooledBuffer&) = delete;
  ~PooledBuffer() { Release(); }

  float* data() const { return data_; }
  void Release();  // back to the pool (any thread); the buffer is empty afterwards

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;  // floats
};

}  // namespace mha_binding
