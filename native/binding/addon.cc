// Module init (context-aware: one MhaAddon instance per Node environment, so the addon
// loads in the main thread and in any number of worker_threads) and the free functions:
// nativeInfo, setNumThreads/getNumThreads, matmul, maskedSoftmax, attention, rotary. Each
// unwraps and re-checks its record (lib/backend.ts), then runs the core synchronously.
#include <napi.h>

#include <math.h>
#include <string.h>

#include <vector>

#include "binding/args.h"
#include "binding/errors.h"
#include "binding/model.h"
#include "core/attention.h"
#include "core/dispatch.h"
#include "core/gemm.h"
#include "core/rotary.h"
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
        InstanceMethod("rotary", &MhaAddon::Rotary),
        InstanceValue("Model", DefineModelClass(env)),
    });
  }

 private:
  Napi::Value NativeInfo(const Napi::CallbackInfo& info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("isa", mha_kernels()->isa);
    o.Set("bf16", mha_kernels()->bf16->path);
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
    g.precision = GetPrecision(o, "precision");
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
    a.rule = GetScoreRule(o, heads, true);
    a.attn_mask = GetOptionalMask(o, "attnMask", batch, heads, l, s).mask;
    a.key_padding = GetOptionalMask(o, "keyPadding", batch, heads, l, s).mask;
    mha_masked_softmax(&a);
    return env.Undefined();
  }

  // Dense q [B,H,L,D], k [B,Hkv,S,D], v [B,Hkv,S,Dv] -> out [B,H,L,Dv], or packed token-major
  // q [T,H,D], k [Tk,Hkv,D], v [Tk,Hkv,Dv] -> out [T,H,Dv] (lib/backend.ts AttentionArgs).
  Napi::Value Attention(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = ArgObject(info, 0);
    const int64_t batch = GetDim(o, "batch"), heads = GetDim(o, "heads"), kv_heads = GetDim(o, "kvHeads");
    const int64_t l = GetCount(o, "l"), s = GetCount(o, "s"), d = GetDim(o, "d"), dv = GetDim(o, "dv");
    if (heads % kv_heads != 0) ThrowRange(env, "kvHeads must divide heads");
    mha_attention_args a = {};
    a.batch = batch; a.heads = heads; a.kv_heads = kv_heads; a.l = l; a.s = s; a.d = d; a.dv = dv;
    std::vector<int64_t> q_rows, kv_rows;
    int64_t rows_q, rows_kv;
    Napi::Value packed = o.Get("packed");
    if (!packed.IsUndefined() && !packed.IsNull()) {
      if (!packed.IsObject()) ThrowType(env, "packed must be an object");
      int64_t longest_q, longest_kv;
      q_rows = GetRowOffsets(packed.As<Napi::Object>(), "q", batch, &longest_q);
      kv_rows = GetRowOffsets(packed.As<Napi::Object>(), "kv", batch, &longest_kv);
      if (q_rows.empty() || kv_rows.empty()) ThrowType(env, "packed needs q and kv");
      if (longest_q > l || longest_kv > s) ThrowRange(env, "packed sequences longer than l or s");
      rows_q = q_rows.back();
      rows_kv = kv_rows.back();
      a.q_rows = q_rows.data();
      a.kv_rows = kv_rows.data();
      a.q_sh = d; a.q_sl = heads * d;
      a.k_sh = d; a.k_ss = kv_heads * d;
      a.v_sh = dv; a.v_ss = kv_heads * dv;
      a.o_sh = dv; a.o_sl = heads * dv;
    } else {
      if (l == 0 || s == 0) ThrowRange(env, "l and s must be positive without packing");
      rows_q = ElementCount(env, {batch, l});
      rows_kv = ElementCount(env, {batch, s});
      a.q_sb = heads * l * d; a.q_sh = l * d; a.q_sl = d;
      a.k_sb = kv_heads * s * d; a.k_sh = s * d; a.k_ss = d;
      a.v_sb = kv_heads * s * dv; a.v_sh = s * dv; a.v_ss = dv;
      a.o_sb = heads * l * dv; a.o_sh = l * dv; a.o_sl = dv;
    }
    a.q = GetFloat32(o, "q", ElementCount(env, {rows_q, heads, d})).Data();
    a.k = GetFloat32(o, "k", ElementCount(env, {rows_kv, kv_heads, d})).Data();
    a.v = GetFloat32(o, "v", ElementCount(env, {rows_kv, kv_heads, dv})).Data();
    a.out = GetFloat32(o, "out", ElementCount(env, {rows_q, heads, dv})).Data();
    a.rule = GetScoreRule(o, heads, true);
    a.precision = GetPrecision(o, "precision");
    a.attn_mask = GetOptionalMask(o, "attnMask", batch, heads, l, s).mask;
    a.key_padding = GetOptionalMask(o, "keyPadding", batch, heads, l, s).mask;
    if (a.q_rows && (a.attn_mask.kind != MHA_MASK_NONE || a.key_padding.kind != MHA_MASK_NONE))
      ThrowRange(env, "packed attention takes no masks");
    mha_attention(&a);
    return env.Undefined();
  }

  // RoPE of x [groups, n, heads, d] into out (which may be x): vector (g, i, h) rotated for
  // position positions[i] (lib/backend.ts RotaryArgs).
  Napi::Value Rotary(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = ArgObject(info, 0);
    const int64_t groups = GetDim(o, "groups"), n = GetDim(o, "n"), heads = GetDim(o, "heads"), d = GetDim(o, "d");
    const mha_rotary_spec spec = GetRotarySpec(o, d);
    const int64_t count = ElementCount(env, {groups, n, heads, d});
    Napi::Float32Array x = GetFloat32(o, "x", count), out = GetFloat32(o, "out", count);
    Napi::Value p = o.Get("positions");
    if (!p.IsTypedArray() || p.As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      ThrowType(env, "positions must be a Float64Array");
    Napi::Float64Array positions = p.As<Napi::Float64Array>();
    if (static_cast<int64_t>(positions.ElementLength()) < n) ThrowRange(env, "positions needs n entries");
    const double* given = positions.Data();
    std::vector<double> pos(groups * n);
    for (int64_t r = 0; r < groups * n; ++r) {
      pos[r] = given[r % n];
      if (!isfinite(pos[r])) ThrowRange(env, "positions must be finite");
    }
    if (out.Data() != x.Data()) memmove(out.Data(), x.Data(), count * sizeof(float));
    mha_rotary(&spec, out.Data(), groups * n, heads * d, heads, d, pos.data());
    return env.Undefined();
  }
};

}  // namespace
}  // namespace mha_binding

using mha_binding::MhaAddon;
NODE_API_ADDON(MhaAddon)
