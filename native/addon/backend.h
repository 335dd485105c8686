// pmetal native addon: the platform-neutral device interface behind the JS surface
// (addon/*_wrap.cc). Implemented by the MSL host runtime on Linux (native/host/device/) and
// by Metal.framework on macOS (native/addon/metal/).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "addon/chip.h"

namespace pmetal {

// An error with a stable code: MSL_COMPILE, NO_SUCH_FUNCTION, DIVERGENT_BARRIER,
// SIMD_LANE_MISSING, OUT_OF_BOUNDS (a kernel touched memory outside what it was given),
// BAD_ARGUMENT (a wrong type, a missing or unknown thing), OUT_OF_RANGE (a number outside
// what is allowed: an index, offset, length, size), OUT_OF_MEMORY, UNSUPPORTED.
struct Error : std::runtime_error {
  std::string code;
  Error(std::string c, const std::string& msg) : std::runtime_error(msg), code(std::move(c)) {}
};

struct BufferImpl {
  virtual ~BufferImpl() = default;
  virtual void* contents() = 0;
  virtual size_t length() const = 0;
};

struct FunctionConstantValue {
  int index = 0;
  std::string type;  // bool int uint float half short ushort
  double value = 0;
};

struct PipelineImpl {
  virtual ~PipelineImpl() = default;
  std::string name;
  uint32_t maxTotalThreadsPerThreadgroup = 1024;
  uint32_t threadExecutionWidth = 32;
};

struct LibraryImpl {
  virtual ~LibraryImpl() = default;
  virtual std::shared_ptr<PipelineImpl> pipeline(const std::string& name,
                                                 const std::vector<FunctionConstantValue>& constants) = 0;
  std::vector<std::string> functionNames;
  bool cached = false;  // loaded from the disk cache (host runtime)
  bool asan = false;
};

struct CompileOptions {
  bool asan = false;
  std::map<std::string, std::string> defines;
  std::vector<std::string> includeDirs;
  std::string filename = "source.metal";
};

// [[buffer(index)]] bound to `length` bytes of `buffer` from `offset` — the bytes the kernel
// may touch (the addon checked offset + length against the buffer's size).
struct BufferBinding {
  int index = 0;
  std::shared_ptr<BufferImpl> buffer;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct BytesBinding {
  int index = 0;
  std::vector<uint8_t> data;
};

// Binding indices are 0..kMaxBindings-1 ([[buffer(n)]] of Metal's argument table); setBytes
// data is at most kMaxBytes; threadgroup memory at most kMaxThreadgroupMemory per dispatch
// (Apple GPUs' limits).
constexpr int kMaxBindings = 31;
constexpr uint64_t kMaxBytes = 4096;
constexpr uint64_t kMaxThreadgroupMemory = 32768;

struct Dispatch {
  std::shared_ptr<PipelineImpl> pipeline;
  std::vector<BufferBinding> buffers;
  std::vector<BytesBinding> bytes;
  std::vector<std::pair<int, uint64_t>> threadgroupMemory;
  uint32_t grid[3] = {1, 1, 1};         // threadgroups per grid
  uint32_t threadgroup[3] = {1, 1, 1};  // threads per threadgroup
};

struct RunResult {
  double gpuStartNs = 0;
  double gpuEndNs = 0;
};

struct DeviceImpl {
  virtual ~DeviceImpl() = default;
  ChipInfo info;
  uint64_t maxBufferLength = 0;  // the largest buffer(); the addon refuses larger ones
  // called off the JS thread
  virtual std::shared_ptr<LibraryImpl> compile(const std::string& source, const CompileOptions& opts) = 0;
  virtual std::shared_ptr<BufferImpl> buffer(size_t length) = 0;
  // called off the JS thread
  virtual RunResult run(const std::vector<Dispatch>& dispatches) = 0;
};

struct DeviceOptions {
  std::string chip;  // "M5 Max" etc. (host emulation); ignored on macOS
};

std::shared_ptr<DeviceImpl> openDevice(const DeviceOptions& opts);
const char* platformName();

}  // namespace pmetal
