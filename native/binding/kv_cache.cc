#include "binding/kv_cache.h"

#include <string.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "binding/args.h"
#include "binding/async_call.h"
#include "binding/errors.h"
#include "core/kv_cache.h"

namespace mha_binding {
namespace {

const napi_type_tag kCacheTag = {0x6d68615f6b765f63ULL, 0x616368655f763031ULL};  // "mha_kv_cache_v01"

struct CacheHandle {
  ModelPtr owner;  // the model that created the cache (kept alive with it)
  std::unique_ptr<mha_kv_cache, void (*)(mha_kv_cache*)> memory{nullptr, mha_kv_cache_free};
  bool busy = false;  // a forwardCachedAsync is pending; read and written on the JS thread only
};
using CachePtr = std::shared_ptr<CacheHandle>;

// The store in info[0]: TypeError unless it is a cache of this model, Error while it is busy.
CachePtr GetCache(const Napi::CallbackInfo& info, const ModelPtr& model) {
  Napi::Env env = info.Env();
  Napi::Value v = info[0];
  if (!v.IsExternal() || !v.As<Napi::External<CachePtr>>().CheckTypeTag(&kCacheTag))
    ThrowType(env, "store must be a KV cache handle");
  CachePtr cache = *v.As<Napi::External<CachePtr>>().Data();
  if (cache->owner != model) ThrowType(env, "store belongs to another model");
  if (cache->busy) throw Napi::Error::New(env, "store is in use by a pending forwardCachedAsync");
  return cache;
}

// Sequence b's starts[b] held positions and counts[b] new ones must fit in the capacity.
void CheckFits(Napi::Env env, const mha_kv_cache& c, const std::vector<int64_t>& starts,
               const std::vector<int64_t>& counts) {
  for (size_t b = 0; b < starts.size(); ++b)
    if (counts[b] > c.capacity - starts[b])
      ThrowRange(env, "sequence " + std::to_string(b) + ": " + std::to_string(starts[b]) + " + " +
                          std::to_string(counts[b]) + " positions exceed the cache capacity " + std::to_string(c.capacity));
}

const uint8_t* OptionalData(const Napi::Uint8Array& a) { return a.IsEmpty() ? nullptr : a.Data(); }

// A forwardCached call's record (lib/backend.ts CachedForwardArgs), unwrapped and
// size-checked; args points at the JS buffers and at starts / q_rows.
struct CachedView {
  CachePtr cache;
  mha_cached_forward_args args;
  std::vector<int64_t> starts, q_rows;  // q_rows: empty when dense
  MaskView attn_mask;
  int64_t query_len, padding_len, weights_len;
  Napi::Float32Array out, weights;  // weights: empty when not wanted
  bool out_is_callers;
};

CachedView UnwrapCached(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  Napi::Env env = info.Env();
  CachedView f = {};
  f.cache = GetCache(info, model);
  Napi::Object o = ArgObject(info, 1);
  const mha_kv_cache& c = *f.cache->memory;
  mha_cached_forward_args& a = f.args;
  a.batch = GetDim(o, "batch");
  a.l = GetCount(o, "l");
  a.append = GetBool(o, "append");
  a.causal = GetBool(o, "causal");
  a.average_weights = GetBool(o, "averageWeights");
  f.out_is_callers = GetBool(o, "outIsCallers");
  if (a.batch != c.batch) ThrowRange(env, "batch does not match the cache's batch size");
  const int64_t e = shape.embed_dim, heads = shape.num_heads;
  if (a.append && (shape.k_dim != e || shape.v_dim != e))
    ThrowRange(env, "appending from the query needs kDim == vDim == embedDim");
  f.starts = GetInts(o, "starts", a.batch, c.capacity);
  int64_t longest = a.l;
  Napi::Value packed = o.Get("packed");
  if (!packed.IsUndefined() && !packed.IsNull()) {
    f.q_rows = GetRowOffsets(o, "packed", a.batch, &longest);
    if (longest > a.l) ThrowRange(env, "packed sequences longer than l");
    a.q_rows = f.q_rows.data();
  } else if (a.l == 0) {
    ThrowRange(env, "l must be positive without packing");
  }
  std::vector<int64_t> counts(a.batch);
  a.s_max = 0;
  for (int64_t b = 0; b < a.batch; ++b) {
    counts[b] = a.q_rows ? f.q_rows[b + 1] - f.q_rows[b] : a.l;
    a.s_max = std::max(a.s_max, f.starts[b] + (a.append ? counts[b] : 0));
  }
  if (a.append) CheckFits(env, c, f.starts, counts);
  if (a.s_max == 0) ThrowRange(env, "the cache is empty and nothing is appended");
  a.starts = f.starts.data();
  const int64_t rows = a.q_rows ? f.q_rows.back() : ElementCount(env, {a.batch, a.l});
  f.query_len = ElementCount(env, {rows, e});
  a.query = GetFloat32(o, "query", f.query_len).Data();
  if (a.append && !a.q_rows) {
    Napi::Uint8Array padding = GetOptionalUint8(o, "newPadding", ElementCount(env, {a.batch, a.l}));
    a.new_padding = OptionalData(padding);
    f.padding_len = a.new_padding ? a.batch * a.l : 0;
  }
  f.out = GetFloat32(o, "out", f.query_len);
  a.out = f.out.Data();
  f.weights = GetOptionalWeights(o, a.average_weights, a.batch, heads, a.l, a.s_max, &f.weights_len);
  a.weights = f.weights.IsEmpty() ? nullptr : f.weights.Data();
  f.attn_mask = GetOptionalMask(o, "attnMask", a.batch, heads, a.l, a.s_max);
  a.attn_mask = f.attn_mask.mask;
  if (a.q_rows && (a.weights || a.attn_mask.kind != MHA_MASK_NONE)) ThrowRange(env, "packed steps take no masks or weights");
  return f;
}

// forwardCachedAsync: like model.cc's ForwardCall, the query (and new padding flags) are
// copied on the JS thread and the outputs go through AsyncOutput; the cache is marked busy
// until the call settles, so no other call touches it while Run writes it off-thread.
class CachedForwardCall : public AsyncCall {
 public:
  CachedForwardCall(Napi::Env env, ModelPtr model, const CachedView& f)
      : AsyncCall(env, "mha-native:forwardCached"),
        model_(std::move(model)),
        cache_(f.cache),
        starts_(f.starts),
        q_rows_(f.q_rows),
        query_(f.query_len),
        padding_(f.args.new_padding, f.args.new_padding + f.padding_len),
        attn_mask_(f.attn_mask),
        out_(f.out, f.query_len, f.out_is_callers),
        weights_(f.weights, f.weights_len, false) {
    memcpy(query_.data(), f.args.query, f.query_len * sizeof(float));
    args_ = f.args;
    args_.starts = starts_.data();
    args_.q_rows = q_rows_.empty() ? nullptr : q_rows_.data();
    args_.query = query_.data();
    args_.new_padding = f.args.new_padding ? padding_.data() : nullptr;
    args_.attn_mask = attn_mask_.mask();
    args_.out = out_.target();
    args_.weights = weights_.target();
    cache_->busy = true;
  }

 protected:
  void Run() override {
    mha_model_forward_cached(model_.get(), cache_->memory.get(), &args_);
    query_.Release();
  }

  const char* Finish() override {
    return out_.Deliver() ? nullptr : "options.out was detached or shrunk during forwardAsync";
  }

  void Settle() override { cache_->busy = false; }

 private:
  ModelPtr model_;
  CachePtr cache_;
  std::vector<int64_t> starts_, q_rows_;
  PooledBuffer query_;
  std::vector<uint8_t> padding_;
  OwnedMask attn_mask_;
  AsyncOutput out_, weights_;
  mha_cached_forward_args args_;
};

}  // namespace

Napi::Value CreateKVStore(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  Napi::Env env = info.Env();
  const int64_t batch = GetDimArg(info, 0, "batch"), capacity = GetDimArg(info, 1, "capacity");
  const mha_storage dtype = GetStorage(env, info[2], "dtype");
  const int64_t elements = ElementCount(env, {batch, shape.num_kv_heads, capacity, shape.head_dim()});
  if (elements > (int64_t{1} << 40)) ThrowRange(env, "the cache would exceed 2^40 elements");
  CachePtr cache = std::make_shared<CacheHandle>();
  cache->owner = model;
  cache->memory.reset(mha_kv_cache_create(batch, shape.num_kv_heads, capacity, shape.head_dim(), dtype));
  if (!cache->memory) throw Napi::Error::New(env, "out of memory allocating the KV cache");
  Napi::External<CachePtr> handle = Napi::External<CachePtr>::New(
      env, new CachePtr(std::move(cache)), [](Napi::Env, CachePtr* p) { delete p; });
  handle.TypeTag(&kCacheTag);
  return handle;
}

Napi::Value AppendKV(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  Napi::Env env = info.Env();
  CachePtr cache = GetCache(info, model);
  Napi::Object o = ArgObject(info, 1);
  mha_kv_cache* c = cache->memory.get();
  const int64_t batch = GetDim(o, "batch"), t = GetDim(o, "t");
  if (batch != c->batch) ThrowRange(env, "batch does not match the cache's batch size");
  const std::vector<int64_t> starts = GetInts(o, "starts", batch, c->capacity);
  CheckFits(env, *c, starts, std::vector<int64_t>(batch, t));
  const float* key = GetFloat32(o, "key", ElementCount(env, {batch, t, shape.k_dim})).Data();
  const float* value = GetFloat32(o, "value", ElementCount(env, {batch, t, shape.v_dim})).Data();
  const uint8_t* padding = OptionalData(GetOptionalUint8(o, "padding", ElementCount(env, {batch, t})));
  mha_model_append_kv(model.get(), c, starts.data(), t, key, value, padding);
  return env.Undefined();
}

Napi::Value ForwardCached(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  CachedView f = UnwrapCached(info, model, shape);
  mha_model_forward_cached(model.get(), f.cache->memory.get(), &f.args);
  return info.Env().Undefined();
}

Napi::Value ForwardCachedAsync(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  CachedView f = UnwrapCached(info, model, shape);
  return (new CachedForwardCall(info.Env(), model, f))->Start();
}

}  // namespace mha_binding
