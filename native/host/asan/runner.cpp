// pmetal MSL host runtime: the AddressSanitizer helper process.
// The addon runs an ASan-compiled kernel here so that an out-of-bounds access (or any crash)
// cannot take Node down. Each bound buffer gets its own exact-size heap allocation, so a
// write past its end lands in ASan's redzone; the report is mapped back to the binding index.
//   runner <request> <response> <error>      (file formats: wire.h)
#include <dlfcn.h>
#include <sanitizer/asan_interface.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <pmetal_host/abi.h>

#include "wire.h"

static std::string g_errPath, g_kernel;
struct Bound {
  int index;
  uint8_t* p;
  uint64_t n;
};
static std::vector<Bound> g_bound;

static void writeErr(const std::string& code, const std::string& msg) {
  FILE* f = fopen(g_errPath.c_str(), "wb");
  if (!f) return;
  fprintf(f, "%s\n%s", code.c_str(), msg.c_str());
  fclose(f);
}

static void onReport(const char* report) {
  uintptr_t addr = (uintptr_t)__asan_get_report_address();
  int isWrite = __asan_get_report_access_type();
  size_t size = __asan_get_report_access_size();
  const char* desc = __asan_get_report_description();
  std::string which;
  // nearest buffer: inside, or within 4 KiB after its end / before its start
  long best = -1;
  uint64_t bestDist = ~0ull;
  for (size_t i = 0; i < g_bound.size(); i++) {
    uintptr_t a = (uintptr_t)g_bound[i].p, b = a + g_bound[i].n;
    uint64_t dist;
    if (addr >= a && addr < b) dist = 0;
    else if (addr >= b) dist = addr - b + 1;
    else dist = a - addr;
    if (dist < bestDist && dist < 4096) {
      bestDist = dist;
      best = (long)i;
    }
  }
  char b[512];
  if (best >= 0) {
    const Bound& x = g_bound[best];
    long long off = (long long)(addr - (uintptr_t)x.p);
    snprintf(b, sizeof b, "buffer(%d) (%llu bytes): %s of %zu bytes at byte offset %lld", x.index,
             (unsigned long long)x.n, isWrite ? "write" : "read", size, off);
    which = b;
  } else {
    snprintf(b, sizeof b, "%s of %zu bytes at %p (%s; threadgroup memory or a thread-local array)",
             isWrite ? "write" : "read", size, (void*)addr, desc ? desc : "unknown");
    which = b;
  }
  std::string rep = report ? report : "";
  // with a symbolizer, the first frame in the kernel source names the faulting line
  std::string loc;
  size_t m = rep.find(".metal:");
  if (m != std::string::npos) {
    size_t a = rep.rfind(' ', m), b = m + 7;
    while (b < rep.size() && (isdigit((unsigned char)rep[b]) || rep[b] == ':')) b++;
    a = a == std::string::npos ? 0 : a + 1;
    loc = rep.substr(a, b - a);
    while (!loc.empty() && loc.back() == ':') loc.pop_back();
    size_t sl = loc.rfind('/');
    if (sl != std::string::npos) loc = loc.substr(sl + 1);
    if (!loc.empty()) which += " at " + loc;
  }
  if (rep.size() > 6000) rep = rep.substr(0, 6000);
  writeErr("OUT_OF_BOUNDS", "OUT_OF_BOUNDS: kernel '" + g_kernel + "': out-of-bounds " + which +
                                "\n--- AddressSanitizer report ---\n" + rep);
}

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  g_errPath = argv[3];
  FILE* f = fopen(argv[1], "rb");
  if (!f) return 3;
  std::vector<uint8_t> req;
  uint8_t buf[65536];
  size_t r;
  while ((r = fread(buf, 1, sizeof buf, f)) > 0) req.insert(req.end(), buf, buf + r);
  fclose(f);
  pmetal::wire::Reader R{req.data(), req.size()};
  if (R.u32() != PMETAL_ASAN_MAGIC) return 4;
  std::string so = R.str(), sym = R.str();
  g_kernel = R.str();
  static pm_launch L;
  memset(&L, 0, sizeof L);
  L.abi_version = PMETAL_ABI_VERSION;
  L.kernel_name = g_kernel.c_str();
  for (int i = 0; i < 3; i++) L.grid[i] = R.u32();
  for (int i = 0; i < 3; i++) L.tptg[i] = R.u32();
  for (int i = 0; i < PMETAL_MAX_BINDINGS; i++) L.tg_sizes[i] = R.u64();
  uint32_t nfc = R.u32();
  if (!R.ok || nfc > PMETAL_MAX_FC) return 4;
  std::vector<pm_fc_value> fcs(nfc);
  for (uint32_t i = 0; i < nfc && R.ok; i++) R.take(&fcs[i], sizeof(pm_fc_value));
  L.fcs = fcs.data();
  L.nfc = (int32_t)nfc;
  L.nworkers = (int32_t)R.u32();
  L.stack_size = R.u64();
  uint32_t nb = R.u32();
  for (uint32_t i = 0; i < nb && R.ok; i++) {
    int idx = (int)R.u32();
    uint64_t n = R.u64();
    const uint8_t* data = R.bytes(n);
    if (!data || idx < 0 || idx >= PMETAL_MAX_BINDINGS) return 4;
    uint8_t* p = (uint8_t*)malloc(n ? n : 1);
    memcpy(p, data, n);
    g_bound.push_back({idx, p, n});
    L.buffers[idx] = p;
    L.buffer_sizes[idx] = n;
  }
  if (!R.ok) return 4;
  __asan_set_error_report_callback(onReport);
  void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    writeErr("UNSUPPORTED", std::string("UNSUPPORTED: ASan helper cannot load kernels: ") + dlerror());
    return 5;
  }
  auto launch = (pm_launch_fn)dlsym(h, "pmetal_launch");
  L.entry = (void (*)(void))dlsym(h, sym.c_str());
  if (!launch || !L.entry) {
    writeErr("NO_SUCH_FUNCTION", "NO_SUCH_FUNCTION: ASan helper: missing symbol " + sym);
    return 6;
  }
  launch(&L);
  if (L.err) {
    writeErr(L.err_code, L.err_msg);
    return 0;
  }
  FILE* o = fopen(argv[2], "wb");
  if (!o) return 7;
  for (auto& b : g_bound) fwrite(b.p, 1, b.n, o);
  fclose(o);
  return 0;
}
