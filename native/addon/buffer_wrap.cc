// pmetal native addon: Buffer (see buffer_wrap.h).
#include "addon/buffer_wrap.h"

#include <cstring>

#include "addon/addon_data.h"
#include "addon/args.h"
#include "addon/js_error.h"

namespace pmetal {
namespace addon {

const napi_type_tag BufferWrap::kTag = {0x706d6574616c5f62ull, 0x7566666572000001ull};

Napi::Function BufferWrap::Init(Napi::Env env) {
  return defineClassWith(DefineClass(env, "Buffer", {}), {{"write", &BufferWrap::Write}, {"read", &BufferWrap::Read}});
}

Napi::Object BufferWrap::New(Napi::Env env, std::shared_ptr<BufferImpl> impl) {
  return wrapNative(env, addonData(env)->buffer, std::move(impl));
}

BufferWrap::BufferWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BufferWrap>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throwJs(info.Env(), "BAD_ARGUMENT", "Buffer is created by Device.buffer()");
  impl = nativeFromCtor<BufferImpl>(info);
  setReadOnly(info.This().As<Napi::Object>(), "byteLength", Napi::Number::New(info.Env(), (double)impl->length()));
  Tagged<BufferWrap>::tag(info);
}

// An optional integer argument: absent or undefined is `dflt`.
static uint64_t optionalUint(const Napi::CallbackInfo& info, size_t i, const std::string& what, uint64_t hi, uint64_t dflt) {
  if (info.Length() <= i || info[i].IsUndefined()) return dflt;
  return readUint(info.Env(), info[i], what, 0, hi);
}

Napi::Value BufferWrap::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferImpl* impl = Tagged<BufferWrap>::self(info, "write")->impl.get();
  const size_t size = impl->length();
  if (info.Length() < 1) throwJs(env, "BAD_ARGUMENT", "Buffer.write(data, byteOffset?): data is missing");
  uint64_t off = optionalUint(info, 1, "Buffer.write: byteOffset", size, 0);
  ByteView src = readByteView(env, info[0], "Buffer.write: data");
  if (src.length > size - off)
    throwJs(env, "OUT_OF_RANGE", "Buffer.write: " + std::to_string(src.length) + " bytes at byteOffset " + std::to_string(off) +
                                     " exceed the buffer's " + std::to_string(size) + " bytes");
  if (src.length) memcpy((uint8_t*)impl->contents() + off, src.data, src.length);
  return env.Undefined();
}

Napi::Value BufferWrap::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferImpl* impl = Tagged<BufferWrap>::self(info, "read")->impl.get();
  const size_t size = impl->length();
  uint64_t off = optionalUint(info, 0, "Buffer.read: byteOffset", size, 0);
  uint64_t len = optionalUint(info, 1, "Buffer.read: byteLength", size - off, size - off);
  auto out = Napi::Uint8Array::New(env, (size_t)len);
  if (len) memcpy(out.Data(), (const uint8_t*)impl->contents() + off, (size_t)len);
  return out;
}

}  // namespace addon
}  // namespace pmetal
