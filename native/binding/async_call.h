// The base of every promise-returning call. The derived constructor runs on the JavaScript
// thread and takes what the call needs (copies of its inputs, references to its outputs); Run
// executes on a libuv worker thread and touches no N-API; Finish runs on the JavaScript thread
// once Run returned and delivers what it staged, returning a message to reject with (or
// nullptr); Settle runs on the JavaScript thread last, whether the call succeeded or not.
// An exception thrown by Run (std::bad_alloc) rejects the promise with an Error.
#pragma once
#include <napi.h>

#include <stddef.h>

#include "binding/buffer_pool.h"

namespace mha_binding {

class AsyncCall : public Napi::AsyncWorker {
 public:
  // Queues the call and returns its promise; the call deletes itself once settled.
  Napi::Promise Start();

 protected:
  AsyncCall(Napi::Env env, const char* resource_name);
  virtual void Run() = 0;
  virtual const char* Finish() { return nullptr; }
  virtual void Settle() {}

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& e) final;

  Napi::Promise::Deferred deferred_;
  int js_cpu_;  // the CPU of the JavaScript thread when it queued the call
};

// An output array of an asynchronous call. The caller's own array (options.out) is written on
// the JavaScript thread when the call settles, from a pooled staging buffer, since the caller
// could detach it meanwhile; an array the API allocated for the call is unreachable by anyone
// else until the call settles, so Run writes it in place.
class AsyncOutput {
 public:
  AsyncOutput() = default;
  // array may be empty (no such output); length: the elements the call writes.
  AsyncOutput(const Napi::Float32Array& array, size_t length, bool callers);
  float* target() const { return target_; }  // where Run writes; nullptr when absent
  // JS thread: copies a staged result into the caller's array; false when it was detached or shrunk.
  bool Deliver();

 private:
  Napi::Reference<Napi::Float32Array> ref_;
  PooledBuffer staged_;
  float* target_ = nullptr;
  size_t length_ = 0;
};

}  // namespace mha_binding
