// pmetal MSL host runtime, rewrite step: applying the edits and emitting the translation
// unit — the stand-in headers, the adapted source, one extern "C" trampoline per kernel and
// the table of kernels (pmetal_kernels) the runtime checks bindings against.
#include "host/rewrite/rewriter.h"

#include <algorithm>
#include <cstdio>

namespace pmetal {
namespace host {
namespace rw {

std::string Rewriter::apply() {
  std::sort(edits.begin(), edits.end(), [](const Edit& a, const Edit& b) {
    if (a.start != b.start) return a.start < b.start;
    return a.end > b.end;
  });
  std::string out;
  out.reserve(src.size() + 4096);
  size_t cur = 0;
  for (auto& e : edits) {
    if (e.start < cur) continue;  // inside an earlier (larger) edit
    out.append(src, cur, e.start - cur);
    out += e.text;
    // keep the line structure of the replaced text
    for (size_t k = e.start; k < e.end; k++)
      if (src[k] == '\n') out += '\n';
    cur = e.end;
  }
  out.append(src, cur, std::string::npos);
  return out;
}

// a C string literal of s (names from the MSL source: escape what a literal cannot hold)
static std::string cString(const std::string& s) {
  std::string r = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') r += '\\', r += (char)c;
    else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      snprintf(b, sizeof b, "\\%03o", c);
      r += b;
    } else r += (char)c;
  }
  return r + "\"";
}

void Rewriter::run() {
  lx.run();
  computeStructure();
  if (!res.error.empty()) return;
  functionConstants();
  if (!res.error.empty()) return;
  kernels();
  if (!res.error.empty()) return;
  tokens();
  std::string body = apply();
  std::string pre = "#include <metal_stdlib>\n";
  if (res.usesMpp) pre += "#include <MetalPerformancePrimitives/MetalPerformancePrimitives.h>\n";
  std::string tramp = "\n#line 1 \"<pmetal-trampolines>\"\n";
  std::string table = "extern \"C\" __attribute__((visibility(\"hidden\"))) const ::pmetal::rt::KernelDesc pmetal_kernels[] = {\n";
  int n = 0;
  for (auto& k : res.kernels) {
    std::string N = std::to_string(n++);
    tramp += "static const ::pmetal::rt::ParamSpec __pm_spec_" + N + "[] = {";
    for (auto& p : k.params) tramp += "{" + std::to_string(p.kind) + ", " + std::to_string(p.index) + "}, ";
    tramp += "{0, 0}};\n";
    tramp += "static const char* const __pm_names_" + N + "[] = {";
    for (auto& p : k.params) tramp += cString(p.name) + ", ";
    tramp += "nullptr};\n";
    tramp += "extern \"C\" __attribute__((visibility(\"default\"))) void " + k.symbol + "() { ::pmetal::rt::invoke(&" +
             k.function + ", __pm_spec_" + N + "); }\n";
    table += "  {&" + k.symbol + ", " + cString(k.hostName) + ", __pm_spec_" + N + ", ::pmetal::rt::param_bytes<decltype(&" +
             k.function + ")>::value, __pm_names_" + N + "},\n";
  }
  table += "  {nullptr, nullptr, nullptr, nullptr, nullptr}};\n";
  res.cpp = pre + body + tramp + table;
}

}  // namespace rw
}  // namespace host
}  // namespace pmetal

namespace pmetal {
namespace host {

RewriteResult rewriteMsl(const std::string& preprocessed) {
  rw::Rewriter r(preprocessed);
  r.run();
  return std::move(r.res);
}

}  // namespace host
}  // namespace pmetal
