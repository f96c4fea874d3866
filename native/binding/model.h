// The Model class (lib/backend.ts LayerBackend): an mha_model built from the weights at
// construction, forward (synchronous) and forwardAsync (a Promise, computed off-thread), and
// its KV cache calls (binding/kv_cache.h).
#pragma once
#include <napi.h>

#include <memory>

#include "core/mha_model.h"

namespace mha_binding {

using ModelPtr = std::shared_ptr<const mha_model>;

struct ModelShape {
  int64_t embed_dim, num_heads, num_kv_heads, k_dim, v_dim;
  int64_t head_dim() const { return embed_dim / num_heads; }
  int64_t kv_dim() const { return num_kv_heads * head_dim(); }
};

// The Model constructor for one Node environment.
Napi::Function DefineModelClass(Napi::Env env);

}  // namespace mha_binding
