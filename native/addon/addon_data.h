// pmetal native addon: per-environment state (the wrap classes' constructors) and the one
// way a native object becomes a JS wrapper: an External holding a shared_ptr, handed to
// the class constructor (JS code cannot make an External, so it cannot forge a wrapper).
#pragma once
#include <napi.h>

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "addon/args.h"
#include "addon/js_error.h"

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

// Type tags. napi_unwrap hands back whatever native object a wrapper holds, whatever its
// class: a Library passed where a Pipeline is expected (or given Pipeline.prototype) would
// be read as a PipelineWrap. Every wrapper is tagged with its class's tag in its
// constructor, and only a value carrying the right tag is unwrapped. W provides
// `static const napi_type_tag kTag` and `static constexpr const char* kName`.
template <class W>
struct Tagged {
  static void tag(const Napi::CallbackInfo& info) {
    NAPI_THROW_IF_FAILED_VOID(info.Env(), napi_type_tag_object(info.Env(), info.This(), &W::kTag));
  }
  static bool is(Napi::Env env, Napi::Value v) {
    bool r = false;
    return v.IsObject() && napi_check_object_type_tag(env, v, &W::kTag, &r) == napi_ok && r;
  }
  // The wrapped object of `v`, or BAD_ARGUMENT naming `what`.
  static W* unwrap(Napi::Env env, Napi::Value v, const std::string& what) {
    if (!is(env, v)) throwJs(env, "BAD_ARGUMENT", what + " must be a " + W::kName + ", got " + describe(v));
    return W::Unwrap(v.As<Napi::Object>());
  }
  // The wrapper a method was called on. Methods are plain functions on the prototype that
  // check `this` first: ObjectWrap's member-method glue unwraps `this` whatever its class
  // (Buffer.prototype.read.call(library) would read a LibraryWrap as a BufferWrap).
  static W* self(const Napi::CallbackInfo& info, const char* method) {
    return unwrap(info.Env(), info.This(), std::string(W::kName) + "." + method + ": `this`");
  }
};

// The class's constructor with `methods` on its prototype (plain functions: see Tagged::self).
inline Napi::Function defineClassWith(Napi::Function ctor, std::initializer_list<std::pair<const char*, Napi::Function::Callback>> methods) {
  Napi::Env env = ctor.Env();
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  for (auto& m : methods)
    proto.DefineProperty(Napi::PropertyDescriptor::Value(m.first, Napi::Function::New(env, m.second, m.first),
                                                         static_cast<napi_property_attributes>(napi_writable | napi_configurable)));
  return ctor;
}

// A read-only property of a wrapper, set once in its constructor.
inline void setReadOnly(Napi::Object self, const char* name, Napi::Value v) {
  self.DefineProperty(Napi::PropertyDescriptor::Value(name, v, napi_enumerable));
}

}  // namespace addon
}  // namespace pmetal
