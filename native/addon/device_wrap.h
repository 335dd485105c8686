// pmetal native addon: Device seen from JS.
//   device.info                       { name, family, tier, hasNax, metal4, maxThreadsPerThreadgroup, threadExecutionWidth, host }
//   device.compileLibrary(src, opts)  -> Promise<Library>
//   device.buffer(byteLength)         -> Buffer
//   device.run(dispatches)            -> Promise<{ gpuStartNs, gpuEndNs }>
#pragma once
#include <napi.h>

#include "addon/addon_data.h"
#include "addon/backend.h"

namespace pmetal {
namespace addon {

class DeviceWrap : public Napi::ObjectWrap<DeviceWrap> {
 public:
  std::shared_ptr<DeviceImpl> impl;
  static const napi_type_tag kTag;
  static constexpr const char* kName = "Device";
  static Napi::Function Init(Napi::Env env);
  static Napi::Object New(Napi::Env env, std::shared_ptr<DeviceImpl> impl);
  explicit DeviceWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value CompileLibrary(const Napi::CallbackInfo& info);
  static Napi::Value Buffer(const Napi::CallbackInfo& info);
  static Napi::Value Run(const Napi::CallbackInfo& info);
};

}  // namespace addon
}  // namespace pmetal
