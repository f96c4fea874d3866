#include "binding/model.h"

#include <string.h>

#include <memory>

#include "binding/args.h"
#include "binding/async_call.h"
#include "binding/errors.h"
#include "binding/kv_cache.h"
#include "core/mha_model.h"

namespace mha_binding {
namespace {

// A forward call's record (lib/backend.ts ForwardArgs), unwrapped and size-checked; args
// points at the JS buffers and at q_rows / kv_rows.
struct ForwardView {
  mha_forward_args args;
  std::vector<int64_t> q_rows, kv_rows;  // packed: [batch + 1] each; empty when dense
  MaskView attn_mask, key_padding;
  int64_t query_len, key_len, value_len, out_len, weights_len;  // key/value: 0 for self-attention
  Napi::Float32Array out, weights;                              // weights: empty when not wanted
  bool out_is_callers;
};

ForwardView UnwrapForward(const Napi::CallbackInfo& info, const ModelShape& shape) {
  Napi::Env env = info.Env();
  Napi::Object o = ArgObject(info, 0);
  ForwardView f = {};
  mha_forward_args& a = f.args;
  a.batch = GetDim(o, "batch");
  a.l = GetCount(o, "l");
  a.s = GetCount(o, "s");
  a.self_attention = GetBool(o, "selfAttention");
  a.causal = GetBool(o, "causal");
  a.average_weights = GetBool(o, "averageWeights");
  f.out_is_callers = GetBool(o, "outIsCallers");
  const int64_t e = shape.embed_dim, heads = shape.num_heads;
  int64_t rows_q = ElementCount(env, {a.batch, a.l}), rows_kv = ElementCount(env, {a.batch, a.s});
  Napi::Value packed = o.Get("packed");
  if (!packed.IsUndefined() && !packed.IsNull()) {
    if (!packed.IsObject()) ThrowType(env, "packed must be an object");
    int64_t longest_q, longest_kv;
    f.q_rows = GetRowOffsets(packed.As<Napi::Object>(), "q", a.batch, &longest_q);
    f.kv_rows = GetRowOffsets(packed.As<Napi::Object>(), "kv", a.batch, &longest_kv);
    if (f.q_rows.empty() || f.kv_rows.empty()) ThrowType(env, "packed needs q and kv");
    if (longest_q > a.l || longest_kv > a.s) ThrowRange(env, "packed sequences longer than l or s");
    rows_q = f.q_rows.back();
    rows_kv = f.kv_rows.back();
    a.q_rows = f.q_rows.data();
    a.kv_rows = f.kv_rows.data();
  } else if (a.l == 0 || a.s == 0) {
    ThrowRange(env, "l and s must be positive without packing");
  }
  f.query_len = ElementCount(env, {rows_q, e});
  a.query = GetFloat32(o, "query", f.query_len).Data();
  if (a.self_attention) {
    if (a.s != a.l || f.q_rows != f.kv_rows || shape.k_dim != e || shape.v_dim != e)
      ThrowRange(env, "selfAttention needs the same rows for keys as for queries and kDim == vDim == embedDim");
    a.key = a.value = a.query;
  } else {
    f.key_len = ElementCount(env, {rows_kv, shape.k_dim});
    f.value_len = ElementCount(env, {rows_kv, shape.v_dim});
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
  if (a.q_rows && (a.weights || a.attn_mask.kind != MHA_MASK_NONE || a.key_padding.kind != MHA_MASK_NONE))
    ThrowRange(env, "packed batches take no masks or weights");
  return f;
}

// forwardAsync: query, key and value are copied into one pooled buffer on the JS thread (key
// once when value is the same memory, e.g. cross-attention over one tensor); Run computes into
// the outputs (AsyncOutput) and returns the input buffer to the pool.
class ForwardCall : public AsyncCall {
 public:
  ForwardCall(Napi::Env env, ModelPtr model, const ForwardView& f)
      : AsyncCall(env, "mha-native:forward"),
        model_(std::move(model)),
        q_rows_(f.q_rows),
        kv_rows_(f.kv_rows),
        attn_mask_(f.attn_mask),
        key_padding_(f.key_padding),
        out_(f.out, f.out_len, f.out_is_callers),
        weights_(f.weights, f.weights_len, false) {
    const mha_forward_args& a = f.args;
    const bool value_is_key = a.value == a.key && f.value_len <= f.key_len;
    const int64_t value_len = value_is_key ? 0 : f.value_len;
    inputs_ = PooledBuffer(f.query_len + f.key_len + value_len);
    float* query = inputs_.data();
    float* key = query + f.query_len;
    float* value = key + f.key_len;
    memcpy(query, a.query, f.query_len * sizeof(float));
    memcpy(key, a.key, f.key_len * sizeof(float));
    memcpy(value, a.value, value_len * sizeof(float));
    args_ = a;
    args_.query = query;
    args_.key = a.self_attention ? query : key;
    args_.value = a.self_attention ? query : value_is_key ? key : value;
    args_.q_rows = q_rows_.empty() ? nullptr : q_rows_.data();
    args_.kv_rows = kv_rows_.empty() ? nullptr : kv_rows_.data();
    args_.attn_mask = attn_mask_.mask();
    args_.key_padding = key_padding_.mask();
    args_.out = out_.target();
    args_.weights = weights_.target();
  }

 protected:
  void Run() override {
    mha_model_forward(model_.get(), &args_);
    inputs_.Release();
  }

  const char* Finish() override {
    return out_.Deliver() ? nullptr : "options.out was detached or shrunk during forwardAsync";
  }

 private:
  ModelPtr model_;
  PooledBuffer inputs_;
  std::vector<int64_t> q_rows_, kv_rows_;
  OwnedMask attn_mask_, key_padding_;
  AsyncOutput out_, weights_;
  mha_forward_args args_;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    Napi::Env env = info.Env();
    Napi::Object w = ArgObject(info, 0);
    shape_.embed_dim = GetDim(w, "embedDim");
    shape_.num_heads = GetDim(w, "numHeads");
    shape_.num_kv_heads = GetDim(w, "numKvHeads");
    shape_.k_dim = GetDim(w, "kDim");
    shape_.v_dim = GetDim(w, "vDim");
    const int64_t e = shape_.embed_dim, heads = shape_.num_heads;
    if (e % heads != 0) ThrowRange(env, "numHeads must divide embedDim");
    if (heads % shape_.num_kv_heads != 0) ThrowRange(env, "numKvHeads must divide numHeads");
    const int64_t head_dim = e / heads, kv = shape_.num_kv_heads * head_dim;
    mha_model_desc d = {};
    d.embed_dim = e;
    d.num_heads = heads;
    d.num_kv_heads = shape_.num_kv_heads;
    d.k_dim = shape_.k_dim;
    d.v_dim = shape_.v_dim;
    d.q_weight = GetFloat32(w, "qWeight", ElementCount(env, {e, e})).Data();
    d.k_weight = GetFloat32(w, "kWeight", ElementCount(env, {kv, shape_.k_dim})).Data();
    d.v_weight = GetFloat32(w, "vWeight", ElementCount(env, {kv, shape_.v_dim})).Data();
    d.out_weight = GetFloat32(w, "outWeight", ElementCount(env, {e, e})).Data();
    d.q_bias = OptionalData(GetOptionalFloat32(w, "qBias", e));
    d.k_bias = OptionalData(GetOptionalFloat32(w, "kBias", kv));
    d.v_bias = OptionalData(GetOptionalFloat32(w, "vBias", kv));
    d.out_bias = OptionalData(GetOptionalFloat32(w, "outBias", e));
    d.rule = GetScoreRule(w, heads, false);
    d.dtype = GetPrecision(w, "dtype");
    Napi::Value rotary = w.Get("rotary");
    if (rotary.IsObject()) d.rotary = GetRotarySpec(rotary.As<Napi::Object>(), head_dim);
    else if (!rotary.IsUndefined() && !rotary.IsNull()) ThrowType(env, "rotary must be an object");
    model_ = ModelPtr(mha_model_create(&d), mha_model_free);
  }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Model",
                       {InstanceMethod("forward", &ModelWrap::Forward),
                        InstanceMethod("forwardAsync", &ModelWrap::ForwardAsync),
                        InstanceMethod("createKVStore", &ModelWrap::CreateKVStore),
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
    return (new ForwardCall(info.Env(), model_, UnwrapForward(info, shape_)))->Start();
  }

  Napi::Value CreateKVStore(const Napi::CallbackInfo& info) { return mha_binding::CreateKVStore(info, model_, shape_); }
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
