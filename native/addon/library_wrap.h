// pmetal native addon: Library (a compiled MSL source) and Pipeline (one kernel of it,
// specialized by function constants) seen from JS.
//   library.functionNames, library.cached, library.asan, library.pipeline(name, constants?)
//   pipeline.name, pipeline.maxTotalThreadsPerThreadgroup, pipeline.threadExecutionWidth
#pragma once
#include <napi.h>

#include "addon/addon_data.h"
#include "addon/backend.h"

namespace pmetal {
namespace addon {

class PipelineWrap : public Napi::ObjectWrap<PipelineWrap> {
 public:
  std::shared_ptr<PipelineImpl> impl;
  static const napi_type_tag kTag;
  static constexpr const char* kName = "Pipeline";
  static Napi::Function Init(Napi::Env env);
  static std::shared_ptr<PipelineImpl> FromValue(Napi::Env env, Napi::Value v, const std::string& what) {
    return Tagged<PipelineWrap>::unwrap(env, v, what)->impl;
  }
  static Napi::Object New(Napi::Env env, std::shared_ptr<PipelineImpl> impl);
  explicit PipelineWrap(const Napi::CallbackInfo& info);
};

class LibraryWrap : public Napi::ObjectWrap<LibraryWrap> {
 public:
  std::shared_ptr<LibraryImpl> impl;
  static const napi_type_tag kTag;
  static constexpr const char* kName = "Library";
  static Napi::Function Init(Napi::Env env);
  static Napi::Object New(Napi::Env env, std::shared_ptr<LibraryImpl> impl);
  explicit LibraryWrap(const Napi::CallbackInfo& info);

 private:
  static Napi::Value Pipeline(const Napi::CallbackInfo& info);
};

}  // namespace addon
}  // namespace pmetal
