// pmetal native addon: the chip model — family and tier from a device name (PMetal's rule),
// and the chip names the host runtime emulates. src/backend/metal/chip.ts holds the same
// rule for TypeScript; test/metal/chip-rule.test.ts walks names through both.
#pragma once
#include <cstdint>
#include <string>

namespace pmetal {

struct ChipInfo {
  std::string name;
  std::string family;  // apple7 .. apple10, unknown
  std::string tier;    // base, pro, max, ultra
  bool hasNax = false;
  bool metal4 = false;
  uint32_t maxThreadsPerThreadgroup = 1024;
  uint32_t threadExecutionWidth = 32;
  bool host = false;
};

// PMetal's name rule: M5 -> apple10 (NAX), M4/M3/A17 -> apple9, M2/A16/A15 -> apple8,
// M1/A14 -> apple7, else unknown; tier from Ultra/Max/Pro in the name.
void classifyChipName(const std::string& name, ChipInfo& info);

// The canonical name of a chip the host runtime can emulate: "M5 Max", "m5max" and
// "Apple M5 Max" are all "M5 Max". Throws Error("BAD_ARGUMENT") for anything but M1..M5
// with an optional Pro/Max/Ultra.
std::string emulatedChipName(const std::string& chip);

}  // namespace pmetal
