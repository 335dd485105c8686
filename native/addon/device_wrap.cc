// pmetal native addon: Device (see device_wrap.h).
#include "addon/device_wrap.h"

#include <cctype>

#include "addon/addon_data.h"
#include "addon/args.h"
#include "addon/buffer_wrap.h"
#include "addon/dispatch_args.h"
#include "addon/js_error.h"
#include "addon/workers.h"

namespace pmetal {
namespace addon {

const napi_type_tag DeviceWrap::kTag = {0x706d6574616c5f64ull, 0x6576696365000001ull};

Napi::Function DeviceWrap::Init(Napi::Env env) {
  return defineClassWith(DefineClass(env, "Device", {}), {{"compileLibrary", &DeviceWrap::CompileLibrary},
                                                          {"buffer", &DeviceWrap::Buffer},
                                                          {"run", &DeviceWrap::Run}});
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
  setReadOnly(info.This().As<Napi::Object>(), "info", chipObject(env, impl->info));
}

// A string that becomes one compiler argument or file name: no NUL (it would cut the
// argument short) and not empty (an empty "-I" takes the next argument as its directory).
static std::string argString(Napi::Env env, Napi::Value v, const std::string& what) {
  std::string x = readString(env, v, what);
  if (x.empty() || x.find('\0') != std::string::npos) throwJs(env, "BAD_ARGUMENT", what + " must be a non-empty string without NUL");
  return x;
}

static bool isIdentifier(const std::string& k) {
  if (k.empty() || !(isalpha((unsigned char)k[0]) || k[0] == '_')) return false;
  for (char c : k)
    if (!(isalnum((unsigned char)c) || c == '_')) return false;
  return true;
}

// { asan?: boolean, filename?: string, defines?: { NAME: string | number | boolean }, includeDirs?: string[] }
static CompileOptions readCompileOptions(Napi::Env env, Napi::Value v) {
  CompileOptions opts;
  if (v.IsUndefined() || v.IsNull()) return opts;
  if (!v.IsObject()) throwJs(env, "BAD_ARGUMENT", "compileLibrary: options must be an object, got " + describe(v));
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value asan = o.Get("asan"), filename = o.Get("filename"), defines = o.Get("defines"), dirs = o.Get("includeDirs");
  if (!asan.IsUndefined()) {
    if (!asan.IsBoolean()) throwJs(env, "BAD_ARGUMENT", "compileLibrary: options.asan must be a boolean, got " + describe(asan));
    opts.asan = asan.As<Napi::Boolean>().Value();
  }
  if (!filename.IsUndefined()) {
    std::string f = argString(env, filename, "compileLibrary: options.filename");
    opts.filename = f.substr(f.rfind('/') == std::string::npos ? 0 : f.rfind('/') + 1);  // diagnostics name the base name
    if (opts.filename.empty() || opts.filename == "." || opts.filename == "..")
      throwJs(env, "BAD_ARGUMENT", "compileLibrary: options.filename '" + f + "' names no file");
  }
  if (!defines.IsUndefined()) {
    if (!defines.IsObject() || defines.IsArray())
      throwJs(env, "BAD_ARGUMENT", "compileLibrary: options.defines must be an object, got " + describe(defines));
    Napi::Object d = defines.As<Napi::Object>();
    Napi::Array keys = d.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).ToString();
      std::string what = "compileLibrary: options.defines['" + k + "']";
      if (!isIdentifier(k)) throwJs(env, "BAD_ARGUMENT", what + ": a macro name is an identifier");
      Napi::Value x = d.Get(k);
      if (!x.IsString() && !x.IsNumber() && !x.IsBoolean())
        throwJs(env, "BAD_ARGUMENT", what + " must be a string, number or boolean, got " + describe(x));
      std::string val = x.ToString();
      if (val.find('\0') != std::string::npos || val.find('\n') != std::string::npos)
        throwJs(env, "BAD_ARGUMENT", what + ": a macro value is one line without NUL");
      opts.defines[k] = val;
    }
  }
  if (!dirs.IsUndefined()) {
    if (!dirs.IsArray()) throwJs(env, "BAD_ARGUMENT", "compileLibrary: options.includeDirs must be an array, got " + describe(dirs));
    Napi::Array a = dirs.As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); i++)
      opts.includeDirs.push_back(argString(env, a.Get(i), "compileLibrary: options.includeDirs[" + std::to_string(i) + "]"));
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
    std::shared_ptr<DeviceImpl> impl = Tagged<DeviceWrap>::self(info, "compileLibrary")->impl;
    std::string source = readString(env, info.Length() >= 1 ? info[0] : env.Undefined(), "compileLibrary: source");
    CompileOptions opts = readCompileOptions(env, info.Length() >= 2 ? info[1] : env.Undefined());
    auto* w = new CompileWorker(env, impl, std::move(source), std::move(opts));
    auto promise = w->deferred.Promise();
    w->Queue();
    return promise;
  });
}

Napi::Value DeviceWrap::Buffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<DeviceImpl> impl = Tagged<DeviceWrap>::self(info, "buffer")->impl;
  uint64_t n = readUint(env, info.Length() >= 1 ? info[0] : env.Undefined(), "Device.buffer: byteLength", 0, UINT64_C(1) << 53);
  if (n > impl->maxBufferLength)
    throwJs(env, "OUT_OF_RANGE", "Device.buffer: byteLength " + std::to_string(n) + " exceeds the device's maxBufferLength of " +
                                     std::to_string(impl->maxBufferLength) + " bytes");
  auto b = withJsErrors(env, [&] { return impl->buffer((size_t)n); });
  return BufferWrap::New(env, b);
}

Napi::Value DeviceWrap::Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return promised(env, [&]() -> Napi::Value {
    std::shared_ptr<DeviceImpl> impl = Tagged<DeviceWrap>::self(info, "run")->impl;
    std::vector<Dispatch> ds = readDispatches(env, info.Length() >= 1 ? info[0] : env.Undefined());
    auto* w = new RunWorker(env, impl, std::move(ds));
    auto promise = w->deferred.Promise();
    w->Queue();
    return promise;
  });
}

}  // namespace addon
}  // namespace pmetal
