// The binding's one pair of throw helpers. Messages for users are built in lib/ (which
// validates every call first); these guard the native boundary against a record that did not
// come through it: a JS TypeError for a value of the wrong kind, a RangeError for the right
// kind with a wrong size.
#pragma once
#include <napi.h>

#include <string>

namespace mha_binding {

[[noreturn]] inline void ThrowType(Napi::Env env, const std::string& msg) { throw Napi::TypeError::New(env, msg); }
[[noreturn]] inline void ThrowRange(Napi::Env env, const std::string& msg) { throw Napi::RangeError::New(env, msg); }

}  // namespace mha_binding
