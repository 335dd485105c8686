// pmetal MSL host runtime: what is built once per compiler and source hash into the disk
// cache and reused by every kernel — the fiber runtime's objects and the ASan helper.
#pragma once
#include <string>
#include <vector>

namespace pmetal {
namespace host {

// One object per source under native/host/runtime/, plain or under AddressSanitizer; every
// kernel shared object links them all.
std::vector<std::string> runtimeObjects(bool asan);

// The ASan helper executable (native/host/asan/runner.cpp).
std::string asanRunner();

}  // namespace host
}  // namespace pmetal
