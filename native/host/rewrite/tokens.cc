// pmetal MSL host runtime, rewrite step: token-level edits — address spaces, threadgroup
// locals into the arena, half literals, vector constructors, function-constant uses.
#include "host/rewrite/rewriter.h"

#include <set>

namespace pmetal {
namespace host {
namespace rw {

static const std::set<std::string>& vecTypeNames() {
  static std::set<std::string> v;
  if (v.empty()) {
    const char* base[] = {"char", "uchar", "short", "ushort", "int", "uint", "long", "ulong", "half", "float", "bfloat", "bool"};
    for (auto b : base)
      for (int n = 2; n <= 4; n++) v.insert(std::string(b) + std::to_string(n));
  }
  return v;
}

// ---- token-level rewrites
void Rewriter::tokens() {
  const auto& vt = vecTypeNames();
  for (size_t i = 0; i < t.size(); i++) {
    if (skip.count(i)) continue;
    const Tok& k = t[i];
    if (k.kind == T_NUMBER) {
      std::string n = txt(i);
      char last = n.back();
      if ((last == 'h' || last == 'H') && !(n.size() > 1 && n[0] == '0' && (n[1] == 'x' || n[1] == 'X'))) {
        std::string v = n.substr(0, n.size() - 1);
        edits.push_back({k.start, k.end, "((half)" + v + ")", false});
      }
      continue;
    }
    if (k.kind != T_IDENT) continue;
    std::string w = txt(i);
    bool member = i > 0 && (is(i - 1, ".") || is(i - 1, "->"));
    if (member) continue;
    if (w == "device" || w == "thread" || w == "kernel") {
      if (i > 0 && is(i - 1, "::")) continue;
      edits.push_back({k.start, k.end, "", false});
      continue;
    }
    if (w == "constant") {
      edits.push_back({k.start, k.end, "const", false});
      continue;
    }
    if (w == "threadgroup") {
      if (is(i + 1, "(")) continue;  // [[threadgroup(n)]]
      if (depthKind[i] && i > 0 && (is(i - 1, "{") || is(i - 1, "}") || is(i - 1, ";") || is(i - 1, ":"))) {
        if (threadgroupLocal(i)) continue;
      }
      edits.push_back({k.start, k.end, "", false});
      continue;
    }
    if (w == "__pmetal_uses_mpp") {
      res.usesMpp = true;
      continue;
    }
    if (w == "is_function_constant_defined" && is(i + 1, "(") && is(i + 3, ")")) {
      edits.push_back({k.start, t[i + 3].end, fcDefined(txt(i + 2)), false});
      i += 3;
      continue;
    }
    if (fcRepl.count(w) && !(i > 0 && is(i - 1, "::"))) {
      edits.push_back({k.start, k.end, fcRepl[w], false});
      continue;
    }
    if (vt.count(w) && is(i + 1, "(")) {
      if (i > 0 && is(i - 1, "operator")) continue;
      size_t st = k.start;
      if (i >= 2 && is(i - 1, "::") && is(i - 2, "metal")) st = t[i - 2].start;
      else if (i >= 1 && is(i - 1, "::")) st = t[i - 1].start;
      edits.push_back({st, k.end, "::metal::__pm_make<::" + w + ">", false});
      continue;
    }
    if (w == "vec" && is(i + 1, "<")) {
      int d = 0;
      size_t q = i + 1;
      for (; q < t.size(); q++) {
        if (is(q, "<")) d++;
        if (is(q, ">") && --d == 0) break;
      }
      if (is(q + 1, "(")) {
        size_t st = k.start;
        if (i >= 2 && is(i - 1, "::") && is(i - 2, "metal")) st = t[i - 2].start;
        edits.push_back({st, t[q].end, "::metal::__pm_make<::metal::vec" + src.substr(t[i + 1].start, t[q].end - t[i + 1].start) + ">", false});
        i = q;
      }
      continue;
    }
  }
}

// `threadgroup T a[N], b;` inside a function body -> references into the threadgroup arena
bool Rewriter::threadgroupLocal(size_t i) {
  size_t semi = i + 1;
  int d = 0;
  for (; semi < t.size(); semi++) {
    if (is(semi, "(") || is(semi, "[")) d++;
    if (is(semi, ")") || is(semi, "]")) d--;
    if (d == 0 && is(semi, ";")) break;
    if (d == 0 && (is(semi, "*") || is(semi, "&") || is(semi, "=") || is(semi, "(") || is(semi, "{"))) return false;
  }
  if (semi >= t.size()) return false;
  // split declarators
  std::vector<std::pair<size_t, size_t>> decls;
  size_t a = i + 1;
  d = 0;
  for (size_t q = i + 1; q <= semi; q++) {
    if (is(q, "[") || is(q, "(") || is(q, "<")) d++;
    if (is(q, "]") || is(q, ")") || is(q, ">")) d--;
    if (q == semi || (d == 0 && is(q, ","))) {
      decls.push_back({a, q});
      a = q + 1;
    }
  }
  // first declarator: TYPE NAME DIMS
  size_t f0 = decls[0].first, f1 = decls[0].second;
  size_t br = f1;
  for (size_t q = f0; q < f1; q++)
    if (is(q, "[")) {
      br = q;
      break;
    }
  if (br == f0 || t[br - 1].kind != T_IDENT) return false;
  size_t nameTok = br - 1;
  std::string type = rewriteRange(f0, nameTok);
  std::string out;
  for (size_t di = 0; di < decls.size(); di++) {
    size_t n0 = di == 0 ? nameTok : decls[di].first;
    size_t n1 = decls[di].second;
    std::string name = txt(n0);
    std::string dims = rewriteRange(n0 + 1, n1);
    out += "auto& " + name + " = ::pmetal::rt::tg<" + type + " " + dims + ">(" + std::to_string(tgSite++) + ", \"" +
           name + "\", " + std::to_string(t[n0].line) + "); ";
  }
  replace(i, semi + 1, out);
  for (size_t q = i; q <= semi; q++) skip.insert(q);
  return true;
}

// a token range as text with the simple token rewrites applied (types and dimensions)
std::string Rewriter::rewriteRange(size_t a, size_t b) {
  std::string r;
  for (size_t q = a; q < b; q++) {
    std::string w = txt(q);
    if (w == "device" || w == "thread" || w == "threadgroup") continue;
    if (w == "constant") w = "const";
    else if (t[q].kind == T_IDENT && fcRepl.count(w)) w = fcRepl[w];
    if (!r.empty()) r += ' ';
    r += w;
  }
  return r;
}

}  // namespace rw
}  // namespace host
}  // namespace pmetal
