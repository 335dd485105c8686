// pmetal MSL host runtime: device buffers (see buffer.h).
#include "host/device/buffer.h"

#include <cstdlib>
#include <cstring>

namespace pmetal {
namespace host {

HostBuffer::HostBuffer(size_t len) : n(len) {
  p = aligned_alloc(256, (len + 255) / 256 * 256 + 256);
  if (!p) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: cannot allocate a buffer of " + std::to_string(len) + " bytes");
  memset(p, 0, len);
}

HostBuffer::~HostBuffer() { free(p); }

}  // namespace host
}  // namespace pmetal
