// pmetal MSL host runtime (Linux): the device interface of backend.h on the CPU — a device
// emulates a chip by name (family, NAX, thread limits, so routing is testable), compiles
// MSL through compile/, and runs each batch of dispatches in order on the fiber runtime.
#include <unistd.h>

#include <chrono>
#include <mutex>

#include "addon/backend.h"
#include "host/compile/compile.h"
#include "host/device/buffer.h"
#include "host/device/dispatch.h"
#include "host/device/library.h"
#include "host/sys/fs.h"

namespace pmetal {
namespace host {

// The host's physical memory: a larger buffer could never be backed.
static uint64_t hostMemoryBytes() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : (UINT64_C(1) << 32);
}

static double nowNs() {
  return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct HostDevice : DeviceImpl {
  std::mutex runMu;
  std::shared_ptr<LibraryImpl> compile(const std::string& source, const CompileOptions& opts) override {
    return loadLibrary(compileSource(source, opts, info), opts.asan);
  }
  std::shared_ptr<BufferImpl> buffer(size_t length) override { return std::make_shared<HostBuffer>(length); }
  RunResult run(const std::vector<Dispatch>& dispatches) override {
    std::lock_guard<std::mutex> g(runMu);
    RunResult r;
    r.gpuStartNs = nowNs();
    for (auto& d : dispatches) runDispatch(d);
    r.gpuEndNs = nowNs();
    return r;
  }
};

}  // namespace host

const char* platformName() { return "host"; }

std::shared_ptr<DeviceImpl> openDevice(const DeviceOptions& opts) {
  std::string chip = opts.chip;
  if (chip.empty()) chip = host::envOr("PMETAL_METAL_CHIP", "M5");
  auto d = std::make_shared<host::HostDevice>();
  d->info.name = "Apple " + emulatedChipName(chip) + " (host emulation)";
  classifyChipName(d->info.name, d->info);
  d->info.metal4 = d->info.family == "apple10";
  d->info.maxThreadsPerThreadgroup = 1024;
  d->info.threadExecutionWidth = 32;
  d->info.host = true;
  d->maxBufferLength = host::hostMemoryBytes();
  return d;
}

}  // namespace pmetal
