// pmetal MSL host runtime: what compiling needs, found once per process — the native/ tree
// next to the addon (the stand-in headers, the runtime and ASan helper sources), clang++,
// the disk cache directory, a hash of every source that goes into a kernel object — and
// the compiler flags.
#pragma once
#include <string>
#include <vector>

namespace pmetal {
namespace host {

struct Toolchain {
  std::string nativeDir;   // native/
  std::string includeDir;  // native/host/include: the stand-in <metal_stdlib>
  std::string stubDir;     // native/host/stub: empty headers for the preprocessing pass
  std::string runtimeDir;  // native/host/runtime: the fiber runtime, linked into every kernel object
  std::string asanDir;     // native/host/asan: the ASan helper's sources
  std::string compiler, compilerVersion;
  std::string headerHash;  // of every file above: part of every cache key
  std::string cacheDir;
  std::string error;       // non-empty: the host runtime cannot compile here, and why
};

const Toolchain& toolchain();

// A fresh private directory under the cache's tmp/ (throws Error("UNSUPPORTED") on failure).
std::string makeTempDir();

// Flags of the runtime objects; kernel objects use the same, in C++20 when they use MPP
// (matmul2d takes its descriptor as a class-type template argument).
const std::vector<std::string>& baseFlags();
std::vector<std::string> kernelFlags(bool mpp);
std::vector<std::string> asanFlags();

}  // namespace host
}  // namespace pmetal
