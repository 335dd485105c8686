// pmetal MSL host runtime: compiling a library (see compile.h).
#include "host/compile/compile.h"

#include <cstdio>

#include "host/compile/artifacts.h"
#include "host/compile/hash.h"
#include "host/compile/toolchain.h"
#include "host/include/pmetal_host/abi.h"
#include "host/sys/fs.h"
#include "host/sys/process.h"

namespace pmetal {
namespace host {

static std::string cleanDiagnostics(std::string out, const std::string& wd) {
  replaceAll(out, wd + "/", "");
  if (out.size() > 12000) out = out.substr(0, 12000) + "\n...";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// clang -E against the stubs: resolves the kernel's own includes and the defines, leaves
// the stand-in headers out (the rewrite step adds them back after the MSL is adapted).
static std::string preprocess(const Toolchain& e, const std::string& wd, const std::string& filename,
                              const CompileOptions& opts, const ChipInfo& chip) {
  std::string metalVersion = chip.metal4 ? "400" : "320";
  std::vector<std::string> pp = {e.compiler, "-x", "c++", "-std=c++17", "-E", "-w", "-I" + e.stubDir};
  for (auto& d : opts.includeDirs) pp.push_back("-I" + d);
  pp.push_back("-D__METAL_VERSION__=" + metalVersion);
  pp.push_back("-D__METAL__=1");
  pp.push_back("-D__PMETAL_HOST__=1");
  pp.push_back("-D__HAVE_TENSOR__=1");  // the host runtime implements the MSL 4 tensor subset on every chip
  for (auto& kv : opts.defines) pp.push_back("-D" + kv.first + (kv.second.empty() ? "" : "=" + kv.second));
  pp.insert(pp.end(), {wd + "/" + filename, "-o", wd + "/pre.ii"});
  ProcResult r = runProcess(pp, wd + "/pp.log", 120);
  if (r.status != 0)
    throw Error("MSL_COMPILE", "MSL_COMPILE: " + filename + " failed to preprocess:\n" + cleanDiagnostics(r.out, wd));
  std::string pre = readFile(wd + "/pre.ii");
  replaceAll(pre, wd + "/", "");
  return pre;
}

CompiledSource compileSource(const std::string& source, const CompileOptions& opts, const ChipInfo& chip) {
  const Toolchain& e = toolchain();
  if (!e.error.empty()) throw Error("UNSUPPORTED", "UNSUPPORTED: MSL host runtime: " + e.error);
  CompiledSource out;
  out.filename = opts.filename.empty() ? "source.metal" : opts.filename;
  if (out.filename.find('/') != std::string::npos) out.filename = out.filename.substr(out.filename.rfind('/') + 1);
  const std::string& filename = out.filename;
  TempDir wd(makeTempDir());
  writeFile(wd.path + "/" + filename, source);
  out.rw = rewriteMsl(preprocess(e, wd.path, filename, opts, chip));
  if (!out.rw.error.empty()) throw Error("MSL_COMPILE", "MSL_COMPILE: " + out.rw.error);

  std::vector<std::string> rt = runtimeObjects(opts.asan);
  Hasher h;
  h.add(out.rw.cpp);
  h.add(e.compilerVersion);
  h.add(e.headerHash);
  h.add(opts.asan ? "asan" : "plain");
  h.add(std::to_string(PMETAL_ABI_VERSION));
  for (auto& f : kernelFlags(out.rw.usesMpp)) h.add(f);
  std::string so = e.cacheDir + "/" + h.hex() + (opts.asan ? "-asan" : "") + ".so";
  if (exists(so) && envOr("PMETAL_CACHE", "1") != "0") {
    out.cached = true;
  } else {
    writeFile(wd.path + "/kernel.cpp", out.rw.cpp);
    std::vector<std::string> cc = {e.compiler};
    for (auto& f : kernelFlags(out.rw.usesMpp)) cc.push_back(f);
    if (opts.asan)
      for (auto& f : asanFlags()) cc.push_back(f);
    cc.insert(cc.end(), {"-I" + e.includeDir, "-shared", wd.path + "/kernel.cpp", "-x", "none"});
    cc.insert(cc.end(), rt.begin(), rt.end());
    cc.insert(cc.end(), {"-o", wd.path + "/kernel.so", "-lm", "-lpthread"});
    ProcResult c = runProcess(cc, wd.path + "/cc.log", 300);
    if (c.status != 0)
      throw Error("MSL_COMPILE", "MSL_COMPILE: " + filename + " failed to compile:\n" + cleanDiagnostics(c.out, wd.path));
    rename((wd.path + "/kernel.so").c_str(), so.c_str());
  }
  out.soPath = so;
  return out;
}

}  // namespace host
}  // namespace pmetal
