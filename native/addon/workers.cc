// pmetal native addon: async workers (see workers.h).
#include "addon/workers.h"

#include "addon/js_error.h"
#include "addon/library_wrap.h"

namespace pmetal {
namespace addon {

void DeviceWorker::Execute() {
  try {
    work();
  } catch (const Error& e) {
    code = e.code;
    SetError(e.what());
  } catch (const std::exception& e) {
    code = "UNSUPPORTED";
    SetError(e.what());
  }
}

void DeviceWorker::OnError(const Napi::Error& e) { deferred.Reject(makeError(Env(), code, e.Message()).Value()); }

void CompileWorker::OnOK() { deferred.Resolve(LibraryWrap::New(Env(), lib)); }

void RunWorker::OnOK() {
  Napi::Env env = Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("gpuStartNs", res.gpuStartNs);
  o.Set("gpuEndNs", res.gpuEndNs);
  deferred.Resolve(o);
}

}  // namespace addon
}  // namespace pmetal
