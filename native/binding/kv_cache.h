// The Model's KV cache calls (lib/addon.ts NativeModel.createKVCache / appendKV /
// forwardCached / forwardCachedAsync). A cache handle is a type-tagged External owning an
// mha_kv_cache, tied to the model that created it; each call unwraps and re-checks its
// arguments (the handle is this model's, the batch matches, the positions fit the capacity,
// no forwardCachedAsync is pending on it) before core/mha_model.h's cached forms run.
#pragma once
#include <napi.h>

#include "binding/model.h"

namespace mha_binding {

Napi::Value CreateKVCache(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);
Napi::Value AppendKV(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);
Napi::Value ForwardCached(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);
Napi::Value ForwardCachedAsync(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);

}  // namespace mha_binding
