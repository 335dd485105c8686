// pmetal MSL host runtime: the addon side of the ASan helper (see client.h, wire.h).
#include "host/asan/client.h"

#include <cstring>

#include "host/asan/wire.h"
#include "host/compile/artifacts.h"
#include "host/compile/toolchain.h"
#include "host/sys/fs.h"
#include "host/sys/process.h"

namespace pmetal {
namespace host {

static std::string request(const pm_launch& L, const HostPipeline& p) {
  wire::Writer w;
  w.u32(PMETAL_ASAN_MAGIC);
  w.str(p.lib->src.soPath);
  w.str(p.kernel->symbol);
  w.str(p.kernel->hostName);
  for (int i = 0; i < 3; i++) w.u32(L.grid[i]);
  for (int i = 0; i < 3; i++) w.u32(L.tptg[i]);
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) w.u64(L.tg_sizes[i]);
  w.u32((uint32_t)L.nfc);
  for (int i = 0; i < L.nfc; i++) w.raw(&L.fcs[i], sizeof(pm_fc_value));
  w.u32((uint32_t)L.nworkers);
  w.u64(L.stack_size);
  uint32_t nb = 0;
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) nb += L.buffers[i] ? 1 : 0;
  w.u32(nb);
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) {
    if (!L.buffers[i]) continue;
    w.u32((uint32_t)i);
    w.u64(L.buffer_sizes[i]);
    w.raw(L.buffers[i], L.buffer_sizes[i]);
  }
  return std::move(w.s);
}

static std::vector<std::string> asanEnvironment() {
  static const std::string symbolizer = [] {
    for (const char* n : {"llvm-symbolizer-19", "llvm-symbolizer", "llvm-symbolizer-18", "llvm-symbolizer-17",
                          "llvm-symbolizer-16", "llvm-symbolizer-14"}) {
      std::string p = findInPath(n);
      if (!p.empty()) return p;
    }
    return std::string();
  }();
  std::vector<std::string> env = {std::string("ASAN_OPTIONS=detect_leaks=0:detect_stack_use_after_return=0:halt_on_error=1:"
                                               "abort_on_error=0:allocator_may_return_null=1:print_summary=1:symbolize=") +
                                  (symbolizer.empty() ? "0" : "1")};
  if (!symbolizer.empty()) env.push_back("ASAN_SYMBOLIZER_PATH=" + symbolizer);
  return env;
}

void runUnderAsan(const pm_launch& L, const HostPipeline& p, const Dispatch& d) {
  std::string runner = asanRunner();
  TempDir wd(makeTempDir());
  writeFile(wd.path + "/req", request(L, p));
  ProcResult r = runProcess({runner, wd.path + "/req", wd.path + "/resp", wd.path + "/err"}, wd.path + "/log", 600,
                            asanEnvironment());
  bool ok = false;
  std::string err = readFile(wd.path + "/err", &ok);
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
  std::string resp = readFile(wd.path + "/resp", &ok);
  if (!ok) throw Error("UNSUPPORTED", "UNSUPPORTED: the ASan helper returned no result:\n" + r.out);
  // copy the buffers back (setBytes data is the dispatch's own copy: nothing to return)
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

}  // namespace host
}  // namespace pmetal
