// Module init (context-aware: one MhaAddon instance per Node environment, so the addon
// loads in the main thread and in any number of worker_threads) and the free functions:
// nativeInfo, setNumThreads/getNumThreads, matmul, maskedSoftmax, attention. Each
// unwraps and re-checks its argument object, then runs the core synchronously.
#include <napi.h>

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/model.h"
#include "core/attention.h"
#include "core/dispatch.h"
#include "core/gemm.h"
#include "core/softmax.h"
#include "core/threadpool.h"

#ifndef MHA_NATIVE_VERSION
#error "MHA_NATIVE_VERSION (the package version) is defined by binding.gyp"
#endif
#define MHA_STRINGIFY_(x) #x
#define MHA_STRINGIFY(x) MHA_STRINGIFY_(x)

namespace mha_binding {
namespace {

constexpr int kMaxThreads = 1024;

class MhaAddon : public Napi::Addon<MhaAddon> {
 public:
  MhaAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
        InstanceMethod("nativeInfo", &MhaAddon::NativeInfo),
        InstanceMethod("setNumThreads", &MhaAddon::SetNumThreads),
        InstanceMethod("getNumThreads", &MhaAddon::GetNumThreads),
        InstanceMethod("matmul", &MhaAddon::Matmul),
        InstanceMethod("maskedSoftmax", &MhaAddon::MaskedSoftmax),
        InstanceMethod("attention", &MhaAddon::Attention),
        InstanceValue("Model", DefineModelClass(env)),
    });
  }

 private:
  Napi::Value NativeInfo(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("isa", mha_kernels()->isa);
    o.Set("threads", mha::num_threads());
    o.Set("version", MHA_STRINGIFY(MHA_NATIVE_VERSION));
    return o;
  }

  Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) ThrowType(env, "n must be a number");
    const double n = info[0].As<Napi::Number>().DoubleValue();
    if (!(n >= 1 && n <= kMaxThreads && n == static_cast<int>(n))) ThrowRange(env, "n must be an integer in [1, 1024]");
    mha::set_num_threads(static_cast<int>(n));
    return env.Undefined();
  }

  Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), mha::num_threads());
  }

  Napi::Value Matmul(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = ArgObject(info, 0);
    const int64_t batch = GetDim(o, "batch"), m = GetDim(o, "m"), n = GetDim(o, "n"), k = GetDim(o, "k");
    const bool trans_a = GetBool(o, "transA"), trans_b = GetBool(o, "transB"), b_batched = GetBool(o, "bBatched");
    const float alpha = GetFloat(o, "alpha");
    Napi::Float32Array a = GetFloat32(o, "a", ElementCount(env, {batch, m, k}));
    Napi::Float32Array b = GetFloat32(o, "b", ElementCount(env, {b_batched ? batch : 1, k, n}));
    Napi::Float32Array out = GetFloat32(o, "out", ElementCount(env, {batch, m, n}));
    mha_gemm_args g = {};
    g.batch = batch; g.m = m; g.n = n; g.k = k;
    g.a = a.Data(); g.lda = trans_a ? m : k; g.stride_a = m * k; g.trans_a = trans_a;
    g.b = b.Data(); g.ldb = trans_b ? k : n; g.stride_b = b_batched ? k * n : 0; g.trans_b = trans_b;
    g.c = out.Data(); g.ldc = n; g.stride_c = m * n;
    g.alpha = alpha; g.beta = 0.0f;
    mha_sgemm(&g);
    return env.Undefined();
  }

  Napi::Value MaskedSoftmax(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = ArgObject(info, 0);
    const int64_t batch = GetDim(o, "batch"), heads = GetDim(o, "heads"), l = GetDim(o, "l"), s = GetDim(o, "s");
    const int64_t count = ElementCount(env, {batch, heads, l, s});
    mha_softmax_args a = {};
    a.batch = batch; a.heads = heads; a.l = l; a.s = s;
    a.x = GetFloat32(o, "x", count).Data();
    a.out = GetFloat32(o, "out", count).Data();
    a.scale = GetFloat(o, "scale");
    a.attn_mask = GetOptionalMask(o, "attnMask", batch, heads, l, s).mask;
    a.key_padding = GetOptionalMask(o, "keyPadding", batch, heads, l, s).mask;
    a.causal = GetBool(o, "causal");
    mha_masked_softmax(&a);
    return env.Undefined();
  }

  Napi::Value Attention(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = ArgObject(info, 0);
    const int64_t batch = GetDim(o, "batch"), heads = GetDim(o, "heads"), l = GetDim(o, "l"), s = GetDim(o, "s");
    const int64_t d = GetDim(o, "d"), dv = GetDim(o, "dv");
    mha_attention_args a = {};
    a.batch = batch; a.heads = heads; a.l = l; a.s = s; a.d = d; a.dv = dv;
    a.q = GetFloat32(o, "q", ElementCount(env, {batch, heads, l, d})).Data();
    a.q_sb = heads * l * d; a.q_sh = l * d; a.q_sl = d;
    a.k = GetFloat32(o, "k", ElementCount(env, {batch, heads, s, d})).Data();
    a.k_sb = heads * s * d; a.k_sh = s * d; a.k_ss = d;
    a.v = GetFloat32(o, "v", ElementCount(env, {batch, heads, s, dv})).Data();
    a.v_sb = heads * s * dv; a.v_sh = s * dv; a.v_ss = dv;
    a.out = GetFloat32(o, "out", ElementCount(env, {batch, heads, l, dv})).Data();
    a.o_sb = heads * l * dv; a.o_sh = l * dv; a.o_sl = dv;
    a.scale = GetFloat(o, "scale");
    a.attn_mask = GetOptionalMask(o, "attnMask", batch, heads, l, s).mask;
    a.key_padding = GetOptionalMask(o, "keyPadding", batch, heads, l, s).mask;
    a.causal = GetBool(o, "causal");
    mha_attention(&a);
    return env.Undefined();
  }
};

}  // namespace
}  // namespace mha_binding

using mha_binding::MhaAddon;
NODE_API_ADDON(MhaAddon)
