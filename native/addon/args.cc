// pmetal native addon: checked argument readers (see args.h).
#include "addon/args.h"

#include <cmath>
#include <cstdio>

#include "addon/js_error.h"

namespace pmetal {
namespace addon {

static std::string num(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char b[64];
  snprintf(b, sizeof b, "%.17g", d);
  return b;
}

std::string describe(Napi::Value v) {
  switch (v.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return "boolean";
    case napi_number: return "number " + num(v.As<Napi::Number>().DoubleValue());
    case napi_string: return "string";
    case napi_symbol: return "symbol";
    case napi_function: return "function";
    case napi_bigint: return "bigint";
    case napi_external: return "external";
    default: return v.IsArray() ? "array" : "object";
  }
}

static double integral(Napi::Env env, Napi::Value v, const std::string& what) {
  if (!v.IsNumber()) throwJs(env, "BAD_ARGUMENT", what + " must be an integer, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) throwJs(env, "BAD_ARGUMENT", what + " must be an integer, got " + num(d));
  return d;
}

uint64_t readUint(Napi::Env env, Napi::Value v, const std::string& what, uint64_t lo, uint64_t hi) {
  double d = integral(env, v, what);
  if (d < (double)lo || d > (double)hi)
    throwJs(env, "OUT_OF_RANGE", what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + num(d));
  return (uint64_t)d;
}

int64_t readInt(Napi::Env env, Napi::Value v, const std::string& what, int64_t lo, int64_t hi) {
  double d = integral(env, v, what);
  if (d < (double)lo || d > (double)hi)
    throwJs(env, "OUT_OF_RANGE", what + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + num(d));
  return (int64_t)d;
}

double readNumber(Napi::Env env, Napi::Value v, const std::string& what, bool allowNonFinite) {
  if (!v.IsNumber()) throwJs(env, "BAD_ARGUMENT", what + " must be a number, got " + describe(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!allowNonFinite && !std::isfinite(d)) throwJs(env, "BAD_ARGUMENT", what + " must be a finite number, got " + num(d));
  return d;
}

std::string readString(Napi::Env env, Napi::Value v, const std::string& what) {
  if (!v.IsString()) throwJs(env, "BAD_ARGUMENT", what + " must be a string, got " + describe(v));
  return v.As<Napi::String>();
}

static bool isDetached(Napi::Env env, napi_value arraybuffer) {
  bool detached = false;
  // a SharedArrayBuffer cannot be detached (and is not an ArrayBuffer to this call: false)
  if (napi_is_detached_arraybuffer(env, arraybuffer, &detached) != napi_ok) return false;
  return detached;
}

static bool isSharedArrayBuffer(Napi::Env env, Napi::Value v) {
  if (!v.IsObject()) return false;
  Napi::Value ctor = env.Global().Get("SharedArrayBuffer");
  return ctor.IsFunction() && v.As<Napi::Object>().InstanceOf(ctor.As<Napi::Function>());
}

bool isByteSource(Napi::Env env, Napi::Value v) {
  return v.IsTypedArray() || v.IsDataView() || v.IsArrayBuffer() || isSharedArrayBuffer(env, v);
}

static size_t elementSize(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;  // float64, bigint64, biguint64
  }
}

ByteView readByteView(Napi::Env env, Napi::Value v, const std::string& what) {
  ByteView out;
  napi_value ab = nullptr;
  void* data = nullptr;
  if (v.IsTypedArray()) {
    napi_typedarray_type type;
    size_t length = 0, offset = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset), out);
    out.length = length * elementSize(type);
  } else if (v.IsDataView()) {
    size_t length = 0, offset = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, v, &length, &data, &ab, &offset), out);
    out.length = length;
  } else if (v.IsArrayBuffer()) {
    size_t length = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_arraybuffer_info(env, v, &data, &length), out);
    ab = v;
    out.length = length;
  } else if (isSharedArrayBuffer(env, v)) {
    // Node-API has no SharedArrayBuffer accessor: read it through a Uint8Array view
    Napi::Function u8 = env.Global().Get("Uint8Array").As<Napi::Function>();
    Napi::Value view = u8.New({v});
    out = readByteView(env, view, what);
    out.hold = view;
    return out;
  } else {
    throwJs(env, "BAD_ARGUMENT", what + " must be a TypedArray, DataView, ArrayBuffer or SharedArrayBuffer, got " + describe(v));
  }
  if (ab && isDetached(env, ab)) throwJs(env, "BAD_ARGUMENT", what + ": its ArrayBuffer is detached");
  out.data = (const uint8_t*)data;
  if (!out.data && out.length) throwJs(env, "BAD_ARGUMENT", what + ": no memory behind " + std::to_string(out.length) + " bytes");
  out.hold = v;
  return out;
}

}  // namespace addon
}  // namespace pmetal
