// pmetal MSL host runtime: the files the addon (asan/client.cc) and the ASan helper process
// (asan/runner.cpp) exchange. Both sides are built from this tree, on one machine.
//   request:  u32 magic 'PMAS', str shared object, str trampoline symbol, str kernel name,
//             u32 grid[3], u32 tptg[3], u64 tg_sizes[PMETAL_MAX_BINDINGS], u32 nfc,
//             pm_fc_value[nfc], u32 nworkers, u64 stack_size,
//             u32 nbuffers, { u32 index, u64 size, bytes[size] }[nbuffers]
//   response: every bound buffer's bytes after the run, in index order
//   error:    "CODE\nmessage" (written instead of a response when the kernel failed)
#pragma once
#include <stdint.h>
#include <string.h>

#include <string>

#define PMETAL_ASAN_MAGIC 0x504d4153u

namespace pmetal {
namespace wire {

struct Writer {
  std::string s;
  void u32(uint32_t v) { s.append((const char*)&v, 4); }
  void u64(uint64_t v) { s.append((const char*)&v, 8); }
  void raw(const void* p, size_t n) { s.append((const char*)p, n); }
  void str(const std::string& v) {
    u32((uint32_t)v.size());
    s += v;
  }
};

// Reads with bounds checks: past the end, `ok` turns false and values read as zero.
struct Reader {
  const uint8_t* p;
  size_t n, pos = 0;
  bool ok = true;
  bool take(void* out, size_t k) {
    if (!ok || k > n - pos) {
      ok = false;
      memset(out, 0, k);
      return false;
    }
    memcpy(out, p + pos, k);
    pos += k;
    return true;
  }
  uint32_t u32() {
    uint32_t v;
    take(&v, 4);
    return v;
  }
  uint64_t u64() {
    uint64_t v;
    take(&v, 8);
    return v;
  }
  std::string str() {
    uint32_t l = u32();
    if (!ok || l > n - pos) {
      ok = false;
      return "";
    }
    std::string s((const char*)p + pos, l);
    pos += l;
    return s;
  }
  const uint8_t* bytes(uint64_t k) {
    if (!ok || k > n - pos) {
      ok = false;
      return nullptr;
    }
    const uint8_t* r = p + pos;
    pos += k;
    return r;
  }
};

}  // namespace wire
}  // namespace pmetal
