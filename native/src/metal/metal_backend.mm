// pmetal native addon, macOS: the backend interface on Metal.framework.
// Written for the Xcode command-line tools (clang, -fobjc-arc); no Mac was available where it
// was written, so it has not been compiled yet — the macOS workflow is its first build.
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>

#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "../backend.h"

namespace pmetal {

const char* platformName() { return "metal"; }

namespace {

std::string ns2s(NSString* s) { return s ? std::string([s UTF8String]) : std::string(); }

// MTLCompileOptions has no include path: inline `#include "x"` from includeDirs, keeping
// file/line information with #line so diagnostics point at the right file.
std::string inlineIncludes(const std::string& src, const std::string& name, const std::vector<std::string>& dirs,
                           std::set<std::string>& once, int depth) {
  if (depth > 32) throw Error("MSL_COMPILE", "MSL_COMPILE: #include nesting too deep in " + name);
  std::istringstream in(src);
  std::ostringstream out;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    lineNo++;
    size_t p = line.find_first_not_of(" \t");
    if (p != std::string::npos && line.compare(p, 8, "#include") == 0) {
      size_t q1 = line.find('"', p), q2 = q1 == std::string::npos ? q1 : line.find('"', q1 + 1);
      if (q1 != std::string::npos && q2 != std::string::npos) {
        std::string inc = line.substr(q1 + 1, q2 - q1 - 1);
        std::string found;
        for (auto& d : dirs) {
          std::ifstream f(d + "/" + inc);
          if (f) {
            found = d + "/" + inc;
            break;
          }
        }
        if (!found.empty()) {
          std::ifstream f(found);
          std::stringstream ss;
          ss << f.rdbuf();
          std::string body = ss.str();
          bool pragmaOnce = body.find("#pragma once") != std::string::npos;
          if (pragmaOnce && once.count(found)) {
            out << "\n";
            continue;
          }
          once.insert(found);
          out << "#line 1 \"" << inc << "\"\n"
              << inlineIncludes(body, inc, dirs, once, depth + 1) << "\n#line " << (lineNo + 1) << " \"" << name << "\"\n";
          continue;
        }
      }
    }
    out << line << "\n";
  }
  return out.str();
}

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

  std::shared_ptr<PipelineImpl> pipeline(const std::string& name, const std::vector<FunctionConstantValue>& constants) override {
    std::string key = name;
    for (auto& c : constants) key += "|" + std::to_string(c.index) + ":" + c.type + ":" + std::to_string(c.value);
    std::lock_guard<std::mutex> g(mu);
    auto it = cache.find(key);
    if (it != cache.end()) return it->second;
    bool exists = false;
    for (auto& f : functionNames) exists = exists || f == name;
    if (!exists) throw Error("NO_SUCH_FUNCTION", "NO_SUCH_FUNCTION: no kernel named '" + name + "' in the library");
    @autoreleasepool {
      MTLFunctionConstantValues* cv = [MTLFunctionConstantValues new];
      for (auto& c : constants) {
        NSUInteger idx = (NSUInteger)c.index;
        if (c.type == "bool") {
          bool v = c.value != 0;
          [cv setConstantValue:&v type:MTLDataTypeBool atIndex:idx];
        } else if (c.type == "int") {
          int32_t v = (int32_t)c.value;
          [cv setConstantValue:&v type:MTLDataTypeInt atIndex:idx];
        } else if (c.type == "uint") {
          uint32_t v = (uint32_t)c.value;
          [cv setConstantValue:&v type:MTLDataTypeUInt atIndex:idx];
        } else if (c.type == "float") {
          float v = (float)c.value;
          [cv setConstantValue:&v type:MTLDataTypeFloat atIndex:idx];
        } else if (c.type == "half") {
          __fp16 v = (__fp16)c.value;
          [cv setConstantValue:&v type:MTLDataTypeHalf atIndex:idx];
        } else if (c.type == "short") {
          int16_t v = (int16_t)c.value;
          [cv setConstantValue:&v type:MTLDataTypeShort atIndex:idx];
        } else if (c.type == "ushort") {
          uint16_t v = (uint16_t)c.value;
          [cv setConstantValue:&v type:MTLDataTypeUShort atIndex:idx];
        } else {
          throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: function constant " + std::to_string(c.index) + ": unknown type '" + c.type + "'");
        }
      }
      NSError* err = nil;
      id<MTLFunction> fn = [lib newFunctionWithName:[NSString stringWithUTF8String:name.c_str()] constantValues:cv error:&err];
      if (!fn) throw Error("MSL_COMPILE", "MSL_COMPILE: specializing '" + name + "': " + ns2s([err localizedDescription]));
      id<MTLComputePipelineState> pso = [dev newComputePipelineStateWithFunction:fn error:&err];
      if (!pso) throw Error("MSL_COMPILE", "MSL_COMPILE: pipeline '" + name + "': " + ns2s([err localizedDescription]));
      auto p = std::make_shared<MetalPipeline>();
      p->pso = pso;
      p->name = name;
      p->maxTotalThreadsPerThreadgroup = (uint32_t)[pso maxTotalThreadsPerThreadgroup];
      p->threadExecutionWidth = (uint32_t)[pso threadExecutionWidth];
      cache[key] = p;
      return p;
    }
  }
};

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
    if (!b->buf) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: cannot allocate a Metal buffer of " + std::to_string(length) + " bytes");
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

}  // namespace

std::shared_ptr<DeviceImpl> openDevice(const DeviceOptions&) {
  id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
  if (!dev) throw Error("UNSUPPORTED", "UNSUPPORTED: no Metal device");
  auto d = std::make_shared<MetalDevice>();
  d->dev = dev;
  d->queue = [dev newCommandQueue];
  d->info.name = ns2s([dev name]);
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
  return d;
}

}  // namespace pmetal
