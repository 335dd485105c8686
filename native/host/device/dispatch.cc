// pmetal MSL host runtime: running a dispatch (see dispatch.h).
#include "host/device/dispatch.h"

#include <algorithm>
#include <cstring>
#include <thread>

#include "host/asan/client.h"
#include "host/sys/fs.h"

namespace pmetal {
namespace host {

static int numWorkers() {
  std::string v = envOr("PMETAL_HOST_THREADS", "");
  if (!v.empty()) return std::max(1, atoi(v.c_str()));
  unsigned n = std::thread::hardware_concurrency();
  return n ? (int)n : 1;
}

static uint64_t stackSize(bool asan) {
  std::string v = envOr("PMETAL_FIBER_STACK", "");
  if (!v.empty()) return (uint64_t)atoll(v.c_str());
  return asan ? (1u << 20) : (256u << 10);
}

void prepare(const Dispatch& d, HostPipeline& p, Prepared& P) {
  const KernelInfo& k = *p.kernel;
  pm_launch& L = P.L;
  memset(&L, 0, sizeof L);
  L.abi_version = PMETAL_ABI_VERSION;
  L.kernel_name = k.hostName.c_str();
  L.entry = p.entry;
  uint64_t T = 1;
  for (int i = 0; i < 3; i++) {
    L.grid[i] = d.grid[i];
    L.tptg[i] = d.threadgroup[i];
    T *= d.threadgroup[i];
  }
  if (T == 0 || T > p.maxTotalThreadsPerThreadgroup)
    throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + k.hostName + "': " + std::to_string(T) +
                                    " threads per threadgroup (limit " + std::to_string(p.maxTotalThreadsPerThreadgroup) + ")");
  for (auto& b : d.buffers) {
    if (b.index < 0 || b.index >= PMETAL_MAX_BINDINGS) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: buffer index out of range");
    // the addon checked this already; a device must not trust its caller with memory
    if (b.offset > b.buffer->length() || b.length > b.buffer->length() - b.offset)
      throw Error("OUT_OF_RANGE", "OUT_OF_RANGE: kernel '" + k.hostName + "': buffer(" + std::to_string(b.index) +
                                      ") binding past the buffer's end");
    L.buffers[b.index] = (uint8_t*)b.buffer->contents() + b.offset;
    L.buffer_sizes[b.index] = b.length;
  }
  P.bytesStore.reserve(d.bytes.size());
  for (auto& b : d.bytes) {
    if (b.index < 0 || b.index >= PMETAL_MAX_BINDINGS) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: bytes index out of range");
    P.bytesStore.emplace_back(b.data.size() + 64, 0);
    memcpy(P.bytesStore.back().data(), b.data.data(), b.data.size());
    L.buffers[b.index] = P.bytesStore.back().data();
    L.buffer_sizes[b.index] = b.data.size();
  }
  for (auto& t : d.threadgroupMemory) {
    if (t.first < 0 || t.first >= PMETAL_MAX_BINDINGS) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: threadgroup memory index out of range");
    L.tg_sizes[t.first] = t.second;
  }
  for (auto& prm : k.params) {
    if (prm.kind == PK_BUFFER && !L.buffers[prm.index] && !prm.optional)
      throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + k.hostName + "' needs buffer(" + std::to_string(prm.index) +
                                      ") for parameter '" + prm.name + "', which is not bound");
    if (prm.kind == PK_THREADGROUP && !L.tg_sizes[prm.index])
      throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + k.hostName + "' needs threadgroup memory " +
                                      std::to_string(prm.index) + " for parameter '" + prm.name + "'");
  }
  L.fcs = p.fcs.data();
  L.nfc = (int32_t)p.fcs.size();
  L.nworkers = numWorkers();
  L.stack_size = stackSize(p.lib->asan);
}

void runDispatch(const Dispatch& d) {
  auto* p = dynamic_cast<HostPipeline*>(d.pipeline.get());
  if (!p) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: pipeline from another device");
  Prepared P;
  prepare(d, *p, P);
  if (p->lib->asan) {
    runUnderAsan(P.L, *p, d);
    return;
  }
  p->lib->launch(&P.L);
  if (P.L.err) throw Error(P.L.err_code, P.L.err_msg);
}

}  // namespace host
}  // namespace pmetal
