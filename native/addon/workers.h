// pmetal native addon: the two calls that run off the JS thread — compiling a library and
// running a batch of dispatches — as promise-returning async workers.
#pragma once
#include <napi.h>

#include "addon/backend.h"

namespace pmetal {
namespace addon {

// Runs Execute() on the libuv pool; a pmetal::Error rejects the promise with its code.
class DeviceWorker : public Napi::AsyncWorker {
 public:
  DeviceWorker(Napi::Env env, std::shared_ptr<DeviceImpl> dev)
      : Napi::AsyncWorker(env), deferred(Napi::Promise::Deferred::New(env)), dev(std::move(dev)) {}
  Napi::Promise::Deferred deferred;
  void Execute() override;
  void OnError(const Napi::Error& e) override;

 protected:
  virtual void work() = 0;
  std::shared_ptr<DeviceImpl> dev;
  std::string code;
};

class CompileWorker : public DeviceWorker {
 public:
  CompileWorker(Napi::Env env, std::shared_ptr<DeviceImpl> dev, std::string src, CompileOptions opts)
      : DeviceWorker(env, std::move(dev)), src(std::move(src)), opts(std::move(opts)) {}
  void OnOK() override;

 private:
  void work() override { lib = dev->compile(src, opts); }
  std::string src;
  CompileOptions opts;
  std::shared_ptr<LibraryImpl> lib;
};

class RunWorker : public DeviceWorker {
 public:
  RunWorker(Napi::Env env, std::shared_ptr<DeviceImpl> dev, std::vector<Dispatch> ds)
      : DeviceWorker(env, std::move(dev)), ds(std::move(ds)) {}
  void OnOK() override;

 private:
  void work() override { res = dev->run(ds); }
  std::vector<Dispatch> ds;
  RunResult res;
};

}  // namespace addon
}  // namespace pmetal
