// pmetal MSL host runtime: libraries and pipelines (see library.h).
#include "host/device/library.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdio>

namespace pmetal {
namespace host {

// A function constant's value as the kernel will see it: converted to its type first, so
// 3.7 as an 'int' is 3 and the pipeline cache key is the value the kernel gets.
static pm_fc_value constantValue(const FunctionConstantValue& c) {
  static const char* types[] = {"bool", "int", "uint", "float", "half", "short", "ushort", nullptr};
  bool ok = false;
  for (int i = 0; types[i]; i++) ok = ok || c.type == types[i];
  if (!ok) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: function constant " + std::to_string(c.index) + ": unknown type '" + c.type + "'");
  if (c.index < 0 || c.index > 65535) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: function constant index out of range");
  pm_fc_value v{};
  v.index = c.index;
  v.defined = 1;
  double x = c.value;
  if (c.type == "bool") x = x != 0 ? 1 : 0;
  else if (c.type == "int") x = (double)(int32_t)(int64_t)x;
  else if (c.type == "uint") x = (double)(uint32_t)(int64_t)x;
  else if (c.type == "short") x = (double)(int16_t)(int64_t)x;
  else if (c.type == "ushort") x = (double)(uint16_t)(int64_t)x;
  else if (c.type == "half") x = (double)(float)(_Float16)x;
  else if (c.type == "float") x = (double)(float)x;
  v.i = (int64_t)x;
  v.f = x;
  return v;
}

std::shared_ptr<PipelineImpl> HostLibrary::pipeline(const std::string& name, const std::vector<FunctionConstantValue>& constants) {
  const KernelInfo* k = nullptr;
  for (auto& x : src.rw.kernels)
    if (x.hostName == name) k = &x;
  if (!k) {
    std::string avail;
    for (auto& x : src.rw.kernels) avail += (avail.empty() ? "" : ", ") + x.hostName;
    throw Error("NO_SUCH_FUNCTION", "NO_SUCH_FUNCTION: no kernel named '" + name + "' in " + src.filename +
                                        " (kernels: " + (avail.empty() ? "none" : avail) + ")");
  }
  std::string key = name;
  std::vector<pm_fc_value> fcs;
  for (auto& c : constants) {
    pm_fc_value v = constantValue(c);
    fcs.push_back(v);
    char b[96];
    snprintf(b, sizeof b, "|%d:%s:%.17g", c.index, c.type.c_str(), v.f);
    key += b;
  }
  std::lock_guard<std::mutex> g(mu);
  auto it = pipelines.find(key);
  if (it != pipelines.end()) return it->second;
  auto p = std::make_shared<HostPipeline>();
  p->lib = shared_from_this();
  p->kernel = k;
  p->name = name;
  p->maxTotalThreadsPerThreadgroup = (uint32_t)std::min(k->maxThreads, 1024);
  p->threadExecutionWidth = 32;
  p->fcs = fcs;
  if (handle) {
    p->entry = (void (*)(void))dlsym(handle, k->symbol.c_str());
    if (!p->entry) throw Error("NO_SUCH_FUNCTION", "NO_SUCH_FUNCTION: kernel '" + name + "' has no trampoline in the compiled library");
  }
  pipelines[key] = p;
  return p;
}

std::shared_ptr<HostLibrary> loadLibrary(CompiledSource src, bool asan) {
  auto lib = std::make_shared<HostLibrary>();
  lib->src = std::move(src);
  lib->asan = asan;
  lib->cached = lib->src.cached;
  for (auto& k : lib->src.rw.kernels) lib->functionNames.push_back(k.hostName);
  if (!asan) {
    lib->handle = dlopen(lib->src.soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) throw Error("UNSUPPORTED", std::string("UNSUPPORTED: cannot load compiled kernels: ") + dlerror());
    lib->launch = (pm_launch_fn)dlsym(lib->handle, "pmetal_launch");
    if (!lib->launch) throw Error("UNSUPPORTED", "UNSUPPORTED: compiled kernels lack pmetal_launch");
  }
  return lib;
}

}  // namespace host
}  // namespace pmetal
