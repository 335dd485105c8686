// pmetal native addon: reading a dispatch list (see dispatch_args.h). Everything is checked
// here, before any dispatch of the batch runs: the pipeline and buffers are this addon's
// objects, every index is a binding slot, every binding lies inside its buffer, sizes are
// within the GPU's limits, grid and threadgroup are integers and the threadgroup fits the
// pipeline. A kernel's own view of its parameters (a `constant T&` needs sizeof(T) bytes) is
// checked where it is known: by the host runtime before the kernel runs.
#include "addon/dispatch_args.h"

#include <set>

#include "addon/args.h"
#include "addon/buffer_wrap.h"
#include "addon/js_error.h"
#include "addon/library_wrap.h"

namespace pmetal {
namespace addon {

namespace {

struct Reader {
  Napi::Env env;
  std::string at;          // "dispatches[i]"
  std::set<int> bound;     // binding slots taken by buffers and bytes

  Napi::Array array(Napi::Object d, const char* key, bool optional) {
    Napi::Value v = d.Get(key);
    if (optional && v.IsUndefined()) return Napi::Array::New(env, 0);
    if (!v.IsArray()) throwJs(env, "BAD_ARGUMENT", at + "." + key + " must be an array, got " + describe(v));
    return v.As<Napi::Array>();
  }
  Napi::Object entry(Napi::Array a, uint32_t j, const std::string& what) {
    Napi::Value v = a.Get(j);
    if (!v.IsObject()) throwJs(env, "BAD_ARGUMENT", what + " must be an object, got " + describe(v));
    return v.As<Napi::Object>();
  }
  int slot(Napi::Object o, const std::string& what, bool exclusive) {
    int index = (int)readUint(env, o.Get("index"), what + ".index", 0, kMaxBindings - 1);
    if (exclusive && !bound.insert(index).second)
      throwJs(env, "BAD_ARGUMENT", what + ".index: binding slot " + std::to_string(index) + " is bound twice");
    return index;
  }

  void buffers(Napi::Object d, Dispatch& D) {
    Napi::Array a = array(d, "buffers", true);
    for (uint32_t j = 0; j < a.Length(); j++) {
      std::string what = at + ".buffers[" + std::to_string(j) + "]";
      Napi::Object o = entry(a, j, what);
      BufferBinding b;
      b.index = slot(o, what, true);
      b.buffer = BufferWrap::FromValue(env, o.Get("buffer"), what + ".buffer");
      const uint64_t size = b.buffer->length();
      Napi::Value off = o.Get("offset"), len = o.Get("byteLength");
      b.offset = off.IsUndefined() ? 0 : readUint(env, off, what + ".offset", 0, size);
      b.length = len.IsUndefined() ? size - b.offset : readUint(env, len, what + ".byteLength", 0, UINT64_C(1) << 53);
      if (b.length > size - b.offset)
        throwJs(env, "OUT_OF_RANGE", what + " (buffer(" + std::to_string(b.index) + ")): " + std::to_string(b.length) +
                                         " bytes at offset " + std::to_string(b.offset) + " exceed the buffer's " +
                                         std::to_string(size) + " bytes");
      D.buffers.push_back(std::move(b));
    }
  }

  void bytes(Napi::Object d, Dispatch& D) {
    Napi::Array a = array(d, "bytes", true);
    for (uint32_t j = 0; j < a.Length(); j++) {
      std::string what = at + ".bytes[" + std::to_string(j) + "]";
      Napi::Object o = entry(a, j, what);
      BytesBinding b;
      b.index = slot(o, what, true);
      ByteView v = readByteView(env, o.Get("data"), what + ".data");
      if (v.length > kMaxBytes)
        throwJs(env, "OUT_OF_RANGE", what + ".data: " + std::to_string(v.length) + " bytes exceed the " +
                                         std::to_string(kMaxBytes) + "-byte limit of setBytes (bind a buffer instead)");
      b.data.assign(v.data, v.data + v.length);  // copied now: later JS cannot change or detach it
      D.bytes.push_back(std::move(b));
    }
  }

  void threadgroupMemory(Napi::Object d, Dispatch& D) {
    Napi::Array a = array(d, "threadgroupMemory", true);
    std::set<int> seen;
    uint64_t total = 0;
    for (uint32_t j = 0; j < a.Length(); j++) {
      std::string what = at + ".threadgroupMemory[" + std::to_string(j) + "]";
      Napi::Object o = entry(a, j, what);
      int index = slot(o, what, false);
      if (!seen.insert(index).second) throwJs(env, "BAD_ARGUMENT", what + ".index: threadgroup slot " + std::to_string(index) + " is set twice");
      uint64_t n = readUint(env, o.Get("byteLength"), what + ".byteLength", 1, kMaxThreadgroupMemory);
      total += n;
      if (total > kMaxThreadgroupMemory)
        throwJs(env, "OUT_OF_RANGE", what + ": threadgroup memory of " + std::to_string(total) + " bytes exceeds the " +
                                         std::to_string(kMaxThreadgroupMemory) + "-byte limit");
      D.threadgroupMemory.push_back({index, n});
    }
  }

  // [x, y, z] of non-negative integers; missing trailing entries are 1
  void dims(Napi::Object d, const char* key, uint32_t out[3]) {
    Napi::Array a = array(d, key, false);
    std::string what = at + "." + key;
    if (a.Length() < 1 || a.Length() > 3) throwJs(env, "BAD_ARGUMENT", what + " must be [x, y, z]");
    for (uint32_t i = 0; i < 3; i++)
      out[i] = i < a.Length() ? (uint32_t)readUint(env, a.Get(i), what + "[" + std::to_string(i) + "]", 0, UINT32_MAX) : 1;
  }

  Dispatch dispatch(Napi::Value v) {
    if (!v.IsObject()) throwJs(env, "BAD_ARGUMENT", at + " must be an object, got " + describe(v));
    Napi::Object d = v.As<Napi::Object>();
    Dispatch D;
    D.pipeline = PipelineWrap::FromValue(env, d.Get("pipeline"), at + ".pipeline");
    buffers(d, D);
    bytes(d, D);
    threadgroupMemory(d, D);
    dims(d, "grid", D.grid);
    dims(d, "threadgroup", D.threadgroup);
    const uint64_t max = D.pipeline->maxTotalThreadsPerThreadgroup;
    uint64_t threads = 1;
    for (int i = 0; i < 3 && threads <= max; i++) threads *= D.threadgroup[i];  // ≤ max·2^32: no overflow
    if (threads < 1 || threads > max)
      throwJs(env, "OUT_OF_RANGE", at + ".threadgroup: " + std::to_string(D.threadgroup[0]) + "×" + std::to_string(D.threadgroup[1]) +
                                       "×" + std::to_string(D.threadgroup[2]) + " threads; kernel '" + D.pipeline->name +
                                       "' takes 1.." + std::to_string(max));
    // the runtime counts threadgroups in 64 bits; 2^53 of them would never finish anyway
    if ((double)D.grid[0] * D.grid[1] * D.grid[2] > 9007199254740992.0)
      throwJs(env, "OUT_OF_RANGE", at + ".grid: more than 2^53 threadgroups");
    return D;
  }
};

}  // namespace

std::vector<Dispatch> readDispatches(Napi::Env env, Napi::Value list) {
  if (!list.IsArray()) throwJs(env, "BAD_ARGUMENT", "run(dispatches): dispatches must be an array, got " + describe(list));
  Napi::Array arr = list.As<Napi::Array>();
  std::vector<Dispatch> ds;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Reader r{env, "dispatches[" + std::to_string(i) + "]", {}};
    ds.push_back(r.dispatch(arr.Get(i)));
  }
  return ds;
}

}  // namespace addon
}  // namespace pmetal
