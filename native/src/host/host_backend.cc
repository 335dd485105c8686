// pmetal MSL host runtime (Linux): compiles genuine MSL with clang against the stand-in
// <metal_stdlib>, caches the shared objects on disk, and runs dispatches through the fiber
// runtime linked into each of them. ASan libraries run in a helper child process.
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "../../host-include/pmetal_host/abi.h"
#include "../backend.h"
#include "rewrite.h"

extern char** environ;

namespace pmetal {
namespace host {

// ------------------------------------------------------------------ small utilities
static std::string readFile(const std::string& p, bool* ok = nullptr) {
  std::ifstream f(p, std::ios::binary);
  if (!f) {
    if (ok) *ok = false;
    return "";
  }
  std::stringstream ss;
  ss << f.rdbuf();
  if (ok) *ok = true;
  return ss.str();
}
static bool writeFile(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  if (!f) return false;
  f.write(data.data(), (std::streamsize)data.size());
  return (bool)f;
}
static bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}
static void mkdirs(const std::string& p) {
  std::string cur;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    cur = p.substr(0, j);
    if (!cur.empty()) mkdir(cur.c_str(), 0755);
    i = j + 1;
  }
}
static void rmTree(const std::string& p) {
  DIR* d = opendir(p.c_str());
  if (d) {
    while (dirent* e = readdir(d)) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      std::string c = p + "/" + e->d_name;
      struct stat st;
      if (lstat(c.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) rmTree(c);
      else unlink(c.c_str());
    }
    closedir(d);
  }
  rmdir(p.c_str());
}
static void replaceAll(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) s.replace(p, from.size(), to);
}
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
static std::string envOr(const char* k, const std::string& d) {
  const char* v = getenv(k);
  return v && *v ? std::string(v) : d;
}

struct ProcResult {
  int status = -1;  // exit code, or 128+signal, or -1 spawn failure, -2 timeout
  std::string out;  // stdout + stderr
};

static ProcResult runProcess(const std::vector<std::string>& argv, const std::string& logPath, double timeoutSec,
                             const std::vector<std::string>& extraEnv = {}) {
  ProcResult r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, logPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> av;
  for (auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; e++) envs.push_back(*e);
  for (auto& e : extraEnv) envs.push_back(e);
  std::vector<char*> ev;
  for (auto& e : envs) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, av[0], &fa, nullptr, av.data(), ev.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    r.status = -1;
    r.out = std::string("cannot start ") + argv[0] + ": " + strerror(rc);
    return r;
  }
  auto t0 = std::chrono::steady_clock::now();
  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (el > timeoutSec) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      r.status = -2;
      r.out = readFile(logPath);
      return r;
    }
    usleep(el < 0.05 ? 500 : 5000);
  }
  if (WIFEXITED(st)) r.status = WEXITSTATUS(st);
  else if (WIFSIGNALED(st)) r.status = 128 + WTERMSIG(st);
  r.out = readFile(logPath);
  return r;
}

// ------------------------------------------------------------------ environment
struct Env {
  std::string nativeDir, includeDir, stubDir, runtimeSrc, runnerSrc;
  std::string compiler, compilerVersion, headerHash;
  std::string cacheDir;
  std::string error;
};

static std::string selfDir() {
  Dl_info info;
  if (dladdr((void*)&selfDir, &info) && info.dli_fname) {
    std::string p = info.dli_fname;
    size_t s = p.rfind('/');
    if (s != std::string::npos) return p.substr(0, s);
  }
  return ".";
}

static std::string findInPath(const std::string& name) {
  if (name.find('/') != std::string::npos) return exists(name) ? name : "";
  std::string path = envOr("PATH", "/usr/bin:/bin");
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find(':', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i) + "/" + name;
    if (access(c.c_str(), X_OK) == 0) return c;
    i = j + 1;
  }
  return "";
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

static Env& env() {
  static Env e;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    std::string sd = selfDir();  // native/build/Release
    candidates.push_back(sd + "/../..");
    candidates.push_back(sd + "/..");
#ifdef PMETAL_NATIVE_DIR
    candidates.push_back(PMETAL_NATIVE_DIR);
#endif
    for (auto& c : candidates) {
      if (exists(c + "/host-include/metal_stdlib")) {
        char buf[PATH_MAX];
        e.nativeDir = realpath(c.c_str(), buf) ? std::string(buf) : c;
        break;
      }
    }
    if (e.nativeDir.empty()) {
      e.error = "cannot find native/host-include next to the addon";
      return;
    }
    e.includeDir = e.nativeDir + "/host-include";
    e.stubDir = e.nativeDir + "/host-stub";
    e.runtimeSrc = e.nativeDir + "/host-runtime/runtime.cpp";
    e.runnerSrc = e.nativeDir + "/host-runtime/asan_runner.cpp";
    std::vector<std::string> names;
    std::string forced = envOr("PMETAL_CLANG", "");
    if (!forced.empty()) names.push_back(forced);
    for (const char* n : {"clang++-19", "clang++-18", "clang++-17", "clang++-16", "clang++"}) names.push_back(n);
    for (auto& n : names) {
      std::string p = findInPath(n);
      if (!p.empty()) {
        e.compiler = p;
        break;
      }
    }
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
    h.add(readFile(e.runtimeSrc));
    h.add(readFile(e.runnerSrc));
    e.headerHash = h.hex();
  });
  return e;
}

static std::string makeTempDir() {
  Env& e = env();
  std::string t = e.cacheDir + "/tmp/w-XXXXXX";
  std::vector<char> b(t.begin(), t.end());
  b.push_back(0);
  if (!mkdtemp(b.data())) throw Error("UNSUPPORTED", std::string("cannot create a temporary directory in ") + e.cacheDir);
  return std::string(b.data());
}

static const std::vector<std::string>& baseFlags() {
  static const std::vector<std::string> f = {"-x", "c++", "-std=c++17", "-fPIC", "-O2", "-w", "-fno-exceptions",
                                             "-Xclang", "-ffloat16-excess-precision=none", "-Xclang", "-fbfloat16-excess-precision=none",
                                             "-fno-strict-aliasing"};
  return f;
}
// MPP's matmul2d takes its descriptor as a class-type template argument: C++20
static std::vector<std::string> kernelFlags(bool mpp) {
  std::vector<std::string> f = baseFlags();
  if (mpp)
    for (auto& x : f)
      if (x == "-std=c++17") x = "-std=c++20";
  return f;
}
static std::vector<std::string> asanFlags() {
  return {"-fsanitize=address", "-fno-omit-frame-pointer", "-g1"};
}

static std::mutex g_buildMu;

// the fiber runtime, compiled once per compiler/flags into the cache
static std::string runtimeObject(bool asan) {
  Env& e = env();
  Hasher h;
  h.add(e.compilerVersion);
  h.add(e.headerHash);
  h.add(asan ? "asan" : "plain");
  for (auto& f : baseFlags()) h.add(f);
  std::string out = e.cacheDir + "/rt-" + h.hex() + (asan ? "-asan" : "") + ".o";
  std::lock_guard<std::mutex> g(g_buildMu);
  if (exists(out)) return out;
  std::string wd = makeTempDir();
  std::vector<std::string> argv = {e.compiler};
  for (auto& f : baseFlags()) argv.push_back(f);
  if (asan)
    for (auto& f : asanFlags()) argv.push_back(f);
  argv.insert(argv.end(), {"-I" + e.includeDir, "-c", e.runtimeSrc, "-o", wd + "/rt.o"});
  ProcResult r = runProcess(argv, wd + "/log", 300);
  if (r.status != 0) {
    rmTree(wd);
    throw Error("UNSUPPORTED", "building the MSL host runtime failed: " + r.out);
  }
  rename((wd + "/rt.o").c_str(), out.c_str());
  rmTree(wd);
  return out;
}

static std::string asanRunner() {
  Env& e = env();
  Hasher h;
  h.add(e.compilerVersion);
  h.add(e.headerHash);
  std::string out = e.cacheDir + "/asan-runner-" + h.hex();
  {
    std::lock_guard<std::mutex> g(g_buildMu);
    if (exists(out)) return out;
  }
  std::lock_guard<std::mutex> g(g_buildMu);
  std::string wd = makeTempDir();
  std::vector<std::string> argv = {e.compiler, "-std=c++17", "-O1", "-w", "-fsanitize=address", "-I" + e.includeDir,
                                   e.runnerSrc, "-o", wd + "/runner", "-ldl", "-lpthread"};
  ProcResult r = runProcess(argv, wd + "/log", 300);
  if (r.status != 0) {
    rmTree(wd);
    throw Error("UNSUPPORTED", "building the ASan helper failed (is libclang-rt-19-dev installed?): " + r.out);
  }
  rename((wd + "/runner").c_str(), out.c_str());
  rmTree(wd);
  return out;
}

// ------------------------------------------------------------------ library / pipeline
struct HostLibrary;

struct HostPipeline : PipelineImpl {
  std::shared_ptr<HostLibrary> lib;
  const KernelInfo* kernel = nullptr;
  void (*entry)(void) = nullptr;
  std::vector<pm_fc_value> fcs;
};

struct HostLibrary : LibraryImpl, std::enable_shared_from_this<HostLibrary> {
  std::string soPath;
  void* handle = nullptr;
  pm_launch_fn launch = nullptr;
  RewriteResult rw;
  std::string filename;
  std::mutex mu;
  std::map<std::string, std::shared_ptr<HostPipeline>> pipelines;

  std::shared_ptr<PipelineImpl> pipeline(const std::string& name, const std::vector<FunctionConstantValue>& constants) override {
    const KernelInfo* k = nullptr;
    for (auto& x : rw.kernels)
      if (x.hostName == name) k = &x;
    if (!k) {
      std::string avail;
      for (auto& x : rw.kernels) avail += (avail.empty() ? "" : ", ") + x.hostName;
      throw Error("NO_SUCH_FUNCTION", "NO_SUCH_FUNCTION: no kernel named '" + name + "' in " + filename +
                                          " (kernels: " + (avail.empty() ? "none" : avail) + ")");
    }
    std::string key = name;
    std::vector<pm_fc_value> fcs;
    for (auto& c : constants) {
      static const char* types[] = {"bool", "int", "uint", "float", "half", "short", "ushort", nullptr};
      bool ok = false;
      for (int i = 0; types[i]; i++) ok = ok || c.type == types[i];
      if (!ok) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: function constant " + std::to_string(c.index) + ": unknown type '" + c.type + "'");
      if (c.index < 0 || c.index > 65535) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: function constant index out of range");
      pm_fc_value v{};
      v.index = c.index;
      v.defined = 1;
      double x = c.value;
      if (c.type == "bool") x = x != 0 ? 1 : 0;
      else if (c.type == "int") x = (double)(int32_t)(int64_t)x;
      else if (c.type == "uint") x = (double)(uint32_t)(int64_t)x;
      else if (c.type == "short") x = (double)(int16_t)(int64_t)x;
      else if (c.type == "ushort") x = (double)(uint16_t)(int64_t)x;
      else if (c.type == "half") x = (double)(float)(_Float16)x;
      else if (c.type == "float") x = (double)(float)x;
      v.i = (int64_t)x;
      v.f = x;
      fcs.push_back(v);
      char b[96];
      snprintf(b, sizeof b, "|%d:%s:%.17g", c.index, c.type.c_str(), x);
      key += b;
    }
    std::lock_guard<std::mutex> g(mu);
    auto it = pipelines.find(key);
    if (it != pipelines.end()) return it->second;
    auto p = std::make_shared<HostPipeline>();
    p->lib = shared_from_this();
    p->kernel = k;
    p->name = name;
    p->maxTotalThreadsPerThreadgroup = (uint32_t)std::min(k->maxThreads, 1024);
    p->threadExecutionWidth = 32;
    p->fcs = fcs;
    if (handle) {
      p->entry = (void (*)(void))dlsym(handle, k->symbol.c_str());
      if (!p->entry) throw Error("NO_SUCH_FUNCTION", "NO_SUCH_FUNCTION: kernel '" + name + "' has no trampoline in the compiled library");
    }
    pipelines[key] = p;
    return p;
  }
};

struct HostBuffer : BufferImpl {
  void* p = nullptr;
  size_t n = 0;
  explicit HostBuffer(size_t len) : n(len) {
    p = aligned_alloc(256, (len + 255) / 256 * 256 + 256);
    if (!p) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: cannot allocate a buffer of " + std::to_string(len) + " bytes");
    memset(p, 0, len);
  }
  ~HostBuffer() override { free(p); }
  void* contents() override { return p; }
  size_t length() const override { return n; }
};

static std::string cleanDiagnostics(std::string out, const std::string& wd) {
  replaceAll(out, wd + "/", "");
  // drop the noise clang adds about the generated translation unit
  if (out.size() > 12000) out = out.substr(0, 12000) + "\n...";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

static std::shared_ptr<LibraryImpl> compileLibrary(const std::string& source, const CompileOptions& opts,
                                                   const ChipInfo& chip) {
  Env& e = env();
  if (!e.error.empty()) throw Error("UNSUPPORTED", "UNSUPPORTED: MSL host runtime: " + e.error);
  std::string filename = opts.filename.empty() ? "source.metal" : opts.filename;
  if (filename.find('/') != std::string::npos) filename = filename.substr(filename.rfind('/') + 1);
  std::string wd = makeTempDir();
  struct Cleanup {
    std::string d;
    ~Cleanup() { rmTree(d); }
  } cleanup{wd};
  writeFile(wd + "/" + filename, source);
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
  auto lib = std::make_shared<HostLibrary>();
  lib->filename = filename;
  lib->rw = rewriteMsl(pre);
  if (!lib->rw.error.empty()) throw Error("MSL_COMPILE", "MSL_COMPILE: " + lib->rw.error);
  lib->asan = opts.asan;
  for (auto& k : lib->rw.kernels) lib->functionNames.push_back(k.hostName);

  std::string rt = runtimeObject(opts.asan);
  Hasher h;
  h.add(lib->rw.cpp);
  h.add(e.compilerVersion);
  h.add(e.headerHash);
  h.add(opts.asan ? "asan" : "plain");
  h.add(std::to_string(PMETAL_ABI_VERSION));
  for (auto& f : kernelFlags(lib->rw.usesMpp)) h.add(f);
  std::string key = h.hex();
  std::string so = e.cacheDir + "/" + key + (opts.asan ? "-asan" : "") + ".so";
  if (exists(so) && envOr("PMETAL_CACHE", "1") != "0") {
    lib->cached = true;
  } else {
    writeFile(wd + "/kernel.cpp", lib->rw.cpp);
    std::vector<std::string> cc = {e.compiler};
    for (auto& f : kernelFlags(lib->rw.usesMpp)) cc.push_back(f);
    if (opts.asan)
      for (auto& f : asanFlags()) cc.push_back(f);
    cc.insert(cc.end(), {"-I" + e.includeDir, "-shared", wd + "/kernel.cpp", "-x", "none", rt, "-o", wd + "/kernel.so",
                         "-lm", "-lpthread"});
    ProcResult c = runProcess(cc, wd + "/cc.log", 300);
    if (c.status != 0) {
      std::string out = cleanDiagnostics(c.out, wd);
      // keep only lines that refer to the MSL sources (file:line:col), plus the summary
      throw Error("MSL_COMPILE", "MSL_COMPILE: " + filename + " failed to compile:\n" + out);
    }
    rename((wd + "/kernel.so").c_str(), so.c_str());
  }
  lib->soPath = so;
  if (!opts.asan) {
    lib->handle = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) throw Error("UNSUPPORTED", std::string("UNSUPPORTED: cannot load compiled kernels: ") + dlerror());
    lib->launch = (pm_launch_fn)dlsym(lib->handle, "pmetal_launch");
    if (!lib->launch) throw Error("UNSUPPORTED", "UNSUPPORTED: compiled kernels lack pmetal_launch");
  }
  return lib;
}

// ------------------------------------------------------------------ running
static int numWorkers() {
  std::string v = envOr("PMETAL_HOST_THREADS", "");
  if (!v.empty()) return std::max(1, atoi(v.c_str()));
  unsigned n = std::thread::hardware_concurrency();
  return n ? (int)n : 1;
}
static uint64_t stackSize(bool asan) {
  std::string v = envOr("PMETAL_FIBER_STACK", "");
  if (!v.empty()) return (uint64_t)atoll(v.c_str());
  return asan ? (1u << 20) : (256u << 10);
}

struct Prepared {
  pm_launch L;
  std::vector<std::vector<uint8_t>> bytesStore;
};

static void prepare(const Dispatch& d, HostPipeline& p, Prepared& P) {
  const KernelInfo& k = *p.kernel;
  pm_launch& L = P.L;
  memset(&L, 0, sizeof L);
  L.abi_version = PMETAL_ABI_VERSION;
  L.kernel_name = k.hostName.c_str();
  L.entry = p.entry;
  uint64_t T = 1;
  for (int i = 0; i < 3; i++) {
    L.grid[i] = d.grid[i];
    L.tptg[i] = d.threadgroup[i];
    T *= d.threadgroup[i];
  }
  if (T == 0 || T > p.maxTotalThreadsPerThreadgroup)
    throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + k.hostName + "': " + std::to_string(T) +
                                    " threads per threadgroup (limit " + std::to_string(p.maxTotalThreadsPerThreadgroup) + ")");
  for (auto& b : d.buffers) {
    if (b.index < 0 || b.index >= PMETAL_MAX_BINDINGS) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: buffer index out of range");
    if (b.offset > b.buffer->length())
      throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + k.hostName + "': buffer(" + std::to_string(b.index) + ") offset past its end");
    L.buffers[b.index] = (uint8_t*)b.buffer->contents() + b.offset;
    L.buffer_sizes[b.index] = b.buffer->length() - b.offset;
  }
  P.bytesStore.reserve(d.bytes.size());
  for (auto& b : d.bytes) {
    if (b.index < 0 || b.index >= PMETAL_MAX_BINDINGS) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: bytes index out of range");
    P.bytesStore.emplace_back(b.data.size() + 64, 0);
    memcpy(P.bytesStore.back().data(), b.data.data(), b.data.size());
    L.buffers[b.index] = P.bytesStore.back().data();
    L.buffer_sizes[b.index] = b.data.size();
  }
  for (auto& t : d.threadgroupMemory) {
    if (t.first < 0 || t.first >= PMETAL_MAX_BINDINGS) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: threadgroup memory index out of range");
    L.tg_sizes[t.first] = t.second;
  }
  for (auto& prm : k.params) {
    if (prm.kind == PK_BUFFER && !L.buffers[prm.index] && !prm.optional)
      throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + k.hostName + "' needs buffer(" + std::to_string(prm.index) +
                                      ") for parameter '" + prm.name + "', which is not bound");
    if (prm.kind == PK_THREADGROUP && !L.tg_sizes[prm.index])
      throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: kernel '" + k.hostName + "' needs threadgroup memory " +
                                      std::to_string(prm.index) + " for parameter '" + prm.name + "'");
  }
  L.fcs = p.fcs.data();
  L.nfc = (int32_t)p.fcs.size();
  L.nworkers = numWorkers();
  L.stack_size = stackSize(p.lib->asan);
}

// the ASan helper's request: see host-runtime/asan_runner.cpp
static void put32(std::string& s, uint32_t v) { s.append((const char*)&v, 4); }
static void put64(std::string& s, uint64_t v) { s.append((const char*)&v, 8); }
static void putStr(std::string& s, const std::string& v) {
  put32(s, (uint32_t)v.size());
  s += v;
}

static void runAsan(const Dispatch& d, HostPipeline& p) {
  Prepared P;
  prepare(d, p, P);
  pm_launch& L = P.L;
  std::string runner = asanRunner();
  std::string wd = makeTempDir();
  struct Cleanup {
    std::string d;
    ~Cleanup() { rmTree(d); }
  } cleanup{wd};
  std::string req;
  put32(req, 0x504d4153);  // 'PMAS'
  putStr(req, p.lib->soPath);
  putStr(req, p.kernel->symbol);
  putStr(req, p.kernel->hostName);
  for (int i = 0; i < 3; i++) put32(req, L.grid[i]);
  for (int i = 0; i < 3; i++) put32(req, L.tptg[i]);
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) put64(req, L.tg_sizes[i]);
  put32(req, (uint32_t)L.nfc);
  for (int i = 0; i < L.nfc; i++) req.append((const char*)&L.fcs[i], sizeof(pm_fc_value));
  put32(req, (uint32_t)L.nworkers);
  put64(req, L.stack_size);
  uint32_t nb = 0;
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) nb += L.buffers[i] ? 1 : 0;
  put32(req, nb);
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) {
    if (!L.buffers[i]) continue;
    put32(req, (uint32_t)i);
    put64(req, L.buffer_sizes[i]);
    req.append((const char*)L.buffers[i], L.buffer_sizes[i]);
  }
  writeFile(wd + "/req", req);
  static const std::string symbolizer = [] {
    for (const char* n : {"llvm-symbolizer-19", "llvm-symbolizer", "llvm-symbolizer-18", "llvm-symbolizer-17",
                          "llvm-symbolizer-16", "llvm-symbolizer-14"}) {
      std::string p = findInPath(n);
      if (!p.empty()) return p;
    }
    return std::string();
  }();
  std::vector<std::string> asanEnv = {std::string("ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=0:halt_on_error=1:"
                                                  "abort_on_error=0:allocator_may_return_null=1:print_summary=1:symbolize=") +
                                      (symbolizer.empty() ? "0" : "1")};
  if (!symbolizer.empty()) asanEnv.push_back("ASAN_SYMBOLIZER_PATH=" + symbolizer);
  ProcResult r = runProcess({runner, wd + "/req", wd + "/resp", wd + "/err"}, wd + "/log", 600, asanEnv);
  bool ok = false;
  std::string err = readFile(wd + "/err", &ok);
  if (ok && !err.empty()) {
    size_t nl = err.find('\n');
    std::string code = err.substr(0, nl);
    std::string msg = nl == std::string::npos ? code : err.substr(nl + 1);
    throw Error(code, msg);
  }
  if (r.status != 0) {
    std::string tail = r.out.size() > 4000 ? r.out.substr(r.out.size() - 4000) : r.out;
    throw Error("OUT_OF_BOUNDS", "OUT_OF_BOUNDS: kernel '" + p.kernel->hostName +
                                     "' crashed under AddressSanitizer (exit " + std::to_string(r.status) + "):\n" + tail);
  }
  std::string resp = readFile(wd + "/resp", &ok);
  if (!ok) throw Error("UNSUPPORTED", "UNSUPPORTED: the ASan helper returned no result:\n" + r.out);
  // response: for each bound buffer in index order: bytes
  size_t pos = 0;
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) {
    if (!L.buffers[i]) continue;
    if (pos + L.buffer_sizes[i] > resp.size()) throw Error("UNSUPPORTED", "UNSUPPORTED: truncated ASan helper result");
    bool isBytes = false;
    for (auto& b : d.bytes) isBytes = isBytes || b.index == i;
    if (!isBytes) memcpy(L.buffers[i], resp.data() + pos, L.buffer_sizes[i]);
    pos += L.buffer_sizes[i];
  }
}

static void runOne(const Dispatch& d) {
  auto* p = dynamic_cast<HostPipeline*>(d.pipeline.get());
  if (!p) throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: pipeline from another device");
  if (p->lib->asan) {
    runAsan(d, *p);
    return;
  }
  Prepared P;
  prepare(d, *p, P);
  p->lib->launch(&P.L);
  if (P.L.err) throw Error(P.L.err_code, P.L.err_msg);
}

static double nowNs() {
  return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct HostDevice : DeviceImpl {
  std::mutex runMu;
  std::shared_ptr<LibraryImpl> compile(const std::string& source, const CompileOptions& opts) override {
    return compileLibrary(source, opts, info);
  }
  std::shared_ptr<BufferImpl> buffer(size_t length) override { return std::make_shared<HostBuffer>(length); }
  RunResult run(const std::vector<Dispatch>& dispatches) override {
    std::lock_guard<std::mutex> g(runMu);
    RunResult r;
    r.gpuStartNs = nowNs();
    for (auto& d : dispatches) runOne(d);
    r.gpuEndNs = nowNs();
    return r;
  }
};

}  // namespace host

const char* platformName() { return "host"; }

std::shared_ptr<DeviceImpl> openDevice(const DeviceOptions& opts) {
  std::string chip = opts.chip;
  if (chip.empty()) chip = host::envOr("PMETAL_METAL_CHIP", "M5");
  // accept "M5 Max", "m5max", "Apple M5 Max"
  std::string c = chip;
  if (c.rfind("Apple ", 0) == 0) c = c.substr(6);
  std::string gen, tier;
  {
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
  }
  if (gen.empty() || gen[1] < '1' || gen[1] > '5')
    throw Error("BAD_ARGUMENT", "BAD_ARGUMENT: unknown chip '" + chip + "' (expected M1..M5 with optional Pro/Max/Ultra)");
  auto d = std::make_shared<host::HostDevice>();
  d->info.name = "Apple " + gen + (tier.empty() ? "" : " " + tier) + " (host emulation)";
  classifyChipName(d->info.name, d->info);
  d->info.metal4 = d->info.family == "apple10";
  d->info.maxThreadsPerThreadgroup = 1024;
  d->info.threadExecutionWidth = 32;
  d->info.host = true;
  return d;
}

}  // namespace pmetal
