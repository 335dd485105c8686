// pmetal native addon: chip family/tier from the device name (PMetal's rule).
#include <cstring>

#include "backend.h"

namespace pmetal {

static bool has(const std::string& s, const char* w) {
  // whole-word-ish match: "M1" must not match "M10"
  size_t n = strlen(w);
  for (size_t p = s.find(w); p != std::string::npos; p = s.find(w, p + 1)) {
    bool leftOk = p == 0 || !isalnum((unsigned char)s[p - 1]);
    bool rightOk = p + n >= s.size() || !isdigit((unsigned char)s[p + n]);
    if (leftOk && rightOk) return true;
  }
  return false;
}

void classifyChipName(const std::string& name, ChipInfo& info) {
  if (has(name, "M5")) info.family = "apple10";
  else if (has(name, "M4") || has(name, "M3") || has(name, "A17")) info.family = "apple9";
  else if (has(name, "M2") || has(name, "A16") || has(name, "A15")) info.family = "apple8";
  else if (has(name, "M1") || has(name, "A14")) info.family = "apple7";
  else info.family = "unknown";
  if (name.find("Ultra") != std::string::npos) info.tier = "ultra";
  else if (name.find("Max") != std::string::npos) info.tier = "max";
  else if (name.find("Pro") != std::string::npos) info.tier = "pro";
  else info.tier = "base";
  info.hasNax = info.family == "apple10";
}

}  // namespace pmetal
