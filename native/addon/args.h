// pmetal native addon: reading JS arguments without trusting them. Every reader checks the
// type (BAD_ARGUMENT) and the range (OUT_OF_RANGE) and names the argument in its message,
// so a wrong call from JS is a JS error, never undefined behaviour in C++.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace pmetal {
namespace addon {

// An integer in [lo, hi] (lo, hi ≤ 2^53): NaN, ±Infinity, fractions and other types are
// BAD_ARGUMENT, integers outside the range OUT_OF_RANGE.
uint64_t readUint(Napi::Env env, Napi::Value v, const std::string& what, uint64_t lo, uint64_t hi);
int64_t readInt(Napi::Env env, Napi::Value v, const std::string& what, int64_t lo, int64_t hi);

// A finite number (function-constant values); `allowNonFinite` lets float constants be NaN/Inf.
double readNumber(Napi::Env env, Napi::Value v, const std::string& what, bool allowNonFinite);

std::string readString(Napi::Env env, Napi::Value v, const std::string& what);

// The bytes of a TypedArray, DataView, ArrayBuffer or SharedArrayBuffer (or a view on one).
// A detached buffer is BAD_ARGUMENT: writing "nothing" from it would hide the caller's bug.
// `hold` keeps a temporary view alive while `data` is used.
struct ByteView {
  const uint8_t* data = nullptr;
  size_t length = 0;
  Napi::Value hold;
};
bool isByteSource(Napi::Env env, Napi::Value v);
ByteView readByteView(Napi::Env env, Napi::Value v, const std::string& what);

// The JS type of a value, for messages: "number NaN", "string", "object Object", "undefined"…
std::string describe(Napi::Value v);

}  // namespace addon
}  // namespace pmetal
