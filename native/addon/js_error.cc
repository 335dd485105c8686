// pmetal native addon: JS errors with a code (see js_error.h).
#include "addon/js_error.h"

namespace pmetal {
namespace addon {

Napi::Error makeError(Napi::Env env, const std::string& code, const std::string& msg) {
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  return e;
}

void throwJs(Napi::Env env, const std::string& code, const std::string& msg) { throw makeError(env, code, msg); }

}  // namespace addon
}  // namespace pmetal
