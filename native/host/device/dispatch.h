// pmetal MSL host runtime: one dispatch from the device interface to the kernel object's
// pmetal_launch (abi.h): checks the threadgroup size and the bindings against the kernel's
// parameters, fills the launch record and runs it — in process, or in the ASan helper.
#pragma once
#include <vector>

#include "addon/backend.h"
#include "host/device/library.h"

namespace pmetal {
namespace host {

// A launch record and the storage its setBytes bindings point into.
struct Prepared {
  pm_launch L;
  std::vector<std::vector<uint8_t>> bytesStore;
};

void prepare(const Dispatch& d, HostPipeline& p, Prepared& P);
void runDispatch(const Dispatch& d);

}  // namespace host
}  // namespace pmetal
