// pmetal MSL host runtime: a device buffer is plain host memory, 256-byte aligned and
// zero-filled like a fresh MTLBuffer.
#pragma once
#include "addon/backend.h"

namespace pmetal {
namespace host {

struct HostBuffer : BufferImpl {
  void* p = nullptr;
  size_t n = 0;
  explicit HostBuffer(size_t len);
  ~HostBuffer() override;
  void* contents() override { return p; }
  size_t length() const override { return n; }
};

}  // namespace host
}  // namespace pmetal
