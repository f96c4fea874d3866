// The Model class (lib/addon.ts NativeModel): an mha_model built from the weights at
// construction, forward (synchronous) and forwardAsync (a Promise, computed off-thread).
#pragma once
#include <napi.h>

namespace mha_binding {

// The Model constructor for one Node environment.
Napi::Function DefineModelClass(Napi::Env env);

}  // namespace mha_binding
