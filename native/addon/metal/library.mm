// pmetal native addon, macOS: pipelines — a kernel of a library specialized by function
// constants, cached per library by name and constant values.
#include "addon/metal/objects.h"

namespace pmetal {
namespace metal {

std::shared_ptr<PipelineImpl> MetalLibrary::pipeline(const std::string& name, const std::vector<FunctionConstantValue>& constants) {
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

}  // namespace metal
}  // namespace pmetal
