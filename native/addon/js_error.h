// pmetal native addon: errors reach JavaScript as Error objects with a stable string `code`
// (the codes of pmetal::Error, see backend.h).
#pragma once
#include <napi.h>

#include <string>

#include "addon/backend.h"

namespace pmetal {
namespace addon {

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& msg);
[[noreturn]] void throwJs(Napi::Env env, const std::string& code, const std::string& msg);

// Runs f() and turns a pmetal::Error (or any other C++ exception) into a JS error with a
// code; a JS exception raised inside f (a Napi::Error) passes through unchanged.
template <class F>
auto withJsErrors(Napi::Env env, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Napi::Error&) {
    throw;
  } catch (const Error& e) {
    throwJs(env, e.code, e.what());
  } catch (const std::exception& e) {
    throwJs(env, "UNSUPPORTED", e.what());
  }
}

}  // namespace addon
}  // namespace pmetal
