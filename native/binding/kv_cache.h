// The Model's KV cache calls (lib/backend.ts LayerBackend.createKVStore / appendKV /
// forwardCached / forwardCachedAsync). A store is a type-tagged External owning an
// mha_kv_cache, tied to the model that created it; each call takes (store, record), unwraps
// and re-checks them (the store is this model's, the batch matches, the positions fit the
// capacity, no forwardCachedAsync is pending on it) before core/mha_model.h's cached forms run.
#pragma once
#include <napi.h>

#include "binding/model.h"

namespace mha_binding {

Napi::Value CreateKVStore(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);
Napi::Value AppendKV(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);
Napi::Value ForwardCached(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);
Napi::Value ForwardCachedAsync(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape);

}  // namespace mha_binding
