// pmetal MSL host runtime: device buffers (see buffer.h).
#include "host/device/buffer.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace pmetal {
namespace host {

// Large buffers are anonymous mappings: zero pages until written, so a big allocation costs
// memory only as it is used (and a failed one is an error, not an OOM kill while zeroing).
static const size_t kMapFrom = 1 << 20;

HostBuffer::HostBuffer(size_t len) : n(len) {
  if (len >= kMapFrom) {
    mapped = (len + 255) / 256 * 256 + 256;
    p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) p = nullptr;
  } else {
    p = aligned_alloc(256, (len + 255) / 256 * 256 + 256);
    if (p) memset(p, 0, len);
  }
  if (!p) throw Error("OUT_OF_MEMORY", "OUT_OF_MEMORY: cannot allocate a buffer of " + std::to_string(len) + " bytes");
}

HostBuffer::~HostBuffer() {
  if (mapped) munmap(p, mapped);
  else free(p);
}

}  // namespace host
}  // namespace pmetal
