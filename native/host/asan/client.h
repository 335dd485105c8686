// pmetal MSL host runtime: running a dispatch of an ASan-compiled library in the helper
// process (asan/runner.cpp), so an out-of-bounds access — or any crash — cannot take Node
// down. The bound buffers go over in a request file and come back in a response file.
#pragma once
#include "addon/backend.h"
#include "host/device/library.h"

namespace pmetal {
namespace host {

void runUnderAsan(const pm_launch& L, const HostPipeline& p, const Dispatch& d);

}  // namespace host
}  // namespace pmetal
