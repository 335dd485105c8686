// pmetal native addon: Library and Pipeline (see library_wrap.h).
#include "addon/library_wrap.h"

#include "addon/addon_data.h"
#include "addon/args.h"
#include "addon/js_error.h"

namespace pmetal {
namespace addon {

const napi_type_tag PipelineWrap::kTag = {0x706d6574616c5f70ull, 0x6970656c696e6501ull};
const napi_type_tag LibraryWrap::kTag = {0x706d6574616c5f6cull, 0x6962726172790001ull};

// ------------------------------------------------------------------ Pipeline
Napi::Function PipelineWrap::Init(Napi::Env env) { return DefineClass(env, "Pipeline", {}); }

Napi::Object PipelineWrap::New(Napi::Env env, std::shared_ptr<PipelineImpl> impl) {
  return wrapNative(env, addonData(env)->pipeline, std::move(impl));
}

PipelineWrap::PipelineWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PipelineWrap>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throwJs(info.Env(), "BAD_ARGUMENT", "Pipeline is created by Library.pipeline()");
  impl = nativeFromCtor<PipelineImpl>(info);
  Tagged<PipelineWrap>::tag(info);
  Napi::Env env = info.Env();
  Napi::Object self = info.This().As<Napi::Object>();
  setReadOnly(self, "name", Napi::String::New(env, impl->name));
  setReadOnly(self, "maxTotalThreadsPerThreadgroup", Napi::Number::New(env, impl->maxTotalThreadsPerThreadgroup));
  setReadOnly(self, "threadExecutionWidth", Napi::Number::New(env, impl->threadExecutionWidth));
}

// ------------------------------------------------------------------ Library
Napi::Function LibraryWrap::Init(Napi::Env env) {
  return defineClassWith(DefineClass(env, "Library", {}), {{"pipeline", &LibraryWrap::Pipeline}});
}

Napi::Object LibraryWrap::New(Napi::Env env, std::shared_ptr<LibraryImpl> impl) {
  return wrapNative(env, addonData(env)->library, std::move(impl));
}

LibraryWrap::LibraryWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LibraryWrap>(info) {
  if (info.Length() < 1 || !info[0].IsExternal()) throwJs(info.Env(), "BAD_ARGUMENT", "Library is created by Device.compileLibrary()");
  impl = nativeFromCtor<LibraryImpl>(info);
  Tagged<LibraryWrap>::tag(info);
  Napi::Env env = info.Env();
  Napi::Object self = info.This().As<Napi::Object>();
  auto names = Napi::Array::New(env, impl->functionNames.size());
  for (size_t i = 0; i < impl->functionNames.size(); i++) names.Set((uint32_t)i, impl->functionNames[i]);
  names.Freeze();
  setReadOnly(self, "functionNames", names);
  setReadOnly(self, "cached", Napi::Boolean::New(env, impl->cached));
  setReadOnly(self, "asan", Napi::Boolean::New(env, impl->asan));
}

// constants: [{ index, type, value }]. An integer type's value must be an integer it can hold
// (a C++ conversion of 1e300 or NaN to int is undefined); bool takes a boolean or a number,
// float and half any number.
static FunctionConstantValue readConstant(Napi::Env env, Napi::Value e, const std::string& what) {
  if (!e.IsObject()) throwJs(env, "BAD_ARGUMENT", what + " must be { index, type, value }, got " + describe(e));
  Napi::Object o = e.As<Napi::Object>();
  FunctionConstantValue c;
  c.index = (int)readUint(env, o.Get("index"), what + ".index", 0, 65535);
  c.type = readString(env, o.Get("type"), what + ".type");
  Napi::Value val = o.Get("value");
  static const struct { const char* type; double lo, hi; } kInts[] = {
      {"int", -2147483648.0, 2147483647.0}, {"uint", 0, 4294967295.0}, {"short", -32768, 32767}, {"ushort", 0, 65535}};
  if (c.type == "bool" && val.IsBoolean()) {
    c.value = val.As<Napi::Boolean>().Value() ? 1 : 0;
    return c;
  }
  if (c.type == "bool" || c.type == "float" || c.type == "half") {
    c.value = readNumber(env, val, what + ".value", c.type != "bool");
    return c;
  }
  for (auto& t : kInts)
    if (c.type == t.type) {
      c.value = (double)readInt(env, val, what + ".value", (int64_t)t.lo, (int64_t)t.hi);
      return c;
    }
  throwJs(env, "BAD_ARGUMENT", what + ".type: unknown type '" + c.type + "' (bool, int, uint, float, half, short, ushort)");
}

static std::vector<FunctionConstantValue> readConstants(Napi::Env env, Napi::Value v) {
  std::vector<FunctionConstantValue> constants;
  if (v.IsUndefined() || v.IsNull()) return constants;
  if (!v.IsArray()) throwJs(env, "BAD_ARGUMENT", "Library.pipeline: constants must be an array of { index, type, value }, got " + describe(v));
  auto arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++)
    constants.push_back(readConstant(env, arr.Get(i), "Library.pipeline: constants[" + std::to_string(i) + "]"));
  return constants;
}

Napi::Value LibraryWrap::Pipeline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::shared_ptr<LibraryImpl> impl = Tagged<LibraryWrap>::self(info, "pipeline")->impl;
  std::string name = readString(env, info.Length() >= 1 ? info[0] : env.Undefined(), "Library.pipeline: functionName");
  std::vector<FunctionConstantValue> constants = readConstants(env, info.Length() >= 2 ? info[1] : env.Undefined());
  auto p = withJsErrors(env, [&] { return impl->pipeline(name, constants); });
  return PipelineWrap::New(env, p);
}

}  // namespace addon
}  // namespace pmetal
