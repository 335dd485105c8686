// pmetal MSL host runtime: a device buffer is plain host memory, 256-byte aligned and
// zero-filled like a fresh MTLBuffer (with 256 bytes of slack past its end).
#pragma once
#include "addon/backend.h"

namespace pmetal {
namespace host {

struct HostBuffer : BufferImpl {
  void* p = nullptr;
  size_t n = 0;
  size_t mapped = 0;  // bytes of the mapping (large buffers), 0 for heap memory
  explicit HostBuffer(size_t len);
  ~HostBuffer() override;
  void* contents() override { return p; }
  size_t length() const override { return n; }
};

}  // namespace host
}  // namespace pmetal
