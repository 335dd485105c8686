// pmetal native addon: the chip model (see chip.h).
#include "addon/chip.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "addon/backend.h"

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

std::string emulatedChipName(const std::string& chip) {
  std::string c = chip;
  if (c.rfind("Apple ", 0) == 0) c = c.substr(6);
  std::string gen, tier;
  std::string u;
  for (char ch : c) u += (char)toupper((unsigned char)ch);
  size_t i = 0;
  while (i < u.size() && u[i] == ' ') i++;
  if (i + 1 < u.size() && u[i] == 'M' && isdigit((unsigned char)u[i + 1])) {
    gen = u.substr(i, 2);
    std::string rest = u.substr(i + 2);
    rest.erase(std::remove(rest.begin(), rest.end(), ' '), rest.end());
    if (rest.empty()) tier = "";
    else if (rest == "PRO") tier = "Pro";
    else if (rest == "MAX") tier = "Max";
    else if (rest == "ULTRA") tier = "Ultra";
    else gen = "";
  }
  if (gen.empty() || gen[1] < '1' || gen[1] > '5')
    throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: unknown chip '" + chip + "' (expected M1..M5 with optional Pro/Max/Ultra)");
  return gen + (tier.empty() ? "" : " " + tier);
}

}  // namespace pmetal
