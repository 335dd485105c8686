// pmetal native addon: Buffer — device memory seen from JS.
//   buffer.byteLength; buffer.write(data, byteOffset?); buffer.read(byteOffset?, byteLength?)
#pragma once
#include <napi.h>

#include "addon/addon_data.h"
#include "addon/backend.h"

namespace pmetal {
namespace addon {

class BufferWrap : public Napi::ObjectWrap<BufferWrap> {
 public:
  std::shared_ptr<BufferImpl> impl;
  static const napi_type_tag kTag;
  static constexpr const char* kName = "Buffer";
  static Napi::Function Init(Napi::Env env);
  // the buffer of a Buffer wrapper `v` (BAD_ARGUMENT naming `what` for anything else)
  static std::shared_ptr<BufferImpl> FromValue(Napi::Env env, Napi::Value v, const std::string& what) {
    return Tagged<BufferWrap>::unwrap(env, v, what)->impl;
  }
  static Napi::Object New(Napi::Env env, std::shared_ptr<BufferImpl> impl);
  explicit BufferWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value Write(const Napi::CallbackInfo& info);
  static Napi::Value Read(const Napi::CallbackInfo& info);
};

}  // namespace addon
}  // namespace pmetal
