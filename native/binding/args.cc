#include "binding/args.h"

#include <math.h>
#include <stdint.h>

#include <algorithm>
#include <string>

#include "binding/errors.h"

namespace mha_binding {
namespace {

constexpr double kMaxSafeInteger = 9007199254740991.0;  // 2^53 - 1

bool IsAbsent(const Napi::Value& v) { return v.IsUndefined() || v.IsNull(); }

bool IsFloat32Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

bool IsUint8Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array;
}

bool IsInt32Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array;
}

std::vector<int64_t> ReadInts(Napi::Env env, const Napi::Value& v, const std::string& name, int64_t count,
                              int64_t max) {
  if (!IsInt32Array(v)) ThrowType(env, name + " must be an Int32Array");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (static_cast<int64_t>(a.ElementLength()) != count)
    ThrowRange(env, name + " has " + std::to_string(a.ElementLength()) + " entries, needs " + std::to_string(count));
  std::vector<int64_t> out(a.Data(), a.Data() + count);
  for (int64_t x : out)
    if (x < 0 || x > max) ThrowRange(env, name + " has an entry outside [0, " + std::to_string(max) + "]");
  return out;
}

// A safe integer >= min (-1, 0 or 1).
int64_t GetInteger(Napi::Env env, const Napi::Value& v, const std::string& name, double min) {
  if (!v.IsNumber()) ThrowType(env, name + " must be a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!(x >= min && x <= kMaxSafeInteger && x == floor(x)))
    ThrowRange(env, name + " must be an integer in [" + std::to_string(static_cast<int>(min)) + ", 2^53)");
  return static_cast<int64_t>(x);
}

int64_t CheckedMulAdd(Napi::Env env, int64_t acc, int64_t a, int64_t b) {
  int64_t prod, sum;
  if (__builtin_mul_overflow(a, b, &prod) || __builtin_add_overflow(acc, prod, &sum))
    ThrowRange(env, "mask strides reach beyond the int64 range");
  return sum;
}

}  // namespace

int64_t ElementCount(Napi::Env env, std::initializer_list<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(n, d, &n)) ThrowRange(env, "element count overflows int64");
  return n;
}

Napi::Object ArgObject(const Napi::CallbackInfo& info, size_t index) {
  if (info.Length() <= index || !info[index].IsObject()) ThrowType(info.Env(), "argument must be an object");
  return info[index].As<Napi::Object>();
}

int64_t GetDim(const Napi::Object& o, const char* name) { return GetInteger(o.Env(), o.Get(name), name, 1); }

int64_t GetDimArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  return GetInteger(info.Env(), info[index], name, 1);
}

int64_t GetCount(const Napi::Object& o, const char* name) { return GetInteger(o.Env(), o.Get(name), name, 0); }

bool GetBool(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsBoolean()) ThrowType(o.Env(), std::string(name) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

float GetFloat(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (!v.IsNumber()) ThrowType(o.Env(), std::string(name) + " must be a number");
  const double x = v.As<Napi::Number>().DoubleValue();
  if (!isfinite(x)) ThrowRange(o.Env(), std::string(name) + " must be finite");
  return static_cast<float>(x);
}

Napi::Float32Array GetFloat32(const Napi::Object& o, const char* name, int64_t min_length) {
  Napi::Value v = o.Get(name);
  if (!IsFloat32Array(v)) ThrowType(o.Env(), std::string(name) + " must be a Float32Array");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (static_cast<uint64_t>(a.ElementLength()) < static_cast<uint64_t>(min_length))
    ThrowRange(o.Env(), std::string(name) + " has " + std::to_string(a.ElementLength()) +
                            " elements, needs at least " + std::to_string(min_length));
  return a;
}

Napi::Float32Array GetOptionalFloat32(const Napi::Object& o, const char* name, int64_t min_length) {
  if (IsAbsent(o.Get(name))) return Napi::Float32Array();
  return GetFloat32(o, name, min_length);
}

Napi::Uint8Array GetOptionalUint8(const Napi::Object& o, const char* name, int64_t min_length) {
  Napi::Value v = o.Get(name);
  if (IsAbsent(v)) return Napi::Uint8Array();
  if (!IsUint8Array(v)) ThrowType(o.Env(), std::string(name) + " must be a Uint8Array");
  Napi::Uint8Array a = v.As<Napi::Uint8Array>();
  if (static_cast<uint64_t>(a.ElementLength()) < static_cast<uint64_t>(min_length))
    ThrowRange(o.Env(), std::string(name) + " has " + std::to_string(a.ElementLength()) +
                            " elements, needs at least " + std::to_string(min_length));
  return a;
}

Napi::Float32Array GetOptionalWeights(const Napi::Object& o, bool average, int64_t batch, int64_t heads,
                                      int64_t l, int64_t s, int64_t* len) {
  Napi::Env env = o.Env();
  const int64_t n = average ? ElementCount(env, {batch, l, s}) : ElementCount(env, {batch, heads, l, s});
  Napi::Float32Array w = GetOptionalFloat32(o, "weights", n);
  *len = w.IsEmpty() ? 0 : n;
  return w;
}

std::vector<int64_t> GetOptionalInts(const Napi::Object& o, const char* name, int64_t count, int64_t max) {
  Napi::Value v = o.Get(name);
  if (IsAbsent(v)) return {};
  return ReadInts(o.Env(), v, name, count, max);
}

std::vector<int64_t> GetInts(const Napi::Object& o, const char* name, int64_t count, int64_t max) {
  return ReadInts(o.Env(), o.Get(name), name, count, max);
}

std::vector<int64_t> GetRowOffsets(const Napi::Object& o, const char* name, int64_t batch, int64_t* longest) {
  std::vector<int64_t> rows = GetOptionalInts(o, name, batch + 1, INT32_MAX);
  *longest = 0;
  if (rows.empty()) return rows;
  if (rows[0] != 0) ThrowRange(o.Env(), std::string(name) + " must start at 0");
  for (int64_t b = 0; b < batch; ++b) {
    if (rows[b + 1] < rows[b]) ThrowRange(o.Env(), std::string(name) + " must not decrease");
    *longest = std::max(*longest, rows[b + 1] - rows[b]);
  }
  return rows;
}

mha_score_rule GetScoreRule(const Napi::Object& o, int64_t heads, bool with_causal) {
  Napi::Env env = o.Env();
  mha_score_rule r = {};
  r.scale = GetFloat(o, "scale");
  r.softcap = GetFloat(o, "softcap");
  if (r.softcap < 0) ThrowRange(env, "softcap must be >= 0");
  Napi::Float32Array slopes = GetOptionalFloat32(o, "alibiSlopes", heads);
  r.alibi = slopes.IsEmpty() ? nullptr : slopes.Data();
  for (int64_t h = 0; r.alibi && h < heads; ++h)
    if (!isfinite(r.alibi[h])) ThrowRange(env, "alibiSlopes must be finite");
  r.window_left = GetInteger(env, o.Get("windowLeft"), "windowLeft", -1);
  r.window_right = GetInteger(env, o.Get("windowRight"), "windowRight", -1);
  r.causal = with_causal ? GetBool(o, "causal") : 0;
  return r;
}

namespace {

// The index of v's string among names, or ThrowType naming the allowed ones.
int GetChoice(Napi::Env env, const Napi::Value& v, const char* name, std::initializer_list<const char*> names) {
  if (v.IsString()) {
    const std::string s = v.As<Napi::String>().Utf8Value();
    int i = 0;
    for (const char* n : names) {
      if (s == n) return i;
      ++i;
    }
  }
  std::string allowed;
  for (const char* n : names) allowed += std::string(allowed.empty() ? "" : ", ") + '"' + n + '"';
  ThrowType(env, std::string(name) + " must be one of " + allowed);
}

}  // namespace

mha_precision GetPrecision(const Napi::Object& o, const char* name) {
  return GetChoice(o.Env(), o.Get(name), name, {"float32", "bfloat16"}) == 0 ? MHA_PRECISION_FLOAT32
                                                                            : MHA_PRECISION_BFLOAT16;
}

mha_storage GetStorage(Napi::Env env, const Napi::Value& v, const char* name) {
  const mha_storage kinds[] = {MHA_STORAGE_FLOAT32, MHA_STORAGE_FLOAT16, MHA_STORAGE_BFLOAT16};
  return kinds[GetChoice(env, v, name, {"float32", "float16", "bfloat16"})];
}

mha_rotary_spec GetRotarySpec(const Napi::Object& o, int64_t head_dim) {
  Napi::Env env = o.Env();
  mha_rotary_spec r = {};
  r.dim = GetDim(o, "dim");
  if (r.dim % 2 != 0 || r.dim > head_dim) ThrowRange(env, "rotary dim must be even and at most the head size");
  r.base = GetFloat(o, "base");
  if (!(r.base > 0)) ThrowRange(env, "rotary base must be > 0");
  r.interleaved = GetBool(o, "interleaved");
  return r;
}

MaskView GetOptionalMask(const Napi::Object& o, const char* name, int64_t b, int64_t h, int64_t l, int64_t s) {
  Napi::Env env = o.Env();
  MaskView view = {{nullptr, MHA_MASK_NONE, 0, 0, 0, 0}, 0};
  Napi::Value v = o.Get(name);
  if (IsAbsent(v)) return view;
  const std::string n(name);
  if (!v.IsObject()) ThrowType(env, n + " must be an object");
  Napi::Object m = v.As<Napi::Object>();
  Napi::Value data = m.Get("data");
  Napi::Value strides = m.Get("strides");
  size_t elem_size, length;
  if (IsUint8Array(data)) {
    view.mask.kind = MHA_MASK_BOOL;
    view.mask.data = data.As<Napi::Uint8Array>().Data();
    length = data.As<Napi::Uint8Array>().ElementLength();
    elem_size = 1;
  } else if (IsFloat32Array(data)) {
    view.mask.kind = MHA_MASK_ADDITIVE;
    view.mask.data = data.As<Napi::Float32Array>().Data();
    length = data.As<Napi::Float32Array>().ElementLength();
    elem_size = 4;
  } else {
    ThrowType(env, n + ".data must be a Uint8Array or a Float32Array");
  }
  if (!strides.IsArray() || strides.As<Napi::Array>().Length() != 4)
    ThrowType(env, n + ".strides must be an array of 4 numbers");
  Napi::Array sa = strides.As<Napi::Array>();
  int64_t* fields[4] = {&view.mask.stride_b, &view.mask.stride_h, &view.mask.stride_l, &view.mask.stride_s};
  const int64_t dims[4] = {b, h, l, s};
  int64_t max_index = 0;
  for (uint32_t i = 0; i < 4; ++i) {
    *fields[i] = GetInteger(env, sa.Get(i), n + ".strides[" + std::to_string(i) + "]", 0);
    max_index = CheckedMulAdd(env, max_index, dims[i] - 1, *fields[i]);
  }
  if (static_cast<uint64_t>(max_index) >= length)
    ThrowRange(env, n + ".data has " + std::to_string(length) + " elements, its strides reach index " +
                        std::to_string(max_index));
  view.extent_bytes = (static_cast<size_t>(max_index) + 1) * elem_size;
  return view;
}

OwnedMask::OwnedMask(const MaskView& view) : mask_(view.mask) {
  if (mask_.kind == MHA_MASK_NONE) return;
  const uint8_t* src = static_cast<const uint8_t*>(view.mask.data);
  bytes_.assign(src, src + view.extent_bytes);
  mask_.data = bytes_.data();
}

}  // namespace mha_binding

