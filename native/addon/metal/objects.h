// pmetal native addon, macOS: the device interface's objects on Metal.framework (shared by
// device.mm and library.mm; Objective-C++ under ARC, so the id<> members are retained).
// Written for the Xcode command-line tools (clang, -fobjc-arc); no Mac was available where it
// was written — the macOS workflow (.github/workflows/macos.yml) is its build.
#pragma once
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <map>
#include <mutex>
#include <string>

#include "addon/backend.h"

namespace pmetal {
namespace metal {

inline std::string ns2s(NSString* s) { return s ? std::string([s UTF8String]) : std::string(); }

struct MetalBuffer : BufferImpl {
  id<MTLBuffer> buf;
  size_t n = 0;
  void* contents() override { return [buf contents]; }
  size_t length() const override { return n; }
};

struct MetalPipeline : PipelineImpl {
  id<MTLComputePipelineState> pso;
};

struct MetalLibrary : LibraryImpl {
  id<MTLDevice> dev;
  id<MTLLibrary> lib;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<MetalPipeline>> cache;

  std::shared_ptr<PipelineImpl> pipeline(const std::string& name, const std::vector<FunctionConstantValue>& constants) override;
};

}  // namespace metal
}  // namespace pmetal
