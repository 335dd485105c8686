// pmetal native addon: Device (see device_wrap.h).
#include "addon/device_wrap.h"

#include "addon/addon_data.h"
#include "addon/buffer_wrap.h"
#include "addon/dispatch_args.h"
#include "addon/js_error.h"
#include "addon/workers.h"

namespace pmetal {
namespace addon {

const napi_type_tag DeviceWrap::kTag = {0x706d6574616c5f64ull, 0x6576696365000001ull};

Napi::Function DeviceWrap::Init(Napi::Env env) {
  return DefineClass(env, "Device",
                     {InstanceMethod<&DeviceWrap::CompileLibrary>("compileLibrary"),
                      InstanceMethod<&DeviceWrap::Buffer>("buffer"), InstanceMethod<&DeviceWrap::Run>("run")});
}

Napi::Object DeviceWrap::New(Napi::Env env, std::shared_ptr<DeviceImpl> impl) {
  return wrapNative(env, addonData(env)->device, std::move(impl));
}

static Napi::Object chipObject(Napi::Env env, const ChipInfo& c) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", c.name);
  o.Set("family", c.family);
  o.Set("tier", c.tier);
  o.Set("hasNax", c.hasNax);
  o.Set("metal4", c.metal4);
  o.Set("maxThreadsPerThreadgroup", (double)c.maxThreadsPerThreadgroup);
  o.Set("threadExecutionWidth", (double)c.threadExecutionWidth);
  o.Set("host", c.host);
  o.Freeze();
  return o;
}

DeviceWrap::DeviceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DeviceWrap>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsExternal()) throwJs(env, "BAD_ARGUMENT", "Device is created by openDevice()");
  impl = nativeFromCtor<DeviceImpl>(info);
  Tagged<DeviceWrap>::tag(info);
  info.This().As<Napi::Object>().Set("info", chipObject(env, impl->info));
}

static CompileOptions readCompileOptions(Napi::Value v) {
  CompileOptions opts;
  if (!v.IsObject()) return opts;
  Napi::Object o = v.As<Napi::Object>();
  if (o.Has("asan")) opts.asan = o.Get("asan").ToBoolean();
  if (o.Has("filename") && o.Get("filename").IsString()) opts.filename = o.Get("filename").As<Napi::String>();
  if (o.Has("defines") && o.Get("defines").IsObject()) {
    Napi::Object d = o.Get("defines").As<Napi::Object>();
    Napi::Array keys = d.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).ToString();
      opts.defines[k] = d.Get(k).ToString();
    }
  }
  if (o.Has("includeDirs") && o.Get("includeDirs").IsArray()) {
    Napi::Array a = o.Get("includeDirs").As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++) opts.includeDirs.push_back(a.Get(i).ToString());
  }
  return opts;
}

// The async methods report bad arguments the way they report everything else: a rejected
// promise (a caller awaiting them needs one error path, not two).
template <class F>
static Napi::Value promised(Napi::Env env, F&& start) {
  try {
    return start();
  } catch (const Napi::Error& e) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Reject(e.Value());
    return d.Promise();
  }
}

Napi::Value DeviceWrap::CompileLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return promised(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsString()) throwJs(env, "BAD_ARGUMENT", "compileLibrary(source: string, options?)");
    CompileOptions opts = readCompileOptions(info.Length() >= 2 ? info[1] : env.Undefined());
    auto* w = new CompileWorker(env, impl, info[0].As<Napi::String>(), opts);
    auto promise = w->deferred.Promise();
    w->Queue();
    return promise;
  });
}

Napi::Value DeviceWrap::Buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throwJs(env, "BAD_ARGUMENT", "buffer(byteLength: number)");
  double n = info[0].As<Napi::Number>().DoubleValue();
  if (n < 0 || n != (double)(uint64_t)n || n > 1.0e12) throwJs(env, "BAD_ARGUMENT", "buffer: byteLength must be a non-negative integer");
  auto b = withJsErrors(env, [&] { return impl->buffer((size_t)n); });
  return BufferWrap::New(env, b);
}

Napi::Value DeviceWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return promised(env, [&]() -> Napi::Value {
    std::vector<Dispatch> ds = readDispatches(env, info.Length() >= 1 ? info[0] : env.Undefined());
    auto* w = new RunWorker(env, impl, std::move(ds));
    auto promise = w->deferred.Promise();
    w->Queue();
    return promise;
  });
}

}  // namespace addon
}  // namespace pmetal
