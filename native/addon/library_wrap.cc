// pmetal native addon: Library and Pipeline (see library_wrap.h).
#include "addon/library_wrap.h"

#include "addon/addon_data.h"
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
  Napi::Object self = info.This().As<Napi::Object>();
  self.Set("name", impl->name);
  self.Set("maxTotalThreadsPerThreadgroup", (double)impl->maxTotalThreadsPerThreadgroup);
  self.Set("threadExecutionWidth", (double)impl->threadExecutionWidth);
}

// ------------------------------------------------------------------ Library
Napi::Function LibraryWrap::Init(Napi::Env env) {
  return DefineClass(env, "Library", {InstanceMethod<&LibraryWrap::Pipeline>("pipeline")});
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
  self.Set("functionNames", names);
  self.Set("cached", impl->cached);
  self.Set("asan", impl->asan);
}

// constants: [{ index, type, value }]
static std::vector<FunctionConstantValue> readConstants(Napi::Env env, Napi::Value v) {
  std::vector<FunctionConstantValue> constants;
  if (v.IsUndefined() || v.IsNull()) return constants;
  if (!v.IsArray()) throwJs(env, "BAD_ARGUMENT", "constants must be an array of { index, type, value }");
  auto arr = v.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value e = arr.Get(i);
    if (!e.IsObject()) throwJs(env, "BAD_ARGUMENT", "constants[" + std::to_string(i) + "] must be an object");
    Napi::Object o = e.As<Napi::Object>();
    FunctionConstantValue c;
    Napi::Value idx = o.Get("index"), type = o.Get("type"), val = o.Get("value");
    if (!idx.IsNumber() || !type.IsString())
      throwJs(env, "BAD_ARGUMENT", "constants[" + std::to_string(i) + "] needs a numeric index and a string type");
    c.index = idx.As<Napi::Number>().Int32Value();
    c.type = type.As<Napi::String>();
    if (val.IsBoolean()) c.value = val.As<Napi::Boolean>().Value() ? 1 : 0;
    else if (val.IsNumber()) c.value = val.As<Napi::Number>().DoubleValue();
    else throwJs(env, "BAD_ARGUMENT", "constants[" + std::to_string(i) + "].value must be a number or boolean");
    constants.push_back(c);
  }
  return constants;
}

Napi::Value LibraryWrap::Pipeline(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throwJs(env, "BAD_ARGUMENT", "Library.pipeline(functionName, constants?)");
  std::string name = info[0].As<Napi::String>();
  std::vector<FunctionConstantValue> constants = readConstants(env, info.Length() >= 2 ? info[1] : env.Undefined());
  auto p = withJsErrors(env, [&] { return impl->pipeline(name, constants); });
  return PipelineWrap::New(env, p);
}

}  // namespace addon
}  // namespace pmetal
