// pmetal MSL host runtime: the rewrite step's state (see rewrite.h for what it does). Passes,
// in order: structure.cc (brackets, bodies, namespaces), constants.cc (function constants),
// kernels.cc (kernels and bindings), tokens.cc (token edits), emit.cc (apply + trampolines).
// Every pass records edits on byte ranges of the preprocessed source; emit applies them.
#pragma once
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "host/rewrite/lexer.h"
#include "host/rewrite/rewrite.h"

namespace pmetal {
namespace host {
namespace rw {

struct Edit {
  size_t start, end;
  std::string text;
  bool blank;  // keep newlines of the replaced range
};

struct Rewriter {
  const std::string& src;
  Lexer lx;
  std::vector<Tok>& t;
  std::vector<Edit> edits;
  RewriteResult res;
  std::vector<int> match;                     // matching bracket index for ( [ { (and -1)
  std::vector<int> depthKind;                 // per token: 1 if inside a function/class body (not only namespaces)
  std::map<std::string, std::string> fcRepl;  // identifier -> replacement expression
  std::vector<int> tokNs;                     // per token: its namespace (index into nsNames)
  std::vector<std::string> nsNames;
  std::set<size_t> skip;                      // tokens of declarations already replaced
  std::set<size_t> kernelNameToks;
  int tgSite = 0;

  struct KDef {
    std::string name;
    std::vector<KernelParam> params;
    int maxThreads = 1024;
    bool isTemplate = false;
  };
  std::map<std::string, KDef> defs;

  explicit Rewriter(const std::string& s) : src(s), lx(s), t(lx.toks) {}

  // ---- token helpers
  std::string txt(size_t i) const { return i < t.size() ? src.substr(t[i].start, t[i].end - t[i].start) : std::string(); }
  bool is(size_t i, const char* v) const {
    if (i >= t.size()) return false;
    size_t len = strlen(v);
    return t[i].end - t[i].start == len && src.compare(t[i].start, len, v) == 0;
  }
  std::string where(size_t i) const {
    if (i >= t.size()) return "<eof>";
    return lx.files[t[i].file] + ":" + std::to_string(t[i].line);
  }
  std::string range(size_t a, size_t b) const {  // tokens [a, b) joined by spaces
    std::string r;
    for (size_t i = a; i < b; i++) {
      if (!r.empty()) r += ' ';
      r += txt(i);
    }
    return r;
  }
  void replace(size_t ta, size_t tb, const std::string& text) {  // tokens [ta, tb)
    edits.push_back({t[ta].start, t[tb - 1].end, text, true});
  }

  // ---- passes
  void computeStructure();                                 // structure.cc
  void functionConstants();                                // constants.cc
  std::string exprWithFc(size_t a, size_t b);
  std::string fcDefined(const std::string& name);
  bool parseParams(size_t open, std::vector<KernelParam>& out, const std::string& kname);  // kernels.cc
  static std::string sanitize(const std::string& n);
  void kernels();
  void tokens();                                           // tokens.cc
  bool threadgroupLocal(size_t i);
  std::string rewriteRange(size_t a, size_t b);
  std::string apply();                                     // emit.cc
  void run();
};

}  // namespace rw
}  // namespace host
}  // namespace pmetal
