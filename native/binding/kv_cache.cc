#include "binding/kv_cache.h"

#include <memory>
#include <string>
#include <vector>

#include "binding/args.h"
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

[[noreturn]] void ThrowRange(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

// The handle in o[name]: TypeError unless it is a cache of this model, Error while it is busy.
CachePtr GetCache(const Napi::Object& o, const char* name, const ModelPtr& model) {
  Napi::Env env = o.Env();
  Napi::Value v = o.Get(name);
  if (!v.IsExternal() || !v.As<Napi::External<CachePtr>>().CheckTypeTag(&kCacheTag))
    throw Napi::TypeError::New(env, std::string(name) + " must be a KV cache handle");
  CachePtr cache = *v.As<Napi::External<CachePtr>>().Data();
  if (cache->owner != model) throw Napi::TypeError::New(env, std::string(name) + " belongs to another model");
  if (cache->busy) throw Napi::Error::New(env, std::string(name) + " is in use by a pending forwardCachedAsync");
  return cache;
}

// Checks that `count` new positions written at `start` stay inside the capacity.
void CheckFits(Napi::Env env, const mha_kv_cache& c, int64_t start, int64_t count) {
  if (start > c.capacity || count > c.capacity - start)
    ThrowRange(env, "start " + std::to_string(start) + " + " + std::to_string(count) +
                        " positions exceed the cache capacity " + std::to_string(c.capacity));
}

const uint8_t* OptionalData(const Napi::Uint8Array& a) { return a.IsEmpty() ? nullptr : a.Data(); }

// A forwardCached call's arguments, unwrapped and size-checked; args points at the JS buffers.
struct CachedView {
  CachePtr cache;
  mha_cached_forward_args args;
  MaskView attn_mask;
  int64_t query_len, padding_len, weights_len;
  Napi::Float32Array out, weights;  // weights: empty when not wanted
};

CachedView UnwrapCached(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  CachedView f = {};
  f.cache = GetCache(o, "cache", model);
  const mha_kv_cache& c = *f.cache->memory;
  mha_cached_forward_args& a = f.args;
  a.batch = GetDim(o, "batch");
  a.l = GetDim(o, "l");
  a.start = GetCount(o, "start");
  a.append = GetBool(o, "append");
  a.causal = GetBool(o, "causal");
  a.average_weights = GetBool(o, "averageWeights");
  if (a.batch != c.batch) ThrowRange(env, "batch does not match the cache's batch size");
  const int64_t e = shape.embed_dim, heads = shape.num_heads;
  if (a.append && (shape.k_dim != e || shape.v_dim != e))
    ThrowRange(env, "appending from the query needs kDim == vDim == embedDim");
  CheckFits(env, c, a.start, a.append ? a.l : 0);
  const int64_t s = a.start + (a.append ? a.l : 0);
  if (s == 0) ThrowRange(env, "the cache is empty and nothing is appended");
  f.query_len = ElementCount(env, {a.batch, a.l, e});
  a.query = GetFloat32(o, "query", f.query_len).Data();
  if (a.append) {
    Napi::Uint8Array padding = GetOptionalUint8(o, "newPadding", ElementCount(env, {a.batch, a.l}));
    a.new_padding = OptionalData(padding);
    f.padding_len = a.new_padding ? a.batch * a.l : 0;
  }
  f.out = GetFloat32(o, "out", f.query_len);
  a.out = f.out.Data();
  f.weights = GetOptionalWeights(o, a.average_weights, a.batch, heads, a.l, s, &f.weights_len);
  a.weights = f.weights.IsEmpty() ? nullptr : f.weights.Data();
  f.attn_mask = GetOptionalMask(o, "attnMask", a.batch, heads, a.l, s);
  a.attn_mask = f.attn_mask.mask;
  return f;
}

// forwardCachedAsync: like ForwardWorker (model.cc), the constructor copies every input into
// native memory and OnOK copies the results out; the cache is marked busy until then, so no
// other call touches it while Execute writes it off-thread.
class CachedForwardWorker : public Napi::AsyncWorker {
 public:
  CachedForwardWorker(Napi::Env env, ModelPtr model, const CachedView& f)
      : Napi::AsyncWorker(env, "mha-native:forwardCached"),
        deferred_(Napi::Promise::Deferred::New(env)),
        model_(std::move(model)),
        cache_(f.cache),
        query_(f.args.query, f.args.query + f.query_len),
        padding_(f.args.new_padding, f.args.new_padding + f.padding_len),
        attn_mask_(f.attn_mask),
        outputs_(f.out, f.query_len, f.weights, f.weights_len) {
    args_ = f.args;
    args_.query = query_.data();
    args_.new_padding = f.args.new_padding ? padding_.data() : nullptr;
    args_.attn_mask = attn_mask_.mask();
    cache_->busy = true;
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    outputs_.Allocate(&args_.out, &args_.weights);
    mha_model_forward_cached(model_.get(), cache_->memory.get(), &args_);
  }

  void OnOK() override {
    cache_->busy = false;
    Napi::Env env = Env();
    if (!outputs_.Deliver()) {
      deferred_.Reject(Napi::RangeError::New(env, "out or weights was detached during forwardCachedAsync").Value());
      return;
    }
    deferred_.Resolve(env.Undefined());
  }

  void OnError(const Napi::Error& e) override {
    cache_->busy = false;
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  ModelPtr model_;
  CachePtr cache_;
  std::vector<float> query_;
  std::vector<uint8_t> padding_;
  OwnedMask attn_mask_;
  AsyncOutputs outputs_;
  mha_cached_forward_args args_;
};

}  // namespace

Napi::Value CreateKVCache(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  const int64_t batch = GetDim(o, "batch"), capacity = GetDim(o, "capacity");
  const int64_t head_dim = shape.embed_dim / shape.num_heads;
  const int64_t elements = ElementCount(env, {batch, shape.num_heads, capacity, head_dim});
  if (elements > (int64_t{1} << 40)) ThrowRange(env, "the cache would exceed 2^40 elements");
  CachePtr cache = std::make_shared<CacheHandle>();
  cache->owner = model;
  cache->memory.reset(mha_kv_cache_create(batch, shape.num_heads, capacity, head_dim));
  if (!cache->memory) throw Napi::Error::New(env, "out of memory allocating the KV cache");
  Napi::External<CachePtr> handle = Napi::External<CachePtr>::New(
      env, new CachePtr(std::move(cache)), [](Napi::Env, CachePtr* p) { delete p; });
  handle.TypeTag(&kCacheTag);
  return handle;
}

Napi::Value AppendKV(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  CachePtr cache = GetCache(o, "cache", model);
  mha_kv_cache* c = cache->memory.get();
  const int64_t batch = GetDim(o, "batch"), t = GetDim(o, "t"), start = GetCount(o, "start");
  if (batch != c->batch) ThrowRange(env, "batch does not match the cache's batch size");
  CheckFits(env, *c, start, t);
  const float* key = GetFloat32(o, "key", ElementCount(env, {batch, t, shape.k_dim})).Data();
  const float* value = GetFloat32(o, "value", ElementCount(env, {batch, t, shape.v_dim})).Data();
  const uint8_t* padding = OptionalData(GetOptionalUint8(o, "padding", ElementCount(env, {batch, t})));
  mha_model_append_kv(model.get(), c, start, t, key, value, padding);
  return env.Undefined();
}

Napi::Value ForwardCached(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  CachedView f = UnwrapCached(info, model, shape);
  mha_model_forward_cached(model.get(), f.cache->memory.get(), &f.args);
  return info.Env().Undefined();
}

Napi::Value ForwardCachedAsync(const Napi::CallbackInfo& info, const ModelPtr& model, const ModelShape& shape) {
  CachedView f = UnwrapCached(info, model, shape);
  CachedForwardWorker* worker = new CachedForwardWorker(info.Env(), model, f);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace mha_binding
