// pmetal MSL host runtime: the 128-bit hash that names disk-cache entries (two FNV-style
// lanes; a cache key, not a security boundary).
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

namespace pmetal {
namespace host {

struct Hasher {
  uint64_t a = 1469598103934665603ull, b = 0x9e3779b97f4a7c15ull;
  void add(const std::string& s) {
    for (unsigned char c : s) {
      a = (a ^ c) * 1099511628211ull;
      b = (b ^ c) * 0x100000001b3ull + 0x7f4a7c15ull;
      b = (b << 7) | (b >> 57);
    }
    add1(0xff);
  }
  void add1(unsigned char c) {
    a = (a ^ c) * 1099511628211ull;
    b = (b ^ c) * 0x100000001b3ull;
  }
  std::string hex() const {
    char buf[40];
    snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
    return buf;
  }
};

}  // namespace host
}  // namespace pmetal
