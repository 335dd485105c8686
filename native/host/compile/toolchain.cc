// pmetal MSL host runtime: finding the toolchain (see toolchain.h).
#include "host/compile/toolchain.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>

#include "addon/backend.h"
#include "host/compile/hash.h"
#include "host/sys/fs.h"
#include "host/sys/process.h"

namespace pmetal {
namespace host {

static std::string selfDir() {
  Dl_info info;
  if (dladdr((void*)&selfDir, &info) && info.dli_fname) {
    std::string p = info.dli_fname;
    size_t s = p.rfind('/');
    if (s != std::string::npos) return p.substr(0, s);
  }
  return ".";
}

static void hashDir(Hasher& h, const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  for (auto& n : names) {
    std::string p = dir + "/" + n;
    struct stat st;
    if (stat(p.c_str(), &st) != 0) continue;
    h.add(n);
    if (S_ISDIR(st.st_mode)) hashDir(h, p);
    else h.add(readFile(p));
  }
}

// native/ is two levels above the addon (native/build/Release) or was compiled in.
static std::string findNativeDir() {
  std::vector<std::string> candidates;
  std::string sd = selfDir();
  candidates.push_back(sd + "/../..");
  candidates.push_back(sd + "/..");
#ifdef PMETAL_NATIVE_DIR
  candidates.push_back(PMETAL_NATIVE_DIR);
#endif
  for (auto& c : candidates) {
    if (exists(c + "/host/include/metal_stdlib")) {
      char buf[PATH_MAX];
      return realpath(c.c_str(), buf) ? std::string(buf) : c;
    }
  }
  return "";
}

static std::string findCompiler() {
  std::vector<std::string> names;
  std::string forced = envOr("PMETAL_CLANG", "");
  if (!forced.empty()) names.push_back(forced);
  for (const char* n : {"clang++-19", "clang++-18", "clang++-17", "clang++-16", "clang++"}) names.push_back(n);
  for (auto& n : names) {
    std::string p = findInPath(n);
    if (!p.empty()) return p;
  }
  return "";
}

static void discover(Toolchain& e) {
  e.nativeDir = findNativeDir();
  if (e.nativeDir.empty()) {
    e.error = "cannot find native/host/include next to the addon";
    return;
  }
  e.includeDir = e.nativeDir + "/host/include";
  e.stubDir = e.nativeDir + "/host/stub";
  e.runtimeDir = e.nativeDir + "/host/runtime";
  e.asanDir = e.nativeDir + "/host/asan";
  e.compiler = findCompiler();
  if (e.compiler.empty()) {
    e.error = "no clang++ found (install clang-19, or set PMETAL_CLANG)";
    return;
  }
  std::string home = envOr("HOME", "/tmp");
  e.cacheDir = envOr("PMETAL_CACHE_DIR", envOr("XDG_CACHE_HOME", home + "/.cache") + "/pmetal/msl");
  mkdirs(e.cacheDir);
  mkdirs(e.cacheDir + "/tmp");
  char tmpl[PATH_MAX];
  snprintf(tmpl, sizeof tmpl, "%s/tmp/ver-XXXXXX", e.cacheDir.c_str());
  int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  ProcResult v = runProcess({e.compiler, "--version"}, tmpl, 30);
  unlink(tmpl);
  if (v.status != 0) {
    e.error = "cannot run " + e.compiler + " --version: " + v.out;
    return;
  }
  e.compilerVersion = v.out.substr(0, v.out.find('\n'));
  Hasher h;
  hashDir(h, e.includeDir);
  hashDir(h, e.stubDir);
  hashDir(h, e.runtimeDir);
  hashDir(h, e.asanDir);
  e.headerHash = h.hex();
}

const Toolchain& toolchain() {
  static Toolchain e;
  static std::once_flag once;
  std::call_once(once, [] { discover(e); });
  return e;
}

std::string makeTempDir() {
  const Toolchain& e = toolchain();
  std::string t = e.cacheDir + "/tmp/w-XXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  if (!mkdtemp(b.data())) throw Error("UNSUPPORTED", std::string("cannot create a temporary directory in ") + e.cacheDir);
  return std::string(b.data());
}

const std::vector<std::string>& baseFlags() {
  static const std::vector<std::string> f = {"-x", "c++", "-std=c++17", "-fPIC", "-O2", "-w", "-fno-exceptions",
                                             "-Xclang", "-ffloat16-excess-precision=none", "-Xclang", "-fbfloat16-excess-precision=none",
                                             "-fno-strict-aliasing"};
  return f;
}

std::vector<std::string> kernelFlags(bool mpp) {
  std::vector<std::string> f = baseFlags();
  if (mpp)
    for (auto& x : f)
      if (x == "-std=c++17") x = "-std=c++20";
  return f;
}

std::vector<std::string> asanFlags() { return {"-fsanitize=address", "-fno-omit-frame-pointer", "-g1"}; }

}  // namespace host
}  // namespace pmetal
