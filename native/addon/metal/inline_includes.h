// pmetal native addon, macOS: MTLCompileOptions has no include path, so the kernel's
// `#include "x"` lines are inlined from the include directories before compiling, with #line
// markers so diagnostics still name the right file and line. Plain C++.
#pragma once
#include <set>
#include <string>
#include <vector>

namespace pmetal {
namespace metal {

std::string inlineIncludes(const std::string& src, const std::string& name, const std::vector<std::string>& dirs,
                           std::set<std::string>& once, int depth);

}  // namespace metal
}  // namespace pmetal
