// pmetal MSL host runtime: runtime objects and the ASan helper (see artifacts.h).
#include "host/compile/artifacts.h"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "addon/backend.h"
#include "host/compile/hash.h"
#include "host/compile/toolchain.h"
#include "host/sys/fs.h"
#include "host/sys/process.h"

namespace pmetal {
namespace host {

static std::mutex g_buildMu;

static std::vector<std::string> runtimeSources(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".cpp") == 0) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// Compiles `src` into `out` unless it is there (the name holds the hash of everything that
// goes into it), through a private directory so a concurrent process never sees half a file.
static void buildOnce(const std::vector<std::string>& argvHead, const std::string& src, const std::string& out,
                      const std::string& what) {
  if (exists(out)) return;
  std::string wd = makeTempDir();
  std::vector<std::string> argv = argvHead;
  argv.insert(argv.end(), {"-c", src, "-o", wd + "/obj.o"});
  ProcResult r = runProcess(argv, wd + "/log", 300);
  if (r.status != 0) {
    rmTree(wd);
    throw Error("UNSUPPORTED", "building " + what + " failed: " + r.out);
  }
  rename((wd + "/obj.o").c_str(), out.c_str());
  rmTree(wd);
}

std::vector<std::string> runtimeObjects(bool asan) {
  const Toolchain& e = toolchain();
  Hasher h;
  h.add(e.compilerVersion);
  h.add(e.headerHash);
  h.add(asan ? "asan" : "plain");
  for (auto& f : baseFlags()) h.add(f);
  std::vector<std::string> head = {e.compiler};
  for (auto& f : baseFlags()) head.push_back(f);
  if (asan)
    for (auto& f : asanFlags()) head.push_back(f);
  head.push_back("-I" + e.includeDir);
  std::vector<std::string> objs;
  std::lock_guard<std::mutex> g(g_buildMu);
  for (auto& name : runtimeSources(e.runtimeDir)) {
    std::string stem = name.substr(0, name.size() - 4);
    std::string out = e.cacheDir + "/rt-" + h.hex() + "-" + stem + (asan ? "-asan" : "") + ".o";
    buildOnce(head, e.runtimeDir + "/" + name, out, "the MSL host runtime (" + name + ")");
    objs.push_back(out);
  }
  if (objs.empty()) throw Error("UNSUPPORTED", "UNSUPPORTED: no runtime sources in " + e.runtimeDir);
  return objs;
}

std::string asanRunner() {
  const Toolchain& e = toolchain();
  Hasher h;
  h.add(e.compilerVersion);
  h.add(e.headerHash);
  std::string out = e.cacheDir + "/asan-runner-" + h.hex();
  std::lock_guard<std::mutex> g(g_buildMu);
  if (exists(out)) return out;
  std::string wd = makeTempDir();
  std::vector<std::string> argv = {e.compiler, "-std=c++17", "-O1", "-w", "-fsanitize=address", "-I" + e.includeDir,
                                   e.asanDir + "/runner.cpp", "-o", wd + "/runner", "-ldl", "-lpthread"};
  ProcResult r = runProcess(argv, wd + "/log", 300);
  if (r.status != 0) {
    rmTree(wd);
    throw Error("UNSUPPORTED", "building the ASan helper failed (is libclang-rt-19-dev installed?): " + r.out);
  }
  rename((wd + "/runner").c_str(), out.c_str());
  rmTree(wd);
  return out;
}

}  // namespace host
}  // namespace pmetal
