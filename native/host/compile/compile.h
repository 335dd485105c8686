// pmetal MSL host runtime: MSL source -> a kernel shared object in the disk cache.
// Preprocess with clang against the stubs, rewrite to C++ (rewrite/), compile and link with
// the runtime objects; the object's name is the hash of everything that goes into it, so a
// second compile of the same source is a cache hit ($PMETAL_CACHE=0 turns reuse off).
#pragma once
#include <string>

#include "addon/backend.h"
#include "host/rewrite/rewrite.h"

namespace pmetal {
namespace host {

struct CompiledSource {
  std::string filename;  // the source's name in diagnostics
  std::string soPath;
  RewriteResult rw;      // the kernels and their parameter bindings
  bool cached = false;
};

CompiledSource compileSource(const std::string& source, const CompileOptions& opts, const ChipInfo& chip);

}  // namespace host
}  // namespace pmetal
