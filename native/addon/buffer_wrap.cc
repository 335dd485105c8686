// pmetal native addon: Buffer (see buffer_wrap.h).
#include "addon/buffer_wrap.h"

#include <cstring>

#include "addon/addon_data.h"
#include "addon/js_error.h"

namespace pmetal {
namespace addon {

Napi::Function BufferWrap::Init(Napi::Env env) {
  return DefineClass(env, "Buffer",
                     {InstanceAccessor<&BufferWrap::ByteLength>("byteLength"), InstanceMethod<&BufferWrap::Write>("write"),
                      InstanceMethod<&BufferWrap::Read>("read")});
}

Napi::Object BufferWrap::New(Napi::Env env, std::shared_ptr<BufferImpl> impl) {
  return wrapNative(env, addonData(env)->buffer, std::move(impl));
}

BufferWrap::BufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BufferWrap>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throwJs(info.Env(), "BAD_ARGUMENT", "Buffer is created by Device.buffer()");
  impl = nativeFromCtor<BufferImpl>(info);
}

Napi::Value BufferWrap::ByteLength(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), (double)impl->length());
}

Napi::Value BufferWrap::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const uint8_t* src = nullptr;
  size_t n = 0;
  if (info.Length() >= 1 && info[0].IsTypedArray()) {
    auto ta = info[0].As<Napi::TypedArray>();
    src = (const uint8_t*)ta.ArrayBuffer().Data() + ta.ByteOffset();
    n = ta.ByteLength();
  } else if (info.Length() >= 1 && info[0].IsDataView()) {
    auto dv = info[0].As<Napi::DataView>();
    src = (const uint8_t*)dv.ArrayBuffer().Data() + dv.ByteOffset();
    n = dv.ByteLength();
  } else if (info.Length() >= 1 && info[0].IsArrayBuffer()) {
    auto ab = info[0].As<Napi::ArrayBuffer>();
    src = (const uint8_t*)ab.Data();
    n = ab.ByteLength();
  } else {
    throwJs(env, "BAD_ARGUMENT", "Buffer.write(data, byteOffset?): data must be a TypedArray, DataView or ArrayBuffer");
  }
  double off = info.Length() >= 2 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue() : 0;
  if (off < 0 || off + (double)n > (double)impl->length())
    throwJs(env, "BAD_ARGUMENT", "Buffer.write: " + std::to_string(n) + " bytes at offset " + std::to_string((long long)off) +
                                     " exceed the buffer's " + std::to_string(impl->length()) + " bytes");
  if (n) memcpy((uint8_t*)impl->contents() + (size_t)off, src, n);
  return env.Undefined();
}

Napi::Value BufferWrap::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double off = info.Length() >= 1 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  double len = info.Length() >= 2 && info[1].IsNumber() ? info[1].As<Napi::Number>().DoubleValue()
                                                        : (double)impl->length() - off;
  if (off < 0 || len < 0 || off + len > (double)impl->length())
    throwJs(env, "BAD_ARGUMENT", "Buffer.read: range exceeds the buffer's " + std::to_string(impl->length()) + " bytes");
  auto out = Napi::Uint8Array::New(env, (size_t)len);
  if (len > 0) memcpy(out.Data(), (const uint8_t*)impl->contents() + (size_t)off, (size_t)len);
  return out;
}

}  // namespace addon
}  // namespace pmetal
