// Unwrapping the addon's argument objects (lib/addon.ts) with the size re-checks that come
// before any native code touches memory: every dimension is a positive safe integer, every
// element count fits in int64, every typed array is long enough for the dimensions given,
// and every mask index reachable from its strides is inside its data. Violations throw a
// JS TypeError (wrong kind of value) or RangeError (wrong size), never crash.
#pragma once
#include <napi.h>

#include <stdint.h>

#include <initializer_list>
#include <vector>

#include "core/gemm.h"
#include "core/mask.h"
#include "core/storage.h"
#include "core/rotary.h"
#include "core/score_rule.h"

namespace mha_binding {

// The product of dims; RangeError when it overflows int64.
int64_t ElementCount(Napi::Env env, std::initializer_list<int64_t> dims);

// info[index] as an object (TypeError otherwise).
Napi::Object ArgObject(const Napi::CallbackInfo& info, size_t index);

int64_t GetDim(const Napi::Object& o, const char* name);    // a positive safe integer
int64_t GetDimArg(const Napi::CallbackInfo& info, size_t index, const char* name);  // info[index], the same
int64_t GetCount(const Napi::Object& o, const char* name);  // a non-negative safe integer
bool GetBool(const Napi::Object& o, const char* name);
float GetFloat(const Napi::Object& o, const char* name);  // a finite number

// A Float32Array property with at least min_length elements (any byteOffset).
Napi::Float32Array GetFloat32(const Napi::Object& o, const char* name, int64_t min_length);
// The same, or an empty handle when the property is undefined or null.
Napi::Float32Array GetOptionalFloat32(const Napi::Object& o, const char* name, int64_t min_length);
// The optional "weights" output of a forward call, [batch, l, s] when averaged over heads,
// else [batch, heads, l, s]; *len = its element count (0 when absent).
Napi::Float32Array GetOptionalWeights(const Napi::Object& o, bool average, int64_t batch, int64_t heads,
                                      int64_t l, int64_t s, int64_t* len);
// An optional Uint8Array property with at least min_length elements (empty when undefined or null).
Napi::Uint8Array GetOptionalUint8(const Napi::Object& o, const char* name, int64_t min_length);

// An optional Int32Array property of exactly `count` entries, each in [0, max], as int64
// (empty when undefined or null).
std::vector<int64_t> GetOptionalInts(const Napi::Object& o, const char* name, int64_t count, int64_t max);
// The same, required.
std::vector<int64_t> GetInts(const Napi::Object& o, const char* name, int64_t count, int64_t max);
// Row offsets of a ragged batch (lib/backend.ts Packing): `batch + 1` non-decreasing entries from
// 0; empty when absent. *longest = the largest count (rows[b + 1] - rows[b]).
std::vector<int64_t> GetRowOffsets(const Napi::Object& o, const char* name, int64_t batch, int64_t* longest);

// The score rule of a record (lib/backend.ts ScoreRule) for `heads` query heads: scale and
// softcap (finite, softcap >= 0), alibiSlopes (optional Float32Array of >= heads finite
// slopes; the rule points into it), windowLeft / windowRight (integers >= -1) and, when
// with_causal, causal.
mha_score_rule GetScoreRule(const Napi::Object& o, int64_t heads, bool with_causal);

// A precision (lib/backend.ts Precision: "float32" | "bfloat16") or a storage dtype
// (StorageDtype: "float32" | "float16" | "bfloat16") named by a string property or argument.
mha_precision GetPrecision(const Napi::Object& o, const char* name);
mha_storage GetStorage(Napi::Env env, const Napi::Value& v, const char* name);

// A rotary spec (lib/backend.ts RotarySpec: dim, base, interleaved) read from o, for heads of
// head_dim features: dim even in [2, head_dim], base finite and > 0.
mha_rotary_spec GetRotarySpec(const Napi::Object& o, int64_t head_dim);

// A mask over (b, h, l, s) as the core sees it, plus how many bytes of its data the strides
// reach (0 when undefined or null); Uint8Array = MHA_MASK_BOOL, Float32Array = MHA_MASK_ADDITIVE.
struct MaskView {
  mha_mask mask;
  size_t extent_bytes;
};
MaskView GetOptionalMask(const Napi::Object& o, const char* name, int64_t b, int64_t h, int64_t l, int64_t s);

// A mask copied into native memory (for work that outlives the JS call).
class OwnedMask {
 public:
  explicit OwnedMask(const MaskView& view);
  OwnedMask(const OwnedMask&) = delete;  // mask_.data points into bytes_
  OwnedMask& operator=(const OwnedMask&) = delete;
  const mha_mask& mask() const { return mask_; }

 private:
  std::vector<uint8_t> bytes_;
  mha_mask mask_;
};

}  // namespace mha_binding
