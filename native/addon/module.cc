// pmetal native addon: the module's exports (same on Linux and macOS).
//   native.platform                          'host' | 'metal'
//   native.openDevice({ chip })              -> Device (device_wrap.h)
//   native.classifyChipName(name)            -> { family, tier, hasNax }   (the chip model, chip.h)
//   native.emulatedChipName(name)            -> 'M5 Max' for 'm5max'; BAD_ARGUMENT for other names
//   Device / Library / Pipeline / Buffer     the wrapper classes (their constructors refuse JS calls)
// Errors carry a string `code` (see backend.h).
#include <napi.h>

#include "addon/addon_data.h"
#include "addon/buffer_wrap.h"
#include "addon/device_wrap.h"
#include "addon/js_error.h"
#include "addon/library_wrap.h"

namespace pmetal {
namespace addon {

// The chip model's two functions, exported so a test can walk names through this rule and
// src/backend/metal/chip.ts's and fail on any difference.
static std::string nameArg(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsString()) throwJs(info.Env(), "BAD_ARGUMENT", std::string(fn) + "(name: string)");
  return info[0].As<Napi::String>();
}

static Napi::Value ClassifyChipName(const Napi::CallbackInfo& info) {
  ChipInfo c;
  classifyChipName(nameArg(info, "classifyChipName"), c);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("family", c.family);
  o.Set("tier", c.tier);
  o.Set("hasNax", c.hasNax);
  return o;
}

static Napi::Value EmulatedChipName(const Napi::CallbackInfo& info) {
  std::string name = nameArg(info, "emulatedChipName");
  return Napi::String::New(info.Env(), withJsErrors(info.Env(), [&] { return emulatedChipName(name); }));
}

static Napi::Value OpenDevice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DeviceOptions opts;
  if (info.Length() >= 1 && info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    if (o.Has("chip") && o.Get("chip").IsString()) opts.chip = o.Get("chip").As<Napi::String>();
  }
  auto d = withJsErrors(env, [&] { return openDevice(opts); });
  return DeviceWrap::New(env, d);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* d = new AddonData();
  d->device = Napi::Persistent(DeviceWrap::Init(env));
  d->library = Napi::Persistent(LibraryWrap::Init(env));
  d->pipeline = Napi::Persistent(PipelineWrap::Init(env));
  d->buffer = Napi::Persistent(BufferWrap::Init(env));
  env.SetInstanceData<AddonData>(d);
  exports.Set("platform", Napi::String::New(env, platformName()));
  exports.Set("openDevice", Napi::Function::New(env, OpenDevice, "openDevice"));
  exports.Set("classifyChipName", Napi::Function::New(env, ClassifyChipName, "classifyChipName"));
  exports.Set("emulatedChipName", Napi::Function::New(env, EmulatedChipName, "emulatedChipName"));
  exports.Set("Device", d->device.Value());
  exports.Set("Library", d->library.Value());
  exports.Set("Pipeline", d->pipeline.Value());
  exports.Set("Buffer", d->buffer.Value());
  return exports;
}

}  // namespace addon
}  // namespace pmetal

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return pmetal::addon::Init(env, exports); }

NODE_API_MODULE(pmetal_native, InitModule)
