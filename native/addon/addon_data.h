// pmetal native addon: per-environment state (the wrap classes' constructors) and the one
// way a native object becomes a JS wrapper: an External holding a shared_ptr, handed to
// the class constructor (JS code cannot make an External, so it cannot forge a wrapper).
#pragma once
#include <napi.h>

#include <memory>

namespace pmetal {
namespace addon {

struct AddonData {
  Napi::FunctionReference device, library, pipeline, buffer;
};

inline AddonData* addonData(Napi::Env env) { return env.GetInstanceData<AddonData>(); }

template <class T>
Napi::Object wrapNative(Napi::Env env, Napi::FunctionReference& ctor, std::shared_ptr<T> impl) {
  auto ext = Napi::External<std::shared_ptr<T>>::New(env, new std::shared_ptr<T>(std::move(impl)),
                                                     [](Napi::Env, std::shared_ptr<T>* x) { delete x; });
  return ctor.New({ext});
}

// The shared_ptr a wrapper's constructor received from wrapNative.
template <class T>
std::shared_ptr<T> nativeFromCtor(const Napi::CallbackInfo& info) {
  return *info[0].As<Napi::External<std::shared_ptr<T>>>().Data();
}

}  // namespace addon
}  // namespace pmetal
