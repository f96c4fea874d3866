#include "binding/model.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "binding/args.h"
#include "binding/kv_cache.h"
#include "core/mha_model.h"

namespace mha_binding {
namespace {

// A forward call's arguments, unwrapped and size-checked; args points at the JS buffers.
struct ForwardView {
  mha_forward_args args;
  MaskView attn_mask, key_padding;
  int64_t query_len, key_len, value_len, out_len, weights_len;  // key/value: 0 for self-attention
  Napi::Float32Array out, weights;                              // weights: empty when not wanted
};

ForwardView UnwrapForward(const Napi::CallbackInfo& info, const ModelShape& shape) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  ForwardView f = {};
  mha_forward_args& a = f.args;
  a.batch = GetDim(o, "batch");
  a.l = GetDim(o, "l");
  a.s = GetDim(o, "s");
  a.self_attention = GetBool(o, "selfAttention");
  a.causal = GetBool(o, "causal");
  a.average_weights = GetBool(o, "averageWeights");
  const int64_t e = shape.embed_dim, heads = shape.num_heads;
  f.query_len = ElementCount(env, {a.batch, a.l, e});
  a.query = GetFloat32(o, "query", f.query_len).Data();
  if (a.self_attention) {
    if (a.s != a.l || shape.k_dim != e || shape.v_dim != e)
      throw Napi::RangeError::New(env, "selfAttention needs s == l and kDim == vDim == embedDim");
    a.key = a.value = a.query;
  } else {
    f.key_len = ElementCount(env, {a.batch, a.s, shape.k_dim});
    f.value_len = ElementCount(env, {a.batch, a.s, shape.v_dim});
    a.key = GetFloat32(o, "key", f.key_len).Data();
    a.value = GetFloat32(o, "value", f.value_len).Data();
  }
  f.out_len = f.query_len;
  f.out = GetFloat32(o, "out", f.out_len);
  a.out = f.out.Data();
  f.weights = GetOptionalWeights(o, a.average_weights, a.batch, heads, a.l, a.s, &f.weights_len);
  a.weights = f.weights.IsEmpty() ? nullptr : f.weights.Data();
  f.attn_mask = GetOptionalMask(o, "attnMask", a.batch, heads, a.l, a.s);
  f.key_padding = GetOptionalMask(o, "keyPadding", a.batch, heads, a.l, a.s);
  a.attn_mask = f.attn_mask.mask;
  a.key_padding = f.key_padding.mask;
  return f;
}

// Cross-attention over one memory tensor passes the same array as key and value: its copy
// then serves both.
bool ValueIsKey(const ForwardView& f) { return f.args.value == f.args.key && f.value_len <= f.key_len; }

// forwardAsync: the constructor (JS thread) copies every input into native memory, Execute
// (a libuv worker, no N-API) runs the forward pass into native output buffers, OnOK (JS
// thread) copies them into the caller's out/weights arrays and resolves the promise.
// The worker co-owns the model, so it outlives a wrapper collected meanwhile.
class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, ModelPtr model, const ForwardView& f)
      : Napi::AsyncWorker(env, "mha-native:forward"),
        deferred_(Napi::Promise::Deferred::New(env)),
        model_(std::move(model)),
        query_(f.args.query, f.args.query + f.query_len),
        key_(f.args.key, f.args.key + f.key_len),
        value_(f.args.value, ValueIsKey(f) ? f.args.value : f.args.value + f.value_len),
        attn_mask_(f.attn_mask),
        key_padding_(f.key_padding),
        outputs_(f.out, f.out_len, f.weights, f.weights_len) {
    args_ = f.args;
    args_.query = query_.data();
    args_.key = f.args.self_attention ? args_.query : key_.data();
    args_.value = f.args.self_attention ? args_.query : ValueIsKey(f) ? key_.data() : value_.data();
    args_.attn_mask = attn_mask_.mask();
    args_.key_padding = key_padding_.mask();
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    outputs_.Allocate(&args_.out, &args_.weights);
    mha_model_forward(model_.get(), &args_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    // The arrays may have been detached (transferred) while the work ran.
    if (!outputs_.Deliver()) {
      deferred_.Reject(Napi::RangeError::New(env, "out or weights was detached during forwardAsync").Value());
      return;
    }
    deferred_.Resolve(env.Undefined());
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  ModelPtr model_;
  std::vector<float> query_, key_, value_;
  OwnedMask attn_mask_, key_padding_;
  AsyncOutputs outputs_;
  mha_forward_args args_;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object w = ArgObject(info, 0);
    shape_.embed_dim = GetDim(w, "embedDim");
    shape_.num_heads = GetDim(w, "numHeads");
    shape_.k_dim = GetDim(w, "kDim");
    shape_.v_dim = GetDim(w, "vDim");
    const int64_t e = shape_.embed_dim;
    if (e % shape_.num_heads != 0) throw Napi::RangeError::New(env, "numHeads must divide embedDim");
    mha_model_desc d = {};
    d.embed_dim = e;
    d.num_heads = shape_.num_heads;
    d.k_dim = shape_.k_dim;
    d.v_dim = shape_.v_dim;
    d.q_weight = GetFloat32(w, "qWeight", ElementCount(env, {e, e})).Data();
    d.k_weight = GetFloat32(w, "kWeight", ElementCount(env, {e, shape_.k_dim})).Data();
    d.v_weight = GetFloat32(w, "vWeight", ElementCount(env, {e, shape_.v_dim})).Data();
    d.out_weight = GetFloat32(w, "outWeight", ElementCount(env, {e, e})).Data();
    d.q_bias = OptionalData(GetOptionalFloat32(w, "qBias", e));
    d.k_bias = OptionalData(GetOptionalFloat32(w, "kBias", e));
    d.v_bias = OptionalData(GetOptionalFloat32(w, "vBias", e));
    d.out_bias = OptionalData(GetOptionalFloat32(w, "outBias", e));
    model_ = ModelPtr(mha_model_create(&d), mha_model_free);
  }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("forward", &ModelWrap::Forward),
                        InstanceMethod("forwardAsync", &ModelWrap::ForwardAsync),
                        InstanceMethod("createKVCache", &ModelWrap::CreateKVCache),
                        InstanceMethod("appendKV", &ModelWrap::AppendKV),
                        InstanceMethod("forwardCached", &ModelWrap::ForwardCached),
                        InstanceMethod("forwardCachedAsync", &ModelWrap::ForwardCachedAsync)});
  }

 private:
  static const float* OptionalData(const Napi::Float32Array& a) { return a.IsEmpty() ? nullptr : a.Data(); }

  Napi::Value Forward(const Napi::CallbackInfo& info) {
    ForwardView f = UnwrapForward(info, shape_);
    mha_model_forward(model_.get(), &f.args);
    return info.Env().Undefined();
  }

  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    ForwardView f = UnwrapForward(info, shape_);
    ForwardWorker* worker = new ForwardWorker(info.Env(), model_, f);
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
  }

  Napi::Value CreateKVCache(const Napi::CallbackInfo& info) { return mha_binding::CreateKVCache(info, model_, shape_); }
  Napi::Value AppendKV(const Napi::CallbackInfo& info) { return mha_binding::AppendKV(info, model_, shape_); }
  Napi::Value ForwardCached(const Napi::CallbackInfo& info) { return mha_binding::ForwardCached(info, model_, shape_); }
  Napi::Value ForwardCachedAsync(const Napi::CallbackInfo& info) {
    return mha_binding::ForwardCachedAsync(info, model_, shape_);
  }

  ModelShape shape_ = {};
  ModelPtr model_;
};

}  // namespace

Napi::Function DefineModelClass(Napi::Env env) { return ModelWrap::Define(env); }

}  // namespace mha_binding
