// pmetal native addon, macOS: the device interface of backend.h on Metal.framework — the
// system default device, libraries compiled from source, shared-storage buffers, and a
// batch of dispatches encoded into one command buffer with a barrier between dispatches.
#include <cstring>
#include <set>

#include "addon/metal/inline_includes.h"
#include "addon/metal/objects.h"

namespace pmetal {
namespace metal {

struct MetalDevice : DeviceImpl {
  id<MTLDevice> dev;
  id<MTLCommandQueue> queue;
  std::mutex runMu;

  std::shared_ptr<LibraryImpl> compile(const std::string& source, const CompileOptions& opts) override {
    @autoreleasepool {
      std::set<std::string> once;
      std::string src = inlineIncludes(source, opts.filename, opts.includeDirs, once, 0);
      MTLCompileOptions* o = [MTLCompileOptions new];
      NSMutableDictionary* macros = [NSMutableDictionary dictionary];
      for (auto& kv : opts.defines)
        macros[[NSString stringWithUTF8String:kv.first.c_str()]] = [NSString stringWithUTF8String:kv.second.c_str()];
      o.preprocessorMacros = macros;
      NSError* err = nil;
      id<MTLLibrary> lib = [dev newLibraryWithSource:[NSString stringWithUTF8String:src.c_str()] options:o error:&err];
      if (!lib) throw Error("MSL_COMPILE", "MSL_COMPILE: " + opts.filename + " failed to compile:\n" + ns2s([err localizedDescription]));
      auto L = std::make_shared<MetalLibrary>();
      L->dev = dev;
      L->lib = lib;
      L->asan = false;  // AddressSanitizer is a host-runtime feature; use MTL_SHADER_VALIDATION=1 on a Mac
      for (NSString* n in [lib functionNames]) L->functionNames.push_back(ns2s(n));
      return L;
    }
  }

  std::shared_ptr<BufferImpl> buffer(size_t length) override {
    auto b = std::make_shared<MetalBuffer>();
    b->n = length;
    b->buf = [dev newBufferWithLength:(length ? length : 1) options:MTLResourceStorageModeShared];
    if (!b->buf) throw Error("OUT_OF_MEMORY", "OUT_OF_MEMORY: cannot allocate a Metal buffer of " + std::to_string(length) + " bytes");
    memset([b->buf contents], 0, length);
    return b;
  }

  RunResult run(const std::vector<Dispatch>& dispatches) override {
    std::lock_guard<std::mutex> g(runMu);
    @autoreleasepool {
      id<MTLCommandBuffer> cb = [queue commandBuffer];
      id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
      bool first = true;
      for (auto& d : dispatches) {
        auto* p = dynamic_cast<MetalPipeline*>(d.pipeline.get());
        if (!p) {
          [enc endEncoding];
          throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: pipeline from another device");
        }
        uint64_t T = (uint64_t)d.threadgroup[0] * d.threadgroup[1] * d.threadgroup[2];
        if (T == 0 || T > p->maxTotalThreadsPerThreadgroup) {
          [enc endEncoding];
          throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + p->name + "': " + std::to_string(T) +
                                          " threads per threadgroup (limit " + std::to_string(p->maxTotalThreadsPerThreadgroup) + ")");
        }
        if (!first) [enc memoryBarrierWithScope:MTLBarrierScopeBuffers];
        first = false;
        [enc setComputePipelineState:p->pso];
        for (auto& b : d.buffers) {
          auto* mb = dynamic_cast<MetalBuffer*>(b.buffer.get());
          if (!mb) {
            [enc endEncoding];
            throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: buffer from another device");
          }
          // offset + length was checked against the buffer by the addon (dispatch_args.cc)
          [enc setBuffer:mb->buf offset:(NSUInteger)b.offset atIndex:(NSUInteger)b.index];
        }
        for (auto& b : d.bytes) [enc setBytes:b.data.data() length:b.data.size() atIndex:(NSUInteger)b.index];
        for (auto& t : d.threadgroupMemory)
          [enc setThreadgroupMemoryLength:(NSUInteger)((t.second + 15) / 16 * 16) atIndex:(NSUInteger)t.first];
        [enc dispatchThreadgroups:MTLSizeMake(d.grid[0], d.grid[1], d.grid[2])
            threadsPerThreadgroup:MTLSizeMake(d.threadgroup[0], d.threadgroup[1], d.threadgroup[2])];
      }
      [enc endEncoding];
      [cb commit];
      [cb waitUntilCompleted];
      if ([cb status] == MTLCommandBufferStatusError) {
        NSError* e = [cb error];
        std::string code = [e code] == MTLCommandBufferErrorPageFault ? "OUT_OF_BOUNDS" : "UNSUPPORTED";
        throw Error(code, code + ": command buffer failed: " + ns2s([e localizedDescription]));
      }
      RunResult r;
      r.gpuStartNs = [cb GPUStartTime] * 1e9;
      r.gpuEndNs = [cb GPUEndTime] * 1e9;
      return r;
    }
  }
};

}  // namespace metal

const char* platformName() { return "metal"; }

std::shared_ptr<DeviceImpl> openDevice(const DeviceOptions&) {
  id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
  if (!dev) throw Error("UNSUPPORTED", "UNSUPPORTED: no Metal device");
  auto d = std::make_shared<metal::MetalDevice>();
  d->dev = dev;
  d->queue = [dev newCommandQueue];
  d->info.name = metal::ns2s([dev name]);
  classifyChipName(d->info.name, d->info);
  // Metal's own family query where it exists (raw values: SDKs before macOS 26 lack Apple10)
  const int families[] = {1010, 1009, 1008, 1007};
  const char* names[] = {"apple10", "apple9", "apple8", "apple7"};
  for (int i = 0; i < 4; i++) {
    if ([dev supportsFamily:(MTLGPUFamily)families[i]]) {
      d->info.family = names[i];
      break;
    }
  }
  d->info.hasNax = d->info.family == "apple10";
  bool os26 = false;
  if (@available(macOS 26.0, *)) os26 = true;
  d->info.metal4 = os26 && d->info.hasNax;  // the Metal 4 tensor-op tier (MPP matmul2d on NAX)
  d->info.maxThreadsPerThreadgroup = (uint32_t)[dev maxThreadsPerThreadgroup].width;
  d->info.threadExecutionWidth = 32;
  d->info.host = false;
  d->maxBufferLength = (uint64_t)[dev maxBufferLength];
  return d;
}

}  // namespace pmetal
