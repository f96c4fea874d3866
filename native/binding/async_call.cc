#include "binding/async_call.h"

#include <string.h>

#include <exception>

#include "core/cpu_placement.h"

namespace mha_binding {

AsyncCall::AsyncCall(Napi::Env env, const char* resource_name)
    : Napi::AsyncWorker(env, resource_name),
      deferred_(Napi::Promise::Deferred::New(env)),
      js_cpu_(mha::current_cpu()) {}

Napi::Promise AsyncCall::Start() {
  Napi::Promise promise = deferred_.Promise();
  Queue();
  return promise;
}

void AsyncCall::Execute() {
  const mha::OffCpu off(js_cpu_);  // woken by the JavaScript thread, perhaps on its CPU
  try {
    Run();
  } catch (const std::exception& e) {
    SetError(e.what());
  }
}

void AsyncCall::OnOK() {
  const char* error = Finish();
  Settle();
  if (error) deferred_.Reject(Napi::RangeError::New(Env(), error).Value());
  else deferred_.Resolve(Env().Undefined());
}

void AsyncCall::OnError(const Napi::Error& e) {
  Settle();
  deferred_.Reject(e.Value());
}

AsyncOutput::AsyncOutput(const Napi::Float32Array& array, size_t length, bool callers) : length_(length) {
  if (array.IsEmpty()) return;
  ref_ = Napi::Persistent(array);
  if (callers) {
    staged_ = PooledBuffer(length);
    target_ = staged_.data();
  } else {
    target_ = Napi::Float32Array(array).Data();
  }
}

bool AsyncOutput::Deliver() {
  if (!staged_.data()) return true;
  Napi::Float32Array dst = ref_.Value();
  if (dst.ElementLength() < length_) return false;
  memcpy(dst.Data(), staged_.data(), length_ * sizeof(float));
  staged_.Release();
  return true;
}

}  // namespace mha_binding
