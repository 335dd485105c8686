// pmetal MSL host runtime: a compiled library loaded into the process (dlopen; an ASan
// library is only run by the helper process, so it stays unloaded here) and its pipelines —
// one per kernel and set of function-constant values.
#pragma once
#include <map>
#include <mutex>

#include "addon/backend.h"
#include "host/compile/compile.h"
#include "host/include/pmetal_host/abi.h"

namespace pmetal {
namespace host {

struct HostLibrary;

struct HostPipeline : PipelineImpl {
  std::shared_ptr<HostLibrary> lib;
  const KernelInfo* kernel = nullptr;
  void (*entry)(void) = nullptr;  // the trampoline (null for ASan libraries)
  std::vector<pm_fc_value> fcs;
};

struct HostLibrary : LibraryImpl, std::enable_shared_from_this<HostLibrary> {
  CompiledSource src;
  // dlopen handle, never closed: a pipeline handed out earlier may be in a running batch,
  // and the object stays in the disk cache anyway
  void* handle = nullptr;
  pm_launch_fn launch = nullptr;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<HostPipeline>> pipelines;

  std::shared_ptr<PipelineImpl> pipeline(const std::string& name, const std::vector<FunctionConstantValue>& constants) override;
};

std::shared_ptr<HostLibrary> loadLibrary(CompiledSource src, bool asan);

}  // namespace host
}  // namespace pmetal
