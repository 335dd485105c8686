// pmetal MSL host runtime: the source-to-source step between clang's preprocessor and the
// C++ compile (the passes: rewrite/*.cc, their state: rewriter.h). It never edits .metal
// files; it adapts preprocessed MSL to C++17:
//  - address spaces: device/thread/threadgroup dropped, constant -> const
//  - `threadgroup T x[N];` inside a function -> a reference into the per-threadgroup arena
//  - `constant T x [[function_constant(n)]];` -> a value read from the pipeline's constants
//  - `template [[host_name("x")]] kernel ... f<...>(...);` -> removed, x becomes a trampoline
//  - MSL vector constructors float4(a, b) -> ::metal::__pm_make<float4>(a, b); 1.0h literals
//  - one extern "C" trampoline per kernel (host name), binding parameters by their attributes
#pragma once
#include <string>
#include <vector>

namespace pmetal {
namespace host {

enum ParamKind : int {
  PK_BUFFER = 1,
  PK_THREADGROUP,
  PK_TPIG,
  PK_TPITG,
  PK_TGPIG,
  PK_TPTG,
  PK_TGPG,
  PK_TIITG,
  PK_TIISG,
  PK_SGIITG,
  PK_TPSG,
  PK_SGPTG,
  PK_TEW,
  PK_TPG,
};

struct KernelParam {
  int kind = 0;
  int index = 0;
  bool optional = false;  // [[buffer(n), function_constant(c)]]: may be unbound
  std::string name;
  std::string text;
};

struct KernelInfo {
  std::string hostName;   // the name pipelines use
  std::string symbol;     // the trampoline's C symbol
  std::string function;   // C++ function (qualified), with template args for instantiations
  std::string file;
  int line = 0;
  int maxThreads = 1024;  // [[max_total_threads_per_threadgroup(n)]]
  std::vector<KernelParam> params;
};

struct FunctionConstant {
  std::string name;
  std::string type;
  int index = 0;
};

struct RewriteResult {
  std::string cpp;        // the C++ translation unit
  std::vector<KernelInfo> kernels;
  std::vector<FunctionConstant> constants;
  bool usesMpp = false;
  std::string error;      // non-empty: a parse error (file:line: message)
};

RewriteResult rewriteMsl(const std::string& preprocessed);

}  // namespace host
}  // namespace pmetal
