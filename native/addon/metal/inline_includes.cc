// pmetal native addon, macOS: inlining #include "x" (see inline_includes.h).
#include "addon/metal/inline_includes.h"

#include <fstream>
#include <sstream>

#include "addon/backend.h"

namespace pmetal {
namespace metal {

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

}  // namespace metal
}  // namespace pmetal
